"""Learning test: DQN on CartPole-v1 (the preset configs/dqn/CartPole-v1.yaml) reaches a
deterministic evaluation return of at least 475 (mean of 10 episodes) within 50,000 env steps,
for 3 seeds. The seeds run in parallel (one torch thread each); each evaluates every 2,500
steps and ends at the first evaluation that reaches 475 (`stop_at_return`), or trains all
50,000 steps and fails."""

import csv
import json
import os
import subprocess
import sys

import pytest

THRESHOLD = 475.0
SEEDS = (1, 2, 3)
STEPS = 50_000


def start(seed, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "rlforge.cli", "train", "--algo", "dqn", "--env", "CartPole-v1", "--seed", str(seed),
         "--steps", str(STEPS), "--run-dir", f"s{seed}", "--set", "eval_episodes=10", "--set", "torch_threads=1",
         "--set", "eval_every=2500", "--set", f"stop_at_return={THRESHOLD}"],
        cwd=cwd, env={**os.environ, "RLFORGE_LOAD_PLUGINS": "dqn"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)


@pytest.mark.learning
def test_dqn_solves_cartpole_within_50k_steps_for_3_seeds(tmp_path):
    processes = {seed: start(seed, tmp_path) for seed in SEEDS}
    finals, curves = {}, {}
    for seed, process in processes.items():
        _, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, stderr[-2000:]
        run = tmp_path / f"s{seed}"
        meta = json.loads((run / "meta.json").read_text())
        assert meta["status"] == "finished" and meta["step"] <= STEPS
        finals[seed] = meta["last_eval"]["return_mean"]
        curves[seed] = [float(r["value"]) for r in csv.DictReader(open(run / "metrics.csv"))
                        if r["tag"] == "eval/return_mean"]
    print("deterministic eval return where each seed stopped:", finals)
    print("evaluation curves:", curves)
    assert all(value >= THRESHOLD for value in finals.values()), (finals, curves)
