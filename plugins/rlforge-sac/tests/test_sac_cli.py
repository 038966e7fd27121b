"""SAC through the CLI: a short run on Pendulum-v1 and the action-space check."""

import csv
import json
import os
import subprocess
import sys

import yaml

RLFORGE = [sys.executable, "-m", "rlforge.cli"]


def rlforge(args, cwd):
    return subprocess.run(RLFORGE + args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "RLFORGE_LOAD_PLUGINS": "sac"})


def test_short_sac_run_writes_the_run_directory(tmp_path):
    result = rlforge(["train", "--algo", "sac", "--env", "Pendulum-v1", "--steps", "400", "--run-dir", "run",
                      "--set", "random_steps=100", "--set", "learning_starts=100", "--set", "batch_size=32",
                      "--set", "log_every=100", "--set", "eval_every=200", "--set", "eval_episodes=2"], tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["algo"] == "sac" and config["batch_size"] == 32
    assert json.loads((run / "meta.json").read_text())["status"] == "finished"
    tags = {row["tag"] for row in csv.DictReader(open(run / "metrics.csv"))}
    assert {"losses/critic", "losses/actor", "charts/temperature", "eval/return_mean", "charts/episode_return"} <= tags
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_000000000400"


def test_sac_refuses_a_discrete_action_space(tmp_path):
    result = rlforge(["train", "--algo", "sac", "--env", "CartPole-v1"], tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("rlforge: error: sac does not support discrete action spaces "
                             "(CartPole-v1 has Discrete(2)); sac supports: box\n")
    assert not (tmp_path / "runs").exists()


def test_pendulum_preset_is_picked_automatically(tmp_path):
    result = rlforge(["config", "sac", "--env", "Pendulum-v1", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert rows["total_steps"]["value"] == 15000 and rows["total_steps"]["default"] == 1_000_000
