"""Learning test: SAC on Pendulum-v1 reaches a deterministic evaluation return of at least -250
(mean of 10 episodes) within 15,000 env steps, for 3 seeds. The seeds run in parallel; each
evaluates every 1,000 steps and ends at the first evaluation that reaches -250
(`stop_at_return`), or trains all 15,000 steps and fails."""

import json
import os
import subprocess
import sys

import pytest

THRESHOLD = -250.0
SEEDS = (1, 2, 3)


@pytest.mark.learning
def test_sac_solves_pendulum_within_15k_steps_for_3_seeds(tmp_path):
    env = {**os.environ, "RLFORGE_LOAD_PLUGINS": "sac"}
    processes = {
        seed: subprocess.Popen(
            [sys.executable, "-m", "rlforge.cli", "train", "--algo", "sac", "--env", "Pendulum-v1", "--seed", str(seed),
             "--steps", "15000", "--run-dir", f"s{seed}", "--set", "eval_episodes=10", "--set", "torch_threads=1",
             "--set", "eval_every=1000", "--set", f"stop_at_return={THRESHOLD}"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for seed in SEEDS
    }
    results = {}
    for seed, process in processes.items():
        _, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, stderr[-2000:]
        meta = json.loads((tmp_path / f"s{seed}" / "meta.json").read_text())
        assert meta["status"] == "finished" and meta["step"] <= 15000
        results[seed] = (meta["step"], meta["last_eval"]["return_mean"])
    print("(step, deterministic eval return) where each seed stopped:", results)
    assert all(value >= THRESHOLD for _, value in results.values()), results
