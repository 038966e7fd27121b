"""Learning tests: DDPG and TD3 on Pendulum-v1 (their presets with narrower networks and 500
random steps first) reach a deterministic evaluation return of at least -250 (mean of 10
episodes) at the end of their budgets: DDPG with 64-wide networks in 8,000 env steps, TD3 with
128-wide ones in 10,000 (its delayed actor learns more slowly here, and with 64-wide networks
seed 3 ended at -570 after 12,000 steps).

Checked before committing (2026-12-06, one torch thread, on the shared 2-core machine), final
returns for seeds 1-5:
  ddpg, 64 wide, 8,000 steps:    -207, -178, -159, -152, -155   (23-42 s wall each)
  td3, 128 wide, 10,000 steps:  -193, -171, -156, -146, -146   (60-82 s wall each)
Each test runs seed 1."""

import json
import os
import subprocess
import sys

import pytest

THRESHOLD = -250.0
SEED = 1


def settings(width: int) -> list[str]:
    return ["--set", f"actor_hidden=[{width},{width}]", "--set", f"critic_hidden=[{width},{width}]",
            "--set", "random_steps=500", "--set", "learning_starts=500", "--set", "eval_every=2000",
            "--set", "eval_episodes=10", "--set", "torch_threads=1"]


@pytest.mark.learning
@pytest.mark.parametrize("algo, width, steps", [("ddpg", 64, 8000), ("td3", 128, 10000)])
def test_solves_pendulum(tmp_path, algo, width, steps):
    env = {**os.environ, "RLFORGE_LOAD_PLUGINS": "td3"}
    result = subprocess.run(
        [sys.executable, "-m", "rlforge.cli", "train", "--algo", algo, "--env", "Pendulum-v1", "--seed", str(SEED),
         "--steps", str(steps), "--run-dir", "run", *settings(width)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["step"] == steps
    final = meta["last_eval"]["return_mean"]
    print(f"{algo}: final deterministic eval return {final}")
    assert final >= THRESHOLD
