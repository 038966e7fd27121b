import json
import pickle

import numpy as np
import pytest
import torch

from rlforge import checkpoint
from rlforge.checkpoint import CheckpointError


def sample_state():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "buffer": {"obs": np.arange(6, dtype=np.float32).reshape(2, 3), "size": 2},
            "rng": {"python": (3, tuple(range(5)), None), "numpy": np.random.default_rng(0).bit_generator.state},
            "keys": {0: "int keys survive", 1: [1.5, None, True]}}


def test_round_trip_keeps_types_values_and_int_keys(tmp_path):
    state = sample_state()
    path = checkpoint.save(tmp_path, "step_1", state, {"algo": "demo"})
    loaded, meta = checkpoint.load(path)
    assert meta["algo"] == "demo"
    for key, value in state["model"].items():
        assert torch.equal(loaded["model"][key], value)
    assert loaded["optimizer"]["state"].keys() == state["optimizer"]["state"].keys()  # int keys
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert loaded["rng"]["python"] == (3, tuple(range(5)), None)
    assert loaded["keys"] == {0: "int keys survive", 1: [1.5, None, True]}
    np.testing.assert_array_equal(loaded["buffer"]["obs"], state["buffer"]["obs"])
    optimizer = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    optimizer.load_state_dict(loaded["optimizer"])  # torch accepts what comes back


def test_checkpoint_files_follow_the_umask_so_a_run_can_be_shared(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        path = checkpoint.save(tmp_path, "step_1", sample_state(), {"algo": "demo"})
    finally:
        os.umask(mask)
    modes = {file.name: file.stat().st_mode & 0o777 for file in path.iterdir()}
    assert modes == {"state.json": 0o644, "tensors.safetensors": 0o644, "arrays.npz": 0o644}


def test_latest_points_at_the_newest_and_prune_keeps_k(tmp_path):
    for step in (1, 2, 3, 4):
        checkpoint.save(tmp_path, f"step_{step:03d}", {"x": step}, {})
    checkpoint.prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["step_003", "step_004"]
    assert checkpoint.resolve(tmp_path).name == "step_004"


def test_a_leftover_temporary_folder_is_never_latest(tmp_path):
    checkpoint.save(tmp_path, "step_001", {"x": 1}, {})
    (tmp_path / ".tmp-step_002-123").mkdir()  # a write killed midway
    assert checkpoint.resolve(tmp_path).name == "step_001"
    checkpoint.prune(tmp_path, keep=3)
    assert not (tmp_path / ".tmp-step_002-123").exists()


def test_pickle_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = checkpoint.save(tmp_path, "step_1", {"a": np.zeros(2)}, {})
    with open(path / checkpoint.ARRAYS_FILE, "wb") as handle:  # an object array = a pickle inside the npz
        np.savez(handle, **{"state.a": np.array([Exploit()], dtype=object)})
    with pytest.raises(CheckpointError, match="pickled data"):
        checkpoint.load(path)
    (path / checkpoint.TENSORS_FILE).write_bytes(pickle.dumps(Exploit()))  # a torch.save-style pickle
    with pytest.raises(CheckpointError, match="corrupt"):
        checkpoint.load(path)
    assert not marker.exists()


def test_corrupt_and_foreign_files_give_one_line_errors(tmp_path):
    path = checkpoint.save(tmp_path, "step_1", {"a": torch.zeros(2)}, {})
    (path / checkpoint.STATE_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="state.json is not valid JSON"):
        checkpoint.load(path)
    (path / checkpoint.STATE_FILE).write_text(json.dumps({"format": 99}))
    with pytest.raises(CheckpointError, match="not an rlforge checkpoint"):
        checkpoint.load(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.resolve(tmp_path / "nope")
