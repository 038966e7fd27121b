"""CrossQ: the joint critic forward gives the statistics of the paper's formulation (one batch
of (s, a) and (s', a') rows concatenated), no target networks, the actor every
`policy_delay`-th critic step, acting with running statistics, the paper's defaults."""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlforge.actor_critic import q_values
from rlforge.agent import Progress
from rlforge.batch_renorm import BatchRenorm, renorm_layers, updating_statistics
from rlforge.testing.transitions import random_transitions
from rlforge_sac.crossq import CrossQAgent
from rlforge_sac.crossq_config import CrossQConfig

OBS_SPACE = gym.spaces.Box(np.array([-1.0, -1.0, -8.0], dtype=np.float32), np.array([1.0, 1.0, 8.0], dtype=np.float32))
ACT_SPACE = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)  # Pendulum-v1's spaces
SMALL = dict(actor_hidden=[16, 16], critic_hidden=[32, 32], batch_size=8, buffer_size=500,
             random_steps=0, learning_starts=0)
PROGRESS = Progress(step=100, total_steps=1000, iteration=1)


def make_agent(**overrides):
    torch.manual_seed(0)
    agent = CrossQAgent(CrossQConfig(**{**SMALL, **overrides}), OBS_SPACE, ACT_SPACE)
    agent.observe(random_transitions(OBS_SPACE, ACT_SPACE, steps=64))
    return agent


def test_the_joint_forward_normalises_with_the_statistics_of_both_batches_concatenated():
    agent = make_agent()
    reference = copy.deepcopy(agent.critic)  # the paper's formulation, written out below
    batch = agent.buffer.sample(8)
    torch.manual_seed(3)
    _, q = agent.critic_losses(batch)
    torch.manual_seed(3)
    with torch.no_grad():
        next_actions, _ = agent.policy.distribution(batch["next_obs"]).rsample_with_log_prob()
    rows = torch.cat((torch.cat((batch["obs"], batch["actions"]), -1), torch.cat((batch["next_obs"], next_actions), -1)))
    first = agent.critic[0]
    # the input layer's running statistics moved towards the mean and (biased) variance of all 16 rows
    torch.testing.assert_close(first.running_mean[0, 0], 0.01 * rows.mean(0))
    torch.testing.assert_close(first.running_var[0, 0], 0.99 + 0.01 * rows.var(0, correction=0))
    # Q(s, a) is the first half of one training-mode forward over the concatenated batch
    with updating_statistics(renorm_layers(reference)):
        joint = reference(rows)[..., 0]
    torch.testing.assert_close(q, joint[:, :8])
    # ... and not what a forward of the (s, a) rows alone would give
    alone = copy.deepcopy(reference)
    with updating_statistics(renorm_layers(alone)):
        assert not torch.allclose(alone(rows[:8])[..., 0], q, atol=1e-4)


def test_the_target_uses_the_live_critics_minimum_and_stops_at_termination():
    agent = make_agent(gamma=0.9)
    fresh = copy.deepcopy(agent)  # the same forward again, written out, from the statistics as they were
    batch = agent.buffer.sample(32)
    torch.manual_seed(4)
    per_critic, q = agent.critic_losses(batch)
    torch.manual_seed(4)
    with torch.no_grad():
        next_actions, next_log_prob = fresh.policy.distribution(batch["next_obs"]).rsample_with_log_prob()
        with updating_statistics(renorm_layers(fresh.critic)):
            both = q_values(fresh.critic, torch.cat((batch["obs"], batch["next_obs"])),
                            torch.cat((batch["actions"], next_actions)))
    next_v = both[:, 32:].amin(0) - fresh.log_temperature.exp() * next_log_prob
    target = batch["rewards"] + 0.9 * (1 - batch["terminated"]) * next_v
    torch.testing.assert_close(per_critic, (both[:, :32] - target).pow(2).mean(-1))
    assert not hasattr(agent, "target_critic")


def test_the_actor_steps_every_policy_delay_critic_steps_and_acting_leaves_statistics_alone():
    agent = make_agent(policy_delay=3)
    actor_layers = renorm_layers(agent.policy)
    for _ in range(7):
        agent.update(PROGRESS)
    assert (agent.critic_updates, agent.actor_updates) == (7, 2)
    assert all(int(layer.steps) == 2 for layer in actor_layers)  # one training forward per actor step
    assert all(int(layer.steps) == 7 for layer in renorm_layers(agent.critic))
    state = copy.deepcopy(agent.policy.state_dict())
    obs = np.random.default_rng(1).uniform(-1, 1, (5, 3)).astype(np.float32)
    actions = agent.policy.act(obs)
    assert actions.shape == (5, 1) and np.all(np.abs(actions) <= 2.0)
    assert np.array_equal(agent.policy.act(obs, deterministic=True), agent.policy.act(obs, deterministic=True))
    for key, value in agent.policy.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_defaults_are_the_papers_but_the_critics_width():
    cfg = CrossQConfig()
    assert (cfg.actor_lr, cfg.critic_lr, cfg.adam_beta1, cfg.policy_delay) == (1e-3, 1e-3, 0.5, 3)
    assert cfg.actor_hidden == [256, 256] and cfg.critic_hidden == [256, 256]  # the paper: 2048 (see crossq_config)
    assert (cfg.bn_momentum, cfg.bn_warmup_steps, cfg.bn_r_max, cfg.bn_d_max) == (0.99, 100_000, 3.0, 5.0)
    agent = CrossQAgent(CrossQConfig(**SMALL), OBS_SPACE, ACT_SPACE)
    assert agent.critic_optimizer.param_groups[0]["betas"] == (0.5, 0.999)
    assert agent.temperature_optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    assert sum(isinstance(m, BatchRenorm) for m in agent.policy.modules()) == 3
    assert not any(isinstance(m, BatchRenorm) for m in CrossQAgent(CrossQConfig(**SMALL, actor_batch_renorm=False),
                                                                   OBS_SPACE, ACT_SPACE).policy.modules())


@pytest.mark.parametrize("key, value", [("policy_delay", 0), ("adam_beta1", 1.0), ("bn_momentum", -0.1),
                                        ("bn_r_max", 0.5), ("critic_hidden", [0])])
def test_invalid_settings_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        CrossQConfig(**{key: value})
