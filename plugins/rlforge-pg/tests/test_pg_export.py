"""`rlforge export` of the policy-gradient family (pg, a2c and ppo share one policy): the
Gaussian's mean with running observation normalisation and clipping into the bounds, and the
categorical argmax. The files, read by onnxruntime and torch.jit.load, act as the checkpoint's policy."""

import pytest

from rlforge.testing.export_parity import check_export_parity, train_small


@pytest.mark.parametrize("algo, env", [("ppo", "Pendulum-v1"), ("a2c", "CartPole-v1")])
def test_export_matches_the_policy(tmp_path, algo, env):
    run = train_small(algo, env, tmp_path, overrides={"normalize_obs": True, "n_steps": 64})
    check_export_parity(run, tmp_path)
