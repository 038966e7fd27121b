"""The TD3 agent on Pendulum-v1's spaces with random experience: the target through the agent's
own networks, the delay schedule, DDPG's every-step updates, acting."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlforge.actor_critic import q_values
from rlforge.agent import Progress
from rlforge.testing.transitions import random_transitions
from rlforge_td3.agent import TD3Agent
from rlforge_td3.config import DDPGConfig, TD3Config

OBS_SPACE = gym.spaces.Box(np.array([-1.0, -1.0, -8.0], dtype=np.float32), np.array([1.0, 1.0, 8.0], dtype=np.float32))
ACT_SPACE = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)  # Pendulum-v1's spaces
SMALL = dict(actor_hidden=[16, 16], critic_hidden=[16, 16], batch_size=8, buffer_size=500,
             random_steps=0, learning_starts=0)


def make_agent(config_class=TD3Config, **overrides):
    torch.manual_seed(0)
    agent = TD3Agent(config_class(**{**SMALL, **overrides}), OBS_SPACE, ACT_SPACE)
    agent.observe(random_transitions(OBS_SPACE, ACT_SPACE, steps=64))
    return agent


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def moved(before, module):
    return any(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


def test_the_agents_target_smooths_the_target_actors_action_and_takes_the_smaller_critic():
    agent = make_agent(policy_noise=0.3, noise_clip=0.1, gamma=0.9)
    batch = agent.buffer.sample(16)
    torch.manual_seed(5)
    got = agent.critic_target(batch)
    torch.manual_seed(5)
    noise = torch.randn(16, 1)  # the draw the agent makes
    mu = torch.tanh(agent.target_actor(batch["next_obs"]))
    next_actions = (mu + (0.3 * noise).clamp(-0.1, 0.1)).clamp(-1, 1)
    q1, q2 = q_values(agent.target_critic, batch["next_obs"], next_actions)
    expected = batch["rewards"] + 0.9 * (1 - batch["terminated"]) * torch.minimum(q1, q2)
    torch.testing.assert_close(got, expected)
    done = batch["terminated"] == 1
    assert done.any() and torch.equal(got[done], batch["rewards"][done])


def test_actor_and_targets_move_only_every_policy_delay_critic_steps():
    agent = make_agent(policy_delay=2)
    progress = Progress(step=100, total_steps=1000, iteration=1)
    schedule = []
    for _ in range(5):
        critic, actor = snapshot(agent.critic), snapshot(agent.policy)
        targets = snapshot(agent.target_critic) + snapshot(agent.target_actor)
        agent.update(progress)
        schedule.append((moved(critic, agent.critic), moved(actor, agent.policy),
                         any(not torch.equal(b, p) for b, p in zip(targets, [*agent.target_critic.parameters(),
                                                                            *agent.target_actor.parameters()]))))
    assert schedule == [(True, False, False), (True, True, True), (True, False, False), (True, True, True),
                        (True, False, False)]
    assert (agent.critic_updates, agent.actor_updates) == (5, 2)


def test_a_delayed_target_step_is_polyak_averaging_with_tau():
    agent = make_agent(policy_delay=1, tau=0.25)
    before = snapshot(agent.target_critic)
    agent.update(Progress(step=100, total_steps=1000, iteration=1))
    for old, online, new in zip(before, agent.critic.parameters(), agent.target_critic.parameters()):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * online.detach())


def test_ddpg_has_one_critic_and_updates_actor_and_targets_every_step():
    agent = make_agent(DDPGConfig)
    assert agent.critic[0].n == 1
    for _ in range(3):
        actor, target = snapshot(agent.policy), snapshot(agent.target_actor)
        metrics = agent.update(Progress(step=100, total_steps=1000, iteration=1))
        assert moved(actor, agent.policy) and moved(target, agent.target_actor)
    assert agent.actor_updates == 3 and set(metrics) == {"losses/critic", "charts/q_mean", "losses/actor"}


def test_acting_stays_in_bounds_and_explores_around_the_deterministic_action():
    agent = make_agent(exploration_noise=0.5)
    obs = np.random.default_rng(1).uniform(-1, 1, (256, 3)).astype(np.float32)
    greedy = agent.policy.act(obs, deterministic=True)
    assert np.array_equal(greedy, agent.policy.act(obs, deterministic=True))
    noisy = agent.policy.act(obs)
    assert noisy.shape == (256, 1) and noisy.dtype == np.float32
    assert np.all(np.abs(noisy) <= 2.0) and not np.allclose(noisy, greedy)
    # noise of 0.5 of half the range (2): the spread of the unclipped differences is about 1
    inside = np.abs(noisy) < 2.0
    assert 0.7 < np.std((noisy - greedy)[inside]) < 1.3


def test_numpy_and_torch_acting_agree_draw_for_draw():
    agent = make_agent()
    obs = np.random.default_rng(2).uniform(-1, 1, (4, 3)).astype(np.float32)
    torch.manual_seed(9)
    numpy_actions = agent.policy.act(obs)
    agent.policy._numpy_net = False  # the torch path
    torch.manual_seed(9)
    torch.testing.assert_close(agent.policy.act(obs), numpy_actions)


def test_discrete_actions_are_refused():
    with pytest.raises(ValueError, match="Box"):
        TD3Agent(TD3Config(**SMALL), OBS_SPACE, gym.spaces.Discrete(3))
