"""The rlforge conformance kit on `awac` and `iql`, on PointmassEasy-v0 with a small dataset of
random actions made in the test: wholly offline, and offline-to-online (100 offline steps,
then collecting), each with tiny networks to keep it to seconds."""

import numpy as np
import pytest

from rlforge.datasets import Dataset, save_dataset
from rlforge.envs import make_env
from rlforge.plugins import get_host

ENV = "PointmassEasy-v0"
TINY = {"hidden": [16, 16], "actor_hidden": [16, 16], "batch_size": 32, "target_period": 50}


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
    return str(save_dataset(random_action_dataset(ENV, 500, seed=0), tmp_path_factory.mktemp("data") / "easy.npz"))


@pytest.mark.parametrize("algo, extra", [("awac", {}), ("iql", {"value_hidden": [16, 16]})])
def test_conforms_offline(rlforge_check, dataset, algo, extra):
    rlforge_check(algo, envs=[ENV], steps=300, overrides={**TINY, **extra, "dataset": dataset})


@pytest.mark.parametrize("algo, extra", [("awac", {}), ("iql", {"value_hidden": [16, 16]})])
def test_conforms_offline_to_online(rlforge_check, dataset, algo, extra):
    # 100 offline steps, then collecting with the actor's samples (and epsilon), learning from step 150
    rlforge_check(algo, envs=[ENV], steps=300,
                  checks=["trains", "acting", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, **extra, "dataset": dataset, "offline_steps": 100, "learning_starts": 50,
                             "epsilon": 0.1, "buffer_size": 1000})
