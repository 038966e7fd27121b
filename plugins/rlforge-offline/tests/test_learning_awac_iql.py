"""Learning tests: awac and iql, trained wholly offline on 20,000 transitions of uniformly random
actions in PointmassEasy-v0 (10 of its 400 episodes reach the goal; their mean return is about
-49.7), reach a deterministic evaluation return of at least -30 (mean of 10 episodes; the
shortest paths score about -14).

The settings are faster than the course's (which trains 200,000 steps): target copies every
50 steps, Adam 1e-3 everywhere, a 2x64 actor, and a low temperature (0.1, weights clipped at
100) so that the actor's most likely action follows the advantage within a few thousand steps.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rlforge.datasets import Dataset, save_dataset
from rlforge.envs import make_env
from rlforge.plugins import get_host

ENV = "PointmassEasy-v0"
THRESHOLD = -30.0
FAST = {"target_period": 50, "lr": 1e-3, "actor_lr": 1e-3, "actor_hidden": [64, 64], "temperature": 0.1,
        "max_weight": 100.0}
RUNS = {"awac": (4000, {}), "iql": (5000, {"value_lr": 1e-3})}  # gradient steps, extra settings


def random_action_dataset(env_id: str, steps: int, seed: int) -> Dataset:
    """`steps` transitions of uniformly random actions in `env_id`, episode after episode."""
    env = make_env(env_id, get_host().registry.envs[env_id])
    rng = np.random.default_rng(seed)
    rows = {name: [] for name in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = int(rng.integers(env.action_space.n))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for name, value in zip(rows, (obs, action, reward, next_obs, terminated, truncated)):
            rows[name].append(value)
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    return Dataset(obs=np.array(rows["obs"], np.float32), actions=np.array(rows["actions"], np.int64),
                   rewards=np.array(rows["rewards"], np.float32), next_obs=np.array(rows["next_obs"], np.float32),
                   terminated=np.array(rows["terminated"]), truncated=np.array(rows["truncated"]))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    data = random_action_dataset(ENV, 20_000, seed=0)
    assert data.terminated.sum() >= 5  # a few goal reaches to learn from
    return str(save_dataset(data, tmp_path_factory.mktemp("data") / "easy_random.npz"))


@pytest.mark.learning
@pytest.mark.parametrize("algo", sorted(RUNS))
def test_learns_pointmass_easy_offline_from_random_actions(tmp_path, dataset, algo):
    steps, extra = RUNS[algo]
    settings = [f"{key}={json.dumps(value)}" for key, value in {**FAST, **extra}.items()]
    command = [sys.executable, "-m", "rlforge.cli", "train", "--algo", algo, "--env", ENV, "--seed", "1",
               "--steps", str(steps), "--run-dir", "run", "--device", "cpu", "--set", f"dataset={dataset}",
               "--set", "eval_every=1000", "--set", "eval_episodes=10", "--set", "torch_threads=1"]
    for setting in settings:
        command += ["--set", setting]
    process = subprocess.run(command, cwd=tmp_path, env={**os.environ, "RLFORGE_LOAD_PLUGINS": "offline"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-2000:]
    run = tmp_path / "run"
    meta = json.loads((run / "meta.json").read_text())
    assert meta["step"] == steps
    curve = [float(r["value"]) for r in csv.DictReader(open(run / "metrics.csv")) if r["tag"] == "eval/return_mean"]
    final = meta["last_eval"]["return_mean"]
    print(f"{algo}: evaluation returns every 1,000 steps {curve}")
    assert final >= THRESHOLD, (final, curve)
