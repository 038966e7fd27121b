"""The rlforge conformance kit on `cql` and `rnd` on PointmassEasy-v0: registration without
torch, config defaults, a short run through the engine, acting, checkpoint round trip, same
seed same metrics, resume, and the refusal of continuous actions.

cql needs a dataset: the test records 500 transitions of uniform random actions and passes
the file as the `dataset` override. Tiny networks keep each run to seconds."""

import numpy as np
import pytest

from rlforge.datasets import Dataset, save_dataset
from rlforge.envs import make_env
from rlforge.plugins import get_registry

EASY = "PointmassEasy-v0"
TINY = {"hidden": [16, 16], "batch_size": 32}


@pytest.fixture(scope="module")
def random_easy_dataset(tmp_path_factory) -> str:
    env = make_env(EASY, get_registry().envs[EASY])
    rng = np.random.default_rng(0)
    rows = {k: [] for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
    obs, _ = env.reset(seed=0)
    for _ in range(500):
        action = int(rng.integers(5))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for key, value in zip(rows, (obs, action, reward, next_obs, terminated, truncated)):
            rows[key].append(value)
        obs = env.reset()[0] if terminated or truncated else next_obs
    dataset = Dataset(*(np.array(rows[k]) for k in rows), metadata={"env": EASY})
    return str(save_dataset(dataset, tmp_path_factory.mktemp("data") / "easy_random.npz"))


def test_cql_conforms_offline(rlforge_check, random_easy_dataset):
    rlforge_check("cql", envs=[EASY], steps=300, overrides={**TINY, "dataset": random_easy_dataset})


def test_cql_conforms_offline_to_online(rlforge_check, random_easy_dataset):
    # 150 gradient steps on the data, then 150 env steps collected with the agent
    rlforge_check("cql", envs=[EASY], steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "dataset": random_easy_dataset, "offline_steps": 150, "cql_alpha": 0.5,
                             "max_grad_norm": 10.0})


def test_rnd_conforms(rlforge_check):
    rlforge_check("rnd", envs=[EASY], steps=300, overrides={**TINY, "rnd_hidden": [32, 32]})


def test_rnd_with_random_exploration_conforms(rlforge_check):
    rlforge_check("rnd", envs=[EASY], steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "exploration": "random"})
