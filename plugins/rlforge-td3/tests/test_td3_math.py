"""TD3's target against hand-computed values: smoothing noise clipped, the minimum over the two
critics, no bootstrap on termination; and the config's checks."""

import pytest
import torch

from rlforge.actor_critic import clipped_double_q_target, smoothed_target_actions
from rlforge_td3.config import DDPGConfig, TD3Config


def test_smoothing_noise_is_scaled_clipped_and_the_action_kept_in_bounds():
    actions = torch.tensor([[0.5, -0.9], [0.95, 0.0], [0.1, 0.2]])
    noise = torch.tensor([[3.0, -1.0], [1.0, -4.0], [0.5, -0.5]])  # standard normal draws
    # 0.2 * noise = [[0.6, -0.2], [0.2, -0.8], [0.1, -0.1]], clipped to +-0.5 -> [[0.5, -0.2], [0.2, -0.5], [0.1, -0.1]]
    # plus the actions = [[1.0, -1.1], [1.15, -0.5], [0.2, 0.1]], clipped to [-1, 1]
    expected = torch.tensor([[1.0, -1.0], [1.0, -0.5], [0.2, 0.1]])
    torch.testing.assert_close(smoothed_target_actions(actions, 0.2, 0.5, noise), expected)


def test_no_smoothing_leaves_the_target_actions_and_draws_nothing():
    actions = torch.tensor([[0.3, -0.7]])
    state = torch.get_rng_state()
    assert smoothed_target_actions(actions, 0.0, 0.5) is actions
    assert torch.equal(torch.get_rng_state(), state)


def test_target_takes_the_minimum_of_the_critics_and_stops_at_termination():
    next_q = torch.tensor([[1.0, 2.0, -1.0], [3.0, 0.0, -2.0]])  # 2 critics x 3 rows
    rewards = torch.tensor([1.0, 0.5, -1.0])
    terminated = torch.tensor([0.0, 0.0, 1.0])
    # min = [1, 0, -2]; targets 1 + 0.5 * 1, 0.5 + 0.5 * 0, and the terminated row's reward -1
    torch.testing.assert_close(clipped_double_q_target(next_q, rewards, terminated, 0.5), torch.tensor([1.5, 0.5, -1.0]))
    # DDPG's one critic: [1 + 0.5 * 1, 0.5 + 0.5 * 2, -1]
    torch.testing.assert_close(clipped_double_q_target(next_q[:1], rewards, terminated.bool(), 0.5),
                               torch.tensor([1.5, 1.5, -1.0]))


def test_ddpg_is_td3_without_its_three_changes():
    ddpg, td3 = DDPGConfig(), TD3Config()
    assert (ddpg.num_critics, ddpg.policy_noise, ddpg.policy_delay) == (1, 0.0, 1)
    assert (td3.num_critics, td3.policy_noise, td3.noise_clip, td3.policy_delay) == (2, 0.2, 0.5, 2)
    assert (td3.actor_lr, td3.batch_size, td3.tau, td3.exploration_noise, td3.random_steps) == (3e-4, 256, 0.005, 0.1, 25_000)


@pytest.mark.parametrize("key, value", [("policy_delay", 0), ("tau", 0.0), ("noise_clip", -0.1), ("gamma", 1.5),
                                        ("critic_hidden", [0]), ("actor_lr", 0.0)])
def test_invalid_settings_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        TD3Config(**{key: value})
