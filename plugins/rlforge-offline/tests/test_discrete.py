"""The shared discrete Q-learning pieces: the TD target, the CQL regulariser on hand-computed
numbers, epsilon-greedy acting, the critic's target copies, the online schedule, datasets in
and out of the replay buffer, coverage and the configs' validation."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from rlforge.agent import Progress
from rlforge.datasets import Dataset, save_dataset
from rlforge.errors import RLForgeError
from rlforge_offline.cql_config import CQLConfig
from rlforge_offline.discrete import (Coverage, CQLPenalty, EpsilonGreedyPolicy, OnlineSchedule, QCritic, buffer_dataset,
                                      cql_regularizer, dataset_buffer, double_q_target, load_discrete_dataset,
                                      maze_images, max_q_fn)
from rlforge_offline.maze import maze_for
from rlforge_offline.q_config import QLearningConfig
from rlforge_offline.rnd_config import RNDConfig

torch.set_num_threads(1)
OBS_SPACE = spaces.Box(0.0, 1.0, (2,), np.float32)
ACTION_SPACE = spaces.Discrete(5)


def small_dataset(n=10, actions=None):
    rng = np.random.default_rng(0)
    terminated = np.zeros(n, bool)
    truncated = np.zeros(n, bool)
    truncated[n // 2 - 1] = terminated[-1] = True
    return Dataset(rng.random((n, 2), dtype=np.float32), np.arange(n) % 5 if actions is None else actions,
                   -np.ones(n, np.float32), rng.random((n, 2), dtype=np.float32), terminated, truncated, {"env": "x"})


def linear_q(weights):
    """A Q-'network' nn.Linear(2, A) with no bias and the given weights [A, 2]."""
    layer = nn.Linear(2, len(weights), bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weights, dtype=torch.float32))
    return layer


# ----------------------------------------------------------------------------- math


def test_double_q_target_by_hand():
    rewards, terminated = torch.tensor([1.0, -1.0]), torch.tensor([0.0, 1.0])
    next_q_target = torch.tensor([[1.0, 5.0], [2.0, 3.0]])
    next_q_online = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    # double: the online net picks action 0 in row 0, valued 1 by the target; row 1 is terminal
    assert double_q_target(rewards, terminated, 0.5, next_q_target, next_q_online).tolist() == [1.5, -1.0]
    # plain: the target's own maximum, 5
    assert double_q_target(rewards, terminated, 0.5, next_q_target).tolist() == [3.5, -1.0]


def test_cql_regularizer_by_hand():
    q_all = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    actions = torch.tensor([2, 0])
    row0 = math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3.0
    row1 = math.log(3.0) - 0.0
    assert cql_regularizer(q_all, actions).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    # temperature 2: 2 * log sum exp(Q / 2)
    row0 = 2 * math.log(math.exp(0.5) + math.exp(1.0) + math.exp(1.5)) - 3.0
    row1 = 2 * math.log(3.0)
    assert cql_regularizer(q_all, actions, temperature=2.0).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    # the action with the largest Q, with the others far below: nearly no penalty
    assert cql_regularizer(torch.tensor([[0.0, 50.0]]), torch.tensor([1])).item() == pytest.approx(0.0, abs=1e-6)


def test_cql_regularizer_gradient_lowers_other_actions_and_raises_the_data_action():
    q_all = torch.zeros(1, 3, requires_grad=True)
    cql_regularizer(q_all, torch.tensor([1])).backward()
    # d/dQ: softmax(Q) - onehot(a): 1/3 for the others, 1/3 - 1 for the data action
    assert q_all.grad[0].tolist() == pytest.approx([1 / 3, 1 / 3 - 1, 1 / 3])


# ----------------------------------------------------------------------------- acting


def test_policy_is_greedy_in_q_when_deterministic_and_in_explore_q_otherwise():
    exploit = linear_q([[1, 0], [0, 1], [0, 0]])  # prefers action 0 where obs[0] > obs[1]
    explore = linear_q([[0, 0], [0, 0], [1, 1]])  # always action 2
    obs = np.array([[0.9, 0.1], [0.1, 0.9]], np.float32)
    policy = EpsilonGreedyPolicy(exploit, 3, epsilon=0.0, explore_q=explore)
    assert policy.act(obs, deterministic=True).tolist() == [0, 1]
    actions = policy.act(obs)
    assert actions.tolist() == [2, 2] and actions.dtype == np.int64
    assert EpsilonGreedyPolicy(exploit, 3, epsilon=0.0).act(obs).tolist() == [0, 1]


def test_epsilon_one_draws_uniform_actions():
    np.random.seed(0)
    policy = EpsilonGreedyPolicy(linear_q([[1, 0], [0, 1], [0, 0], [0, 0], [0, 0]]), 5, epsilon=1.0)
    actions = policy.act(np.full((10_000, 2), 0.5, np.float32))
    counts = np.bincount(actions, minlength=5)
    assert counts.min() > 1800 and counts.max() < 2200, counts
    assert policy.act(np.full((3, 2), 0.5, np.float32), deterministic=True).tolist() == [0, 0, 0]


# ----------------------------------------------------------------------------- critic


def test_critic_copies_its_target_every_target_period_steps():
    torch.manual_seed(0)
    critic = QCritic(2, 5, [8], "relu", 1e-2, target_period=3)
    batch = {"obs": torch.rand(16, 2), "actions": torch.randint(0, 5, (16,)), "rewards": torch.ones(16),
             "next_obs": torch.rand(16, 2), "terminated": torch.zeros(16)}
    same = lambda: all(torch.equal(a, b) for a, b in zip(critic.net.parameters(), critic.target.parameters()))  # noqa: E731
    assert same()
    for step in range(1, 7):
        critic.td_step(batch, 0.9, double_q=True)
        assert same() == (step % 3 == 0), step
    assert critic.gradient_steps == 6
    assert not any(p.requires_grad for p in critic.target.parameters())


def test_critic_state_round_trip():
    torch.manual_seed(0)
    critic = QCritic(2, 5, [8], "relu", 1e-2, target_period=3)
    batch = {"obs": torch.rand(16, 2), "actions": torch.randint(0, 5, (16,)), "rewards": torch.ones(16),
             "next_obs": torch.rand(16, 2), "terminated": torch.zeros(16)}
    critic.td_step(batch, 0.9, True)
    torch.manual_seed(1)
    other = QCritic(2, 5, [8], "relu", 1e-2, target_period=3)
    other.load_state_dict(critic.state_dict())
    a, b = critic.td_step(batch, 0.9, True), other.td_step(batch, 0.9, True)
    assert torch.equal(a.loss, b.loss) and other.gradient_steps == 2
    assert all(torch.equal(x, y) for x, y in zip(critic.net.parameters(), other.net.parameters()))


# ----------------------------------------------------------------------------- schedule


def test_online_schedule_one_step_offline_then_one_per_env_step_after_learning_starts():
    schedule = OnlineSchedule(learning_starts=3)
    offline = Progress(1, 10, 1, offline=True)
    assert schedule.due(offline) == 1
    online = Progress(2, 10, 2)
    schedule.observed(2)
    assert schedule.due(online) == 0  # 2 < 3 collected
    schedule.observed(2)
    assert schedule.due(online) == 2  # the steps of this iteration
    assert schedule.due(online) == 0  # nothing new
    schedule.observed(1)
    state = schedule.state_dict()
    fresh = OnlineSchedule(3)
    fresh.load_state_dict(state)
    assert fresh.due(online) == 1 and fresh.collected == 5


# ----------------------------------------------------------------------------- data


def test_dataset_into_buffer_and_back(tmp_path):
    dataset = small_dataset()
    buffer = dataset_buffer(dataset, capacity=15, seed=0)
    assert len(buffer) == 10 and buffer.actions.dtype == np.int64 and buffer.obs.dtype == np.float32
    back = buffer_dataset(buffer)
    for name in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated"):
        np.testing.assert_array_equal(getattr(back, name), getattr(dataset, name), err_msg=name)
    assert back.terminated.dtype == bool
    assert len(buffer_dataset(buffer, start=4)) == 6
    with pytest.raises(RLForgeError, match="do not fit"):
        dataset_buffer(dataset, capacity=5, seed=0)
    empty = dataset_buffer(None, capacity=4, seed=0, obs_shape=(2,))
    assert len(empty) == 0 and empty.obs.shape == (4, 2)


def test_load_discrete_dataset_cuts_and_checks(tmp_path):
    path = save_dataset(small_dataset(actions=(np.arange(10) % 5).astype(np.float32).reshape(10, 1)),
                        tmp_path / "d.npz")
    dataset = load_discrete_dataset(str(path), 0, OBS_SPACE, ACTION_SPACE)
    assert len(dataset) == 10 and dataset.actions.dtype == np.int64 and dataset.actions.shape == (10,)
    assert len(load_discrete_dataset(str(path), 4, OBS_SPACE, ACTION_SPACE)) == 4
    with pytest.raises(RLForgeError, match="outside|discrete actions"):
        load_discrete_dataset(str(path), 0, OBS_SPACE, spaces.Discrete(4))
    with pytest.raises(RLForgeError, match="shape"):  # observations of 2 numbers for an env of 3
        load_discrete_dataset(str(path), 0, spaces.Box(0.0, 1.0, (3,), np.float32), ACTION_SPACE)
    halves = save_dataset(small_dataset(actions=np.full(10, 0.5)), tmp_path / "halves.npz")
    with pytest.raises(RLForgeError, match="integers|discrete actions"):
        load_discrete_dataset(str(halves), 0, OBS_SPACE, ACTION_SPACE)


# ----------------------------------------------------------------------------- mazes


def test_coverage_counts_reachable_cells_and_round_trips():
    maze = maze_for("PointmassMedium-v0")
    coverage = Coverage(maze)
    assert coverage.fraction() == 0.0
    reachable = int(maze.reachable_cells().sum())
    coverage.add(np.array([[0.5 / 6, 0.5 / 6], [0.51 / 6, 0.52 / 6], [0.5 / 6, 1.5 / 6]], np.float32))
    assert coverage.fraction() == pytest.approx(2 / reachable)
    other = Coverage(maze)
    other.load_state_dict(coverage.state_dict())
    assert other.fraction() == coverage.fraction()


def test_maze_images_show_visits_and_values():
    maze = maze_for("PointmassEasy-v0")
    q = linear_q([[1, 0], [0, 1]])  # max_a Q = max(obs row, obs col)
    images = maze_images(maze, np.array([[0.05, 0.05]], np.float32), max_q_fn(q))
    assert set(images) == {"visits", "value"}
    for image in images.values():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


# ----------------------------------------------------------------------------- configs


@pytest.mark.parametrize("config, values, message", [
    (QLearningConfig, {"gamma": 1.5}, "gamma"),
    (QLearningConfig, {"lr": float("nan")}, "lr"),
    (QLearningConfig, {"hidden": [64, 0]}, "hidden"),
    (QLearningConfig, {"epsilon": -0.1}, "epsilon"),
    (QLearningConfig, {"offline_steps": -1}, "offline_steps"),
    (QLearningConfig, {"target_period": 0}, "target_period"),
    (CQLConfig, {"cql_alpha": -1.0}, "cql_alpha"),
    (CQLConfig, {"cql_temperature": 0.0}, "cql_temperature"),
    (RNDConfig, {"rnd_norm_decay": 1.0}, "rnd_norm_decay"),
    (RNDConfig, {"rnd_output": 0}, "rnd_output"),
])
def test_configs_refuse_bad_values(config, values, message):
    with pytest.raises(ValueError, match=message):
        config(**values)


def test_config_defaults_follow_the_course():
    cql, rnd = CQLConfig(), RNDConfig()
    assert (cql.hidden, cql.lr, cql.gamma, cql.target_period, cql.double_q, cql.batch_size, cql.epsilon) == \
        ([64, 64], 1e-3, 0.95, 300, True, 128, 0.3)
    assert (cql.cql_alpha, cql.cql_temperature, cql.offline_steps) == (1.0, 1.0, None)
    assert (rnd.rnd_weight, rnd.rnd_hidden, rnd.rnd_output, rnd.rnd_lr, rnd.offline_steps) == (1.0, [400, 400], 5, 1e-3, 0)


@pytest.mark.parametrize("penalty", [None, CQLPenalty(1.5, 0.7)])
def test_hand_written_critic_steps_follow_autograd(penalty):
    """50 gradient steps through the hand-written passes and through autograd, from the same
    networks and batches, end at the same parameters (float32 rounding apart)."""
    critics = []
    for hand_written in (True, False):
        torch.manual_seed(4)
        critics.append(QCritic(3, 4, [16, 16], "relu", 1e-2, target_period=7, hand_written=hand_written))
    assert critics[0]._passes is not None and critics[1]._passes is None
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        batch = {"obs": torch.randn(32, 3, generator=generator), "next_obs": torch.randn(32, 3, generator=generator),
                 "actions": torch.randint(0, 4, (32,), generator=generator), "rewards": torch.randn(32, generator=generator),
                 "terminated": (torch.rand(32, generator=generator) < 0.1).float()}
        steps = [critic.td_step(batch, 0.9, True, extra_loss=penalty) for critic in critics]
        torch.testing.assert_close(steps[0].loss, steps[1].loss, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(critics[0].net.parameters(), critics[1].net.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(critics[0].target.parameters(), critics[1].target.parameters()):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)
