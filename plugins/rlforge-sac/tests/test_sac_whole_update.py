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
from rlforge.agent import Progress
from rlforge.testing.transitions import random_transitions
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


def all_tensors(agent) -> list[torch.Tensor]:
    return [p.detach() for p in (*agent.policy.parameters(), *agent.critic.parameters(),
                                 *agent.target_critic.parameters(), agent.log_temperature)]


def moments(agent) -> list[torch.Tensor]:
    optimizers = (agent.actor_optimizer, agent.critic_optimizer, agent.temperature_optimizer)
    return [s[name] for o in optimizers for s in o.state.values() for name in ("exp_avg", "exp_avg_sq", "step")]


def train(agent, updates: int, first_step: int = 100, seed: int = 3) -> list[dict]:
    torch.manual_seed(seed)
    return [agent.update(Progress(step=first_step + i, total_steps=10_000, iteration=i)) for i in range(updates)]


def assert_same_state(a, b, atol: float) -> None:
    for x, y in zip(all_tensors(a) + moments(a), all_tensors(b) + moments(b), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=atol)
    assert (a.critic_updates, a.actor_updates) == (b.critic_updates, b.actor_updates)


@pytest.fixture
def uncompiled(monkeypatch):
    """The whole update run as plain Python (no torch.compile): the same maths, no compile time."""
    monkeypatch.setattr(sac_agent, "maybe_compile", lambda fn, enabled: fn)


def test_the_whole_update_makes_the_eager_updates_steps(uncompiled):
    eager, whole = make_agent(), make_agent(compile_update="whole")
    fill(eager), fill(whole)
    eager_metrics, whole_metrics = train(eager, 6), train(whole, 6)
    assert_same_state(eager, whole, atol=1e-6)
    assert eager.critic_updates == 6 and whole.actor_updates == 6
    assert eager_metrics[-1].keys() == whole_metrics[-1].keys()
    for key, value in eager_metrics[-1].items():
        assert whole_metrics[-1][key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert any(not torch.equal(a, b) for a, b in zip(all_tensors(whole), all_tensors(make_agent())))  # it learnt


def test_the_whole_update_takes_several_steps_per_iteration_with_several_envs(uncompiled):
    eager, whole = make_agent(num_envs=2), make_agent(num_envs=2, compile_update="whole")
    fill(eager), fill(whole)
    train(eager, 3), train(whole, 3)
    assert whole.critic_updates == whole.actor_updates == 6  # two env steps per iteration, one update each
    assert_same_state(eager, whole, atol=1e-6)


def test_a_resumed_whole_update_continues_on_the_loaded_optimiser_state(uncompiled):
    agent = make_agent(compile_update="whole")
    fill(agent)
    train(agent, 4)
    resumed = make_agent(seed=99, compile_update="whole")
    fill(resumed, seed=1)
    train(resumed, 2)  # its whole update is built on the optimisers' tensors that loading replaces
    resumed.load_state_dict(agent.state_dict())
    train(agent, 3, first_step=200, seed=5), train(resumed, 3, first_step=200, seed=5)
    assert_same_state(agent, resumed, atol=0)


def test_the_compiled_whole_update_matches_eager():
    eager, whole = make_agent(), make_agent(compile_update="whole")
    fill(eager), fill(whole)
    train(eager, 4), train(whole, 4)
    assert_same_state(eager, whole, atol=1e-5)


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
