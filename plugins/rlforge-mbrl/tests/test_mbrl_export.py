"""`rlforge export` of the model-based algorithms: MBPO acts with SAC's policy, which exports; MPC
plans at every step and has no network from observations to actions, which export says in one line."""

import pytest

from rlforge.cli import main
from rlforge.testing.export_parity import check_export_parity, train_small

SHORT = {"max_episode_steps": 20, "model_hidden": [16], "model_train_steps": 5, "model_batch_size": 32}


def test_mbpo_export_matches_the_policy(tmp_path):
    run = train_small("mbpo", "Pendulum-v1", tmp_path, overrides={
        **SHORT, "actor_hidden": [16], "critic_hidden": [16], "ensemble_size": 2, "model_train_every": 50,
        "rollout_batch_size": 8, "rollout_length": 2})
    check_export_parity(run, tmp_path)


def test_mpc_is_refused_in_one_line(tmp_path, capsys):
    run = train_small("mpc", "Pendulum-v1", tmp_path, steps=60, overrides={
        **SHORT, "random_steps": 40, "collect_steps": 20, "num_sequences": 8, "horizon": 2})
    out = tmp_path / "mpc.onnx"
    capsys.readouterr()  # the run's output
    with pytest.raises(SystemExit) as stop:
        main(["export", str(run), "--out", str(out)])
    assert stop.value.code == 2
    assert capsys.readouterr().err == ("rlforge: error: mpc cannot be exported: its policy (MPCPolicy) has no network "
                                       "from observations to actions (no export_module)\n")
    assert not out.exists() and list(tmp_path.glob(".mpc.onnx*")) == []
