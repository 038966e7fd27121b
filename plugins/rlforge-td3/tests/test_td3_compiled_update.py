"""`compile_update: true` for TD3 and DDPG: the critic step and the critic-actor-targets step as
functions (rlforge_td3.whole_update) make the eager update's steps through the optimisers' own
state, compiled or not, on the same delay schedule; resume holds."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlforge_td3.agent as td3_agent
from rlforge.agent import Progress
from rlforge.testing.transitions import random_transitions
from rlforge_td3.agent import TD3Agent
from rlforge_td3.config import DDPGConfig, TD3Config

OBS_SPACE = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
ACT_SPACE = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
SMALL = dict(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=16, buffer_size=500, random_steps=0,
             learning_starts=0)


def make_agent(config_class=TD3Config, seed=0, data_seed=0, **overrides) -> TD3Agent:
    torch.manual_seed(seed)
    agent = TD3Agent(config_class(**{**SMALL, **overrides}), OBS_SPACE, ACT_SPACE)
    agent.observe(random_transitions(OBS_SPACE, ACT_SPACE, steps=64, seed=data_seed))
    return agent


def all_tensors(agent) -> list[torch.Tensor]:
    modules = (agent.policy, agent.target_actor, agent.critic, agent.target_critic)
    return [p.detach() for m in modules for p in m.parameters()]


def moments(agent) -> list[torch.Tensor]:
    return [s[name] for o in (agent.actor_optimizer, agent.critic_optimizer) for s in o.state.values()
            for name in ("exp_avg", "exp_avg_sq", "step")]


def train(agent, updates: int, first_step: int = 100, seed: int = 3) -> list[dict]:
    torch.manual_seed(seed)
    return [agent.update(Progress(step=first_step + i, total_steps=10_000, iteration=i)) for i in range(updates)]


def assert_same_state(a, b, atol: float) -> None:
    for x, y in zip(all_tensors(a) + moments(a), all_tensors(b) + moments(b), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=atol)
    assert (a.critic_updates, a.actor_updates) == (b.critic_updates, b.actor_updates)


@pytest.fixture
def uncompiled(monkeypatch):
    """The steps run as plain Python (no torch.compile): the same maths, no compile time."""
    monkeypatch.setattr(td3_agent, "maybe_compile", lambda fn, enabled: fn)


@pytest.mark.parametrize("config_class, actor_steps", [(TD3Config, 3), (DDPGConfig, 7)])
def test_the_compiled_steps_make_the_eager_updates_steps(uncompiled, config_class, actor_steps):
    eager, compiled = make_agent(config_class), make_agent(config_class, compile_update=True)
    eager_metrics, compiled_metrics = train(eager, 7), train(compiled, 7)
    assert_same_state(eager, compiled, atol=1e-6)
    assert compiled.critic_updates == 7 and compiled.actor_updates == actor_steps
    assert eager_metrics[-1].keys() == compiled_metrics[-1].keys() == {"losses/critic", "charts/q_mean", "losses/actor"}
    for key, value in eager_metrics[-1].items():
        assert compiled_metrics[-1][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert any(not torch.equal(a, b) for a, b in zip(all_tensors(compiled), all_tensors(make_agent())))  # it learnt


def test_resumed_compiled_steps_continue_on_the_loaded_optimiser_state(uncompiled):
    agent = make_agent(compile_update=True)
    train(agent, 5)
    resumed = make_agent(seed=99, data_seed=1, compile_update=True)
    train(resumed, 2)  # its steps are built on the optimisers' tensors that loading replaces
    resumed.load_state_dict(agent.state_dict())
    train(agent, 3, first_step=200, seed=5), train(resumed, 3, first_step=200, seed=5)
    assert_same_state(agent, resumed, atol=0)


def test_the_compiled_steps_match_eager():
    eager, compiled = make_agent(), make_agent(compile_update=True)
    train(eager, 4), train(compiled, 4)
    assert_same_state(eager, compiled, atol=1e-5)
