"""The engine's offline phase: `agent.offline_steps` updates without collecting, counted as
steps, then online collection; the switch in metrics.csv; evaluation pictures; a collected
dataset written to RUN_DIR/dataset/."""

import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.config import ResolvedConfig, RunConfig
from rlforge.datasets import Dataset
from rlforge.engine import Engine
from rlforge.logger import MetricsLogger
from rlforge.plugins import get_host
from rlforge.registry import AlgorithmSpec
from rlforge.runs import Run
from rlforge.sweeps.results import read_metrics


@dataclass
class CounterConfig:
    offline_steps: int | None = 5


class ZeroPolicy(Policy):
    def act(self, obs, deterministic=False):
        return np.zeros(len(obs), dtype=np.int64)


class CounterAgent(Agent):
    """Records what the engine asked of it; keeps what it observed."""

    def __init__(self, config, observation_space, action_space, num_envs=1, device="cpu"):
        super().__init__(config, observation_space, action_space, num_envs, device)
        self.offline_steps = config.offline_steps
        self.policy = ZeroPolicy()
        self.updates: list[Progress] = []
        self.observed: list[Transitions] = []

    def observe(self, batch):
        self.observed.append(batch.flat())

    def update(self, progress):
        self.updates.append(progress)
        return {"charts/updates": float(len(self.updates))}

    def evaluation_images(self):
        return {"flat": np.full((4, 6, 3), len(self.updates), dtype=np.uint8)}

    def collected_dataset(self):
        if not self.observed:
            return None
        rows = {k: np.concatenate([getattr(b, k) for b in self.observed])
                for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
        return Dataset(**rows)

    def state_dict(self):
        return {"updates": len(self.updates)}

    def load_state_dict(self, state):
        pass


@pytest.fixture
def counter_spec():
    module = types.ModuleType("_rlforge_offline_engine_test")
    module.CounterAgent = CounterAgent
    sys.modules[module.__name__] = module
    yield AlgorithmSpec("counter", "", ("discrete",), config="x:y", agent=f"{module.__name__}:CounterAgent")
    del sys.modules[module.__name__]


def train(spec, tmp_path, offline_steps, total_steps=12, **run_values):
    run_cfg = RunConfig(total_steps=total_steps, seed=3, eval_every=4, eval_episodes=1, log_every=2,
                        torch_threads=1, device="cpu", **run_values)
    resolved = ResolvedConfig("counter", "CartPole-v1", run_cfg, CounterConfig(offline_steps), [])
    engine = Engine(spec, resolved, None, get_host().hook)
    run = Run(tmp_path / "run", "counter", "CartPole-v1", 3)
    run.create(resolved.to_dict(), [], "0")
    logger = MetricsLogger(run.path, tensorboard=False)
    try:
        outcome = engine.train(run, logger)
    finally:
        logger.close()
        engine.close()
    return engine.agent, run, outcome


def test_offline_steps_update_without_collecting_then_collect(counter_spec, tmp_path):
    torch.set_num_threads(1)
    agent, run, outcome = train(counter_spec, tmp_path, offline_steps=5)
    assert outcome.status == "finished" and run.step == 12
    offline = [p for p in agent.updates if p.offline]
    assert [p.step for p in offline] == [1, 2, 3, 4, 5]  # one update per offline step
    online = [p for p in agent.updates if not p.offline]
    assert [p.step for p in online] == list(range(6, 13))  # then one env step per iteration
    assert sum(len(b) for b in agent.observed) == 7  # nothing collected in the offline phase

    metrics = read_metrics(run.path / "metrics.csv", {"charts/online"})["charts/online"]
    by_step = {}
    for step, _, value in metrics:
        by_step.setdefault(step, []).append(value)
    assert by_step[2] == [0.0] and by_step[4] == [0.0]
    assert 1.0 in by_step[5]  # the switch itself is marked at the last offline step
    assert all(v == [1.0] for s, v in by_step.items() if s > 5)


def test_a_wholly_offline_run_never_collects(counter_spec, tmp_path):
    agent, run, _ = train(counter_spec, tmp_path, offline_steps=None, total_steps=8)
    assert all(p.offline for p in agent.updates) and len(agent.updates) == 8
    assert agent.observed == []
    assert not (run.path / "dataset").exists()  # nothing collected, no dataset
    online = read_metrics(run.path / "metrics.csv", {"charts/online"})["charts/online"]
    assert {value for _, _, value in online} == {0.0}


def test_online_agents_log_no_phase(counter_spec, tmp_path):
    agent, run, _ = train(counter_spec, tmp_path, offline_steps=0, total_steps=6)
    assert not any(p.offline for p in agent.updates)
    assert "charts/online" not in read_metrics(run.path / "metrics.csv")


def test_evaluation_pictures_are_written_at_each_evaluation(counter_spec, tmp_path):
    _, run, _ = train(counter_spec, tmp_path, offline_steps=0, total_steps=8)
    names = sorted(p.name for p in (run.path / "images").iterdir())
    assert names == ["flat_step_000000000004.png", "flat_step_000000000008.png"]
    import imageio.v3 as iio

    image = iio.imread(run.path / "images" / names[1])
    assert image.shape == (4, 6, 3) and int(image[0, 0, 0]) == 8  # the agent's picture after 8 updates


def test_what_the_agent_collected_becomes_the_run_dataset(counter_spec, tmp_path):
    from rlforge.datasets import load_dataset

    agent, run, _ = train(counter_spec, tmp_path, offline_steps=0, total_steps=30)
    collected = agent.collected_dataset()
    saved = load_dataset(str(run.path / "dataset"))
    assert len(saved) == 30
    for key in ("obs", "actions", "rewards", "next_obs", "terminated"):
        np.testing.assert_array_equal(getattr(saved, key), getattr(collected, key))
