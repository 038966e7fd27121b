"""`compile_update: true` for TD3 and DDPG: the critic step and the critic-actor-targets step as
functions (rlforge_td3.whole_update) make the eager update's steps through the optimisers' own
state, compiled or not, on the same delay schedule; resume holds."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlforge_td3.agent as td3_agent
from rlforge.testing.state import diff_states
from rlforge.testing.transitions import random_transitions, run_updates
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


def assert_same_state(a, b, tolerance: float) -> None:
    """Networks, targets, optimiser moments and step counts, buffer and counters alike."""
    assert diff_states(a.state_dict(), b.state_dict(), tolerance=tolerance) == []


@pytest.fixture
def uncompiled(monkeypatch):
    """The steps run as plain Python (no torch.compile): the same maths, no compile time."""
    monkeypatch.setattr(td3_agent, "maybe_compile", lambda fn, enabled: fn)


@pytest.mark.parametrize("config_class, actor_steps", [(TD3Config, 3), (DDPGConfig, 7)])
def test_the_compiled_steps_make_the_eager_updates_steps(uncompiled, config_class, actor_steps):
    eager, compiled = make_agent(config_class), make_agent(config_class, compile_update=True)
    eager_metrics, compiled_metrics = run_updates(eager, 7), run_updates(compiled, 7)
    assert_same_state(eager, compiled, 1e-6)
    assert compiled.critic_updates == 7 and compiled.actor_updates == actor_steps
    assert eager_metrics[-1].keys() == compiled_metrics[-1].keys() == {"losses/critic", "charts/q_mean", "losses/actor"}
    for key, value in eager_metrics[-1].items():
        assert compiled_metrics[-1][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert diff_states(make_agent().state_dict()["actor"], compiled.state_dict()["actor"]) != []  # it learnt


def test_resumed_compiled_steps_continue_on_the_loaded_optimiser_state(uncompiled):
    agent = make_agent(compile_update=True)
    run_updates(agent, 5)
    resumed = make_agent(seed=99, data_seed=1, compile_update=True)
    run_updates(resumed, 2)  # its steps are built on the optimisers' tensors that loading replaces
    resumed.load_state_dict(agent.state_dict())
    run_updates(agent, 3, first_step=200, seed=5), run_updates(resumed, 3, first_step=200, seed=5)
    assert_same_state(agent, resumed, 0.0)


def test_the_compiled_steps_match_eager():
    eager, compiled = make_agent(), make_agent(compile_update=True)
    run_updates(eager, 4), run_updates(compiled, 4)
    assert_same_state(eager, compiled, 1e-5)
