"""The restricted unpickler refuses code payloads before running them."""

import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

from cli_helpers import cli_env, run_cli
from rlforge.errors import RLForgeError
from rlforge.safe_pickle import safe_load


class Payload:
    """Unpickling this would create `marker` (os.system is resolved, then called)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_code_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"nonlin_type": "tanh", "GaussianPolicy": Payload(marker)}))
    with pytest.raises(RLForgeError) as info:
        safe_load(path)
    message = str(info.value)
    assert "refusing global" in message and ".system" in message and "\n" not in message
    assert not marker.exists()
    # the same file, unrestricted, really would run it: the test's payload is real
    pickle.loads(path.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("value", [{1, 2}, OrderedDict(a=1), np.array([object()], dtype=object)],
                         ids=["set", "ordered-dict", "object-array"])
def test_anything_but_plain_values_and_arrays_is_refused(tmp_path, value):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({"x": value}))
    with pytest.raises(RLForgeError, match="refusing"):
        safe_load(path)


def test_plain_values_and_arrays_load(tmp_path):
    value = {"a": [1, 2.5, "s", None, True], "arr": np.arange(6, dtype=np.float32).reshape(2, 3),
             "scalar": np.float64(1.5), "tuple": (np.int64(3), np.zeros((0,)))}
    for protocol in (2, 4, 5):
        path = tmp_path / f"ok{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = safe_load(path)
        np.testing.assert_array_equal(loaded["arr"], value["arr"])
        assert loaded["a"] == value["a"] and loaded["scalar"] == 1.5
    path.write_bytes(pickle.dumps({"raw": b"bytes"}, protocol=4))
    assert safe_load(path) == {"raw": b"bytes"}


def test_the_cli_refuses_in_one_line(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Payload(marker)))
    result = run_cli(["expert", "eval", str(path), "--env", "Pendulum-v1"], cwd=tmp_path, env=cli_env())
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("rlforge: error:") and "refusing global" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()
