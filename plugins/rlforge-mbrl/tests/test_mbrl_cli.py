"""`mpc` and `mbpo` through the CLI: the model-fit log, one-line errors for bad settings, presets."""

import csv
import os
import subprocess
import sys

RLFORGE = [sys.executable, "-m", "rlforge.cli"]


def rlforge(args, cwd):
    return subprocess.run(RLFORGE + args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "RLFORGE_LOAD_PLUGINS": "mbrl,sac"})


def test_mpc_run_logs_each_model_fit(tmp_path):
    result = rlforge(["train", "--algo", "mpc", "--env", "Pendulum-v1", "--steps", "300", "--run-dir", "run",
                      "--set", "torch_threads=1", "--set", "random_steps=200", "--set", "collect_steps=50",
                      "--set", "model_train_steps=10", "--set", "num_sequences=20", "--set", "horizon=3",
                      "--set", "model_hidden=[16]", "--set", "eval_episodes=1", "--set", "log_every=100"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(tmp_path / "run" / "model_fit.csv")))
    assert [int(r["env_step"]) for r in rows[::10]] == [200, 250, 300]  # fits after the random phase, then every 50
    assert len(rows) == 30 and all(float(r["train_loss"]) > 0 for r in rows)
    assert all(r["validation_loss"] for r in rows[9::10])  # the held-out loss at the end of each fit
    tags = {r["tag"] for r in csv.DictReader(open(tmp_path / "run" / "metrics.csv"))}
    assert {"losses/model_train", "losses/model_validation", "eval/return_mean"} <= tags


def test_bad_settings_are_one_line_errors(tmp_path):
    result = rlforge(["train", "--algo", "mpc", "--env", "Pendulum-v1", "--set", "planner=cem",
                      "--set", "num_sequences=4", "--set", "cem_elites=5"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("rlforge: error:") and result.stderr.count("\n") == 1
    assert "cem_elites (5) cannot exceed num_sequences (4)" in result.stderr
    result = rlforge(["train", "--algo", "mbpo", "--env", "Pendulum-v1", "--set", "rollout_length=-1"], tmp_path)
    assert result.returncode == 2 and "rollout_length must not be negative" in result.stderr
    result = rlforge(["train", "--algo", "mpc", "--env", "CartPole-v1"], tmp_path)
    assert result.returncode == 2 and "mpc does not support discrete action spaces" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_presets_are_picked_for_the_homework_envs(tmp_path):
    import json

    for algo, env, key, value in (("mpc", "Obstacles-v0", "total_steps", 16000), ("mpc", "HalfCheetah-v4", "horizon", 15),
                                  ("mbpo", "HalfCheetah-v4", "rollout_length", 10)):
        result = rlforge(["config", algo, "--env", env, "--json"], tmp_path)
        assert result.returncode == 0, result.stderr
        values = {row["key"]: row["value"] for row in json.loads(result.stdout)}
        assert values[key] == value, (algo, env, key)
