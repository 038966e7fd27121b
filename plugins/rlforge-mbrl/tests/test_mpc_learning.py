"""Learning test: MPC with random shooting on Obstacles-v0 reaches the goal, around the
obstacles, in every evaluation episode within a few iterations (1,000 random transitions, then
2 x 500 collected with the planner; a small model and 200 sequences keep it short).
Seeds 1, 2 and 3 all pass with these settings (the test runs seed 1)."""

import csv
import os
import subprocess
import sys

import pytest


@pytest.mark.learning
def test_mpc_random_shooting_reaches_the_obstacles_goal(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rlforge.cli", "train", "--algo", "mpc", "--env", "Obstacles-v0", "--steps", "2000",
         "--run-dir", "run", "--set", "torch_threads=1", "--set", "random_steps=1000", "--set", "collect_steps=500",
         "--set", "num_sequences=200", "--set", "model_hidden=[64,64]", "--set", "model_train_steps=500",
         "--set", "eval_every=0", "--set", "eval_episodes=5"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, "RLFORGE_LOAD_PLUGINS": "mbrl"})
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    final = {r["tag"]: float(r["value"]) for r in rows if r["tag"].startswith("eval/") and r["step"] == "2000"}
    # every episode ended before the 100-step limit, and none with the -100 of a collision:
    # the only other way to end is reaching the goal
    assert final["eval/length_mean"] < 100, final
    assert final["eval/return_min"] > -100, final
    print("final evaluation:", final)
