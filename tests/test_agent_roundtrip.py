"""Every registered algorithm's agent survives a checkpoint round trip through the core:
parameters equal, deterministic actions equal, and training continues."""

import numpy as np
import pytest
import torch

from rlforge import checkpoint
from rlforge.agent import Progress
from rlforge.config import resolve
from rlforge.envs import EnvAdapter
from rlforge.plugins import get_registry
from rlforge.testing.state import diff_states

SMALL_ENV = {"box": "Pendulum-v1", "discrete": "CartPole-v1"}
DATASET_ENV = "HalfCheetah-v4"  # imitation algorithms use its shipped expert and dataset
# keys that make any bundled algorithm small and quick, applied where the config has them
SMALL = {"batch_size": 16, "learning_starts": 32, "random_steps": 0, "actor_hidden": [16], "critic_hidden": [16],
         "dataset": DATASET_ENV, "expert": DATASET_ENV, "collect_steps": 16, "train_steps": 10, "train_batch_size": 16,
         "bc_steps": 10, "critic_fit_steps": 10}


# offline algorithms learn from random transitions there (imitation ones from DATASET_ENV's shipped data)
RANDOM_DATASET_ENV = {"discrete": "PointmassEasy-v0", "box": "Pendulum-v1"}


def random_dataset(env_id: str, folder) -> str:
    """An npz of 600 random-action transitions on `env_id` (Pendulum-v1: 3 whole episodes, as
    IQL's return-range reward scaling needs finished episodes)."""
    from rlforge.datasets import Dataset, save_dataset

    env = EnvAdapter(env_id, 1, seed=0, plugin_spec=get_registry().envs.get(env_id))
    rows = {k: [] for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
    obs = env.reset(seed=0)
    for _ in range(600):
        actions = env.random_actions()
        step = env.step(actions)
        for key, value in zip(rows, (obs, actions, step.rewards, step.final_obs, step.terminated, step.truncated)):
            rows[key].append(np.asarray(value)[0])
        obs = step.obs
    env.close()
    return str(save_dataset(Dataset(**{k: np.stack(v) for k, v in rows.items()}), folder / "random.npz"))


def pairs() -> list[tuple[str, str]]:
    """Every registered (algorithm, kind of actions) it declares."""
    return [(name, kind) for name, spec in sorted(get_registry().algorithms.items()) for kind in spec.action_spaces]


def build(spec, env_id, dataset=None, kind=None):
    cfg_cls = spec.config_class()
    # an algorithm with a config per kind of actions (rlforge-offline's cql, awac, iql) refuses
    # the other kind's keys: the small settings go to the keys of the env's kind only
    fields = getattr(cfg_cls, "variants", {}).get(kind, cfg_cls).__dataclass_fields__
    small = {**SMALL, "dataset": dataset} if dataset else SMALL
    resolved = resolve(spec, env_id, None, {k: v for k, v in small.items() if k in fields})
    env = EnvAdapter(env_id, 1, seed=0, plugin_spec=get_registry().envs.get(env_id))
    torch.manual_seed(0)
    agent = spec.build_agent(resolved.agent, env.observation_space, env.action_space, num_envs=1, device="cpu",
                             env_id=env_id)
    return agent, env


def collect(agent, env, steps=64):
    from rlforge.collector import Collector

    collector = Collector(env, seed=0)
    for step in range(steps // agent.steps_per_iteration):
        agent.observe(collector.collect(lambda obs: agent.policy.act(obs), agent.steps_per_iteration))
        agent.update(Progress((step + 1) * agent.steps_per_iteration, 10_000, step + 1))
    return collector.obs


@pytest.mark.parametrize("name,kind", pairs())
def test_round_trip_through_a_checkpoint(name, kind, tmp_path):
    spec = get_registry().algorithm(name)
    needs_data = "dataset" in spec.config_class().__dataclass_fields__
    dataset = None
    if needs_data and spec.agent.startswith("rlforge_imitation"):
        env_id = DATASET_ENV
    elif needs_data:
        env_id = RANDOM_DATASET_ENV[kind]
        dataset = random_dataset(env_id, tmp_path)
    else:
        env_id = SMALL_ENV[kind]
    agent, env = build(spec, env_id, dataset, kind)
    obs = collect(agent, env)
    saved = checkpoint.save(tmp_path, "step_1", agent.state_dict(), {"algo": name})
    state, _ = checkpoint.load(saved)

    fresh, _ = build(spec, env_id, dataset, kind)
    fresh.load_state_dict(state)
    assert diff_states(agent.state_dict(), fresh.state_dict()) == []
    batch = np.repeat(obs, 5, axis=0)
    np.testing.assert_array_equal(agent.policy.act(batch, deterministic=True), fresh.policy.act(batch, deterministic=True))
    metrics = fresh.update(Progress(10_000, 20_000, 999))
    assert all(np.isfinite(v) for v in metrics.values())
    env.close()
