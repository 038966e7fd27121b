"""`compile_update: whole`: SAC's whole update as one function (rlforge_sac.whole_update) makes
the eager update's steps, through the optimisers' own state, compiled or not; resume holds;
settings it does not cover are refused before a run starts."""

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlforge_sac.agent as sac_agent
from rlforge.testing.state import diff_states
from rlforge.testing.transitions import random_transitions, run_updates
from rlforge_sac.agent import SACAgent
from rlforge_sac.config import SACConfig

OBS_SPACE = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
ACT_SPACE = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
SMALL = dict(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=16, buffer_size=500, random_steps=0,
             learning_starts=0)


def make_agent(seed=0, num_envs=1, **overrides) -> SACAgent:
    torch.manual_seed(seed)
    return SACAgent(SACConfig(**{**SMALL, **overrides}), OBS_SPACE, ACT_SPACE, num_envs=num_envs, device="cpu")


def fill(agent, rows=64, seed=0) -> None:
    agent.observe(random_transitions(OBS_SPACE, ACT_SPACE, steps=rows, num_envs=agent.num_envs, seed=seed))


def assert_same_state(a, b, tolerance: float) -> None:
    """Networks, targets, optimiser moments and step counts, buffer and counters alike."""
    assert diff_states(a.state_dict(), b.state_dict(), tolerance=tolerance) == []


@pytest.fixture
def uncompiled(monkeypatch):
    """The whole update run as plain Python (no torch.compile): the same maths, no compile time."""
    monkeypatch.setattr(sac_agent, "maybe_compile", lambda fn, enabled: fn)


def test_the_whole_update_makes_the_eager_updates_steps(uncompiled):
    eager, whole = make_agent(), make_agent(compile_update="whole")
    fill(eager), fill(whole)
    eager_metrics, whole_metrics = run_updates(eager, 6), run_updates(whole, 6)
    assert_same_state(eager, whole, 1e-6)
    assert eager.critic_updates == 6 and whole.actor_updates == 6
    assert eager_metrics[-1].keys() == whole_metrics[-1].keys()
    for key, value in eager_metrics[-1].items():
        assert whole_metrics[-1][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert diff_states(make_agent().state_dict()["actor"], whole.state_dict()["actor"]) != []  # it learnt


def test_the_whole_update_takes_several_steps_per_iteration_with_several_envs(uncompiled):
    eager, whole = make_agent(num_envs=2), make_agent(num_envs=2, compile_update="whole")
    fill(eager), fill(whole)
    run_updates(eager, 3), run_updates(whole, 3)
    assert whole.critic_updates == whole.actor_updates == 6  # two env steps per iteration, one update each
    assert_same_state(eager, whole, 1e-6)


def test_a_resumed_whole_update_continues_on_the_loaded_optimiser_state(uncompiled):
    agent = make_agent(compile_update="whole")
    fill(agent)
    run_updates(agent, 4)
    resumed = make_agent(seed=99, compile_update="whole")
    fill(resumed, seed=1)
    run_updates(resumed, 2)  # its whole update is built on the optimisers' tensors that loading replaces
    resumed.load_state_dict(agent.state_dict())
    run_updates(agent, 3, first_step=200, seed=5), run_updates(resumed, 3, first_step=200, seed=5)
    assert_same_state(agent, resumed, 0.0)


def test_the_compiled_whole_update_matches_eager():
    eager, whole = make_agent(), make_agent(compile_update="whole")
    fill(eager), fill(whole)
    run_updates(eager, 4), run_updates(whole, 4)
    assert_same_state(eager, whole, 1e-5)


@pytest.mark.parametrize("setting", ["updates_per_step=2", "target_update=hard", "actor_gradient=reinforce",
                                     "auto_temperature=false"])
def test_settings_the_whole_update_does_not_cover_are_refused_before_a_run(tmp_path, setting):
    name, value = setting.split("=")
    with pytest.raises(ValueError, match=f"compile_update 'whole' compiles SAC's default update only; "
                                         f"it does not support {name}: "):
        SACConfig(compile_update="whole", **{name: {"false": False, "2": 2}.get(value, value)})
    result = subprocess.run([sys.executable, "-m", "rlforge.cli", "train", "--algo", "sac", "--env", "Pendulum-v1",
                             "--set", "compile_update=whole", "--set", setting], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "RLFORGE_LOAD_PLUGINS": "sac"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "compile_update 'whole'" in result.stderr and not (tmp_path / "runs").exists()
