"""`rlforge export` of SAC and CrossQ: tanh of the mean, rescaled to the bounds (CrossQ's actor with
its batch renormalisation's running statistics). The files, read by onnxruntime and
torch.jit.load, act as the checkpoint's policy."""

import pytest

from rlforge.testing.export_parity import check_export_parity, train_small


@pytest.mark.parametrize("algo", ["sac", "crossq"])
def test_export_matches_the_policy(tmp_path, algo):
    run = train_small(algo, "Pendulum-v1", tmp_path, overrides={"actor_hidden": [32, 32], "critic_hidden": [32, 32]})
    check_export_parity(run, tmp_path)
