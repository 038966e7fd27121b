"""rlforge.returns against values computed by hand.

The batch used throughout: T = 6 rows of 2 envs, gamma = 0.5.

  env 0: rewards 1 at every row; terminated at row 2; truncated (time limit) at row 4, so the
         episode of rows 3-4 is cut in the middle of the batch; row 5 starts an episode that
         the batch's end cuts.
  env 1: rewards 1..6; terminated AND truncated at row 3 (termination wins: no bootstrap);
         row 5 is cut by the batch's end.

The values V(next_obs) are written so that, where no episode ends, next_values[t] is
V(obs[t + 1]) (as the true next observation is the next row's observation there).
"""

import numpy as np
import pytest

from rlforge.returns import discounted_sum, gae, normalize, reward_to_go, segment_ends, trajectory_returns

GAMMA = 0.5
REWARDS = np.array([[1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [1, 6]], dtype=np.float32)
TERMINATED = np.array([[0, 0], [0, 0], [1, 0], [0, 1], [0, 0], [0, 0]], dtype=bool)
TRUNCATED = np.array([[0, 0], [0, 0], [0, 0], [0, 1], [1, 0], [0, 0]], dtype=bool)
VALUES = np.array([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 1]], dtype=np.float32)  # V(obs)
NEXT_VALUES = np.array([[2, 1], [3, 1], [30, 1], [5, 100], [50, 1], [60, 3]], dtype=np.float32)  # V(next_obs)


def column(values):
    return np.array(values, dtype=np.float32)


def test_discounted_sum_of_one_episode():
    assert discounted_sum([1, 2, 3], 0.5) == 1 + 0.5 * 2 + 0.25 * 3  # 2.75
    assert discounted_sum([1, 1, 1], 1.0) == 3.0
    assert discounted_sum([], 0.9) == 0.0


def test_segment_ends_mark_terminations_truncations_and_the_batch_end():
    ends, bootstrap = segment_ends(TERMINATED, TRUNCATED)
    assert ends[:, 0].tolist() == [False, False, True, False, True, True]
    assert ends[:, 1].tolist() == [False, False, False, True, False, True]
    assert bootstrap[:, 0].tolist() == [False, False, False, False, True, True]  # truncation, batch end
    assert bootstrap[:, 1].tolist() == [False, False, False, False, False, True]  # terminated+truncated: none


def test_reward_to_go_without_values_stops_at_every_end():
    togo = reward_to_go(REWARDS, TERMINATED, TRUNCATED, GAMMA)
    # env 0: rows 0-2 end in a termination, rows 3-4 in a truncation (nothing to bootstrap
    # from without values), row 5 at the batch's end.
    np.testing.assert_allclose(togo[:, 0], column([1.75, 1.5, 1, 1.5, 1, 1]))
    # env 1: 1 + .5*2 + .25*3 + .125*4 = 3.25, 2 + .5*3 + .25*4 = 4.5, 3 + .5*4 = 5, 4, 5 + .5*6 = 8, 6
    np.testing.assert_allclose(togo[:, 1], column([3.25, 4.5, 5, 4, 8, 6]))
    assert togo.dtype == np.float32 and togo.shape == (6, 2)


def test_reward_to_go_bootstraps_at_truncation_and_batch_end_but_not_at_termination():
    togo = reward_to_go(REWARDS, TERMINATED, TRUNCATED, GAMMA, NEXT_VALUES)
    # env 0: row 5: 1 + .5*60 = 31; row 4 (truncated): 1 + .5*50 = 26; row 3: 1 + .5*26 = 14;
    # row 2 (terminated; V(next_obs) = 30 is ignored): 1; rows 1, 0 as before.
    np.testing.assert_allclose(togo[:, 0], column([1.75, 1.5, 1, 14, 26, 31]))
    # env 1: row 5: 6 + .5*3 = 7.5; row 4: 5 + .5*7.5 = 8.75; row 3 is terminated and
    # truncated: 4, V = 100 ignored.
    np.testing.assert_allclose(togo[:, 1], column([3.25, 4.5, 5, 4, 8.75, 7.5]))


def test_trajectory_returns_give_each_row_its_segment_return():
    full = trajectory_returns(REWARDS, TERMINATED, TRUNCATED, GAMMA)
    np.testing.assert_allclose(full[:, 0], column([1.75, 1.75, 1.75, 1.5, 1.5, 1]))
    np.testing.assert_allclose(full[:, 1], column([3.25, 3.25, 3.25, 3.25, 8, 8]))
    bootstrapped = trajectory_returns(REWARDS, TERMINATED, TRUNCATED, GAMMA, NEXT_VALUES)
    np.testing.assert_allclose(bootstrapped[:, 0], column([1.75, 1.75, 1.75, 14, 14, 31]))
    np.testing.assert_allclose(bootstrapped[:, 1], column([3.25, 3.25, 3.25, 3.25, 8.75, 8.75]))


def test_undiscounted_returns_count_the_steps_left():
    # CartPole-like: reward 1 per step, gamma 1, an episode truncated at row 3 and one cut by the batch.
    rewards = np.ones(6, dtype=np.float32)
    terminated = np.zeros(6, dtype=bool)
    truncated = np.array([0, 0, 0, 1, 0, 0], dtype=bool)
    np.testing.assert_allclose(reward_to_go(rewards, terminated, truncated, 1.0), column([4, 3, 2, 1, 2, 1]))
    np.testing.assert_allclose(trajectory_returns(rewards, terminated, truncated, 1.0), column([4, 4, 4, 4, 2, 2]))


def test_gae_by_hand():
    advantages, returns = gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA, 0.5)
    # env 0: deltas r + .5 * V(next) * (1 - terminated) - V:
    #   1 + 1 - 1 = 1, 1 + 1.5 - 2 = .5, 1 + 0 - 3 = -2, 1 + 2.5 - 4 = -.5, 1 + 25 - 5 = 21, 1 + 30 - 6 = 25
    # gamma * lambda = .25; the sums stop at rows 2 (terminated), 4 (truncated) and 5 (batch end):
    #   A5 = 25, A4 = 21, A3 = -.5 + .25*21 = 4.75, A2 = -2, A1 = .5 + .25*-2 = 0, A0 = 1 + .25*0 = 1
    np.testing.assert_allclose(advantages[:, 0], column([1, 0, -2, 4.75, 21, 25]))
    np.testing.assert_allclose(returns[:, 0], column([2, 2, 1, 8.75, 26, 31]))
    # env 1: deltas .5, 1.5, 2.5, 4 - 1 = 3 (terminated: V = 100 ignored), 4.5, 6 + 1.5 - 1 = 6.5
    #   A5 = 6.5, A4 = 4.5 + .25*6.5 = 6.125, A3 = 3, A2 = 2.5 + .75 = 3.25,
    #   A1 = 1.5 + .25*3.25 = 2.3125, A0 = .5 + .25*2.3125 = 1.078125
    np.testing.assert_allclose(advantages[:, 1], column([1.078125, 2.3125, 3.25, 3, 6.125, 6.5]))
    np.testing.assert_allclose(returns[:, 1], advantages[:, 1] + 1)


def test_gae_lambda_one_is_the_bootstrapped_reward_to_go_and_lambda_zero_the_td_error():
    advantages, returns = gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA, 1.0)
    np.testing.assert_allclose(returns, reward_to_go(REWARDS, TERMINATED, TRUNCATED, GAMMA, NEXT_VALUES), rtol=1e-6)
    np.testing.assert_allclose(advantages, returns - VALUES, rtol=1e-6)
    td, _ = gae(REWARDS, VALUES, NEXT_VALUES, TERMINATED, TRUNCATED, GAMMA, 0.0)
    np.testing.assert_allclose(td[:, 0], column([1, 0.5, -2, -0.5, 21, 25]))
    np.testing.assert_allclose(td[:, 1], column([0.5, 1.5, 2.5, 3, 4.5, 6.5]))


def test_one_dimensional_input_is_one_env():
    togo = reward_to_go(REWARDS[:, 0], TERMINATED[:, 0], TRUNCATED[:, 0], GAMMA, NEXT_VALUES[:, 0])
    assert togo.shape == (6,)
    np.testing.assert_allclose(togo, column([1.75, 1.5, 1, 14, 26, 31]))
    advantages, _ = gae(REWARDS[:, 1], VALUES[:, 1], NEXT_VALUES[:, 1], TERMINATED[:, 1], TRUNCATED[:, 1], GAMMA, 0.5)
    np.testing.assert_allclose(advantages, column([1.078125, 2.3125, 3.25, 3, 6.125, 6.5]))


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        reward_to_go(REWARDS, TERMINATED[:5], TRUNCATED, GAMMA)
    with pytest.raises(ValueError, match=r"\[T, num_envs\]"):
        reward_to_go(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), GAMMA)


def test_normalize():
    out = normalize([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out, column([-1.2247449, 0.0, 1.2247449]), rtol=1e-6)
    assert out.dtype == np.float32
