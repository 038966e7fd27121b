"""The TD target with and without double Q-learning against hand-computed values, for
ongoing, terminated and truncated transitions, one-step and n-step, through the buffer."""

import numpy as np
import pytest
import torch

from rlforge.agent import Progress, Transitions
from rlforge_dqn.agent import linear_schedule, td_target
from rlforge_dqn.frame_buffer import FrameReplayBuffer

GAMMA = 0.9
# three transitions: ongoing, terminated, truncated by a time limit
REWARDS = [1.0, 0.5, -1.0]
TERMINATED = [False, True, False]
TRUNCATED = [False, False, True]
NEXT_Q_TARGET = [[1.0, 3.0], [2.0, 0.5], [4.0, 1.0]]
NEXT_Q_ONLINE = [[5.0, 0.0], [0.0, 1.0], [1.0, 2.0]]


def one_step_batch():
    """The three transitions through the replay buffer: its discounts are gamma, 0, gamma."""
    obs = np.arange(3, dtype=np.float32).reshape(1, 3, 1)
    buffer = FrameReplayBuffer(100, (1,), np.float32, 3, 1, GAMMA, 1)
    buffer.add(Transitions(obs, np.zeros((1, 3), np.int64), np.array([REWARDS], np.float32), obs + 10,
                           np.array([TERMINATED]), np.array([TRUNCATED])))
    batch = buffer.sample(300)
    rows = [int(np.flatnonzero(batch["obs"][:, 0].numpy() == i)[0]) for i in range(3)]
    return batch["returns"][rows], batch["discounts"][rows]


def test_buffer_discounts_stop_at_termination_only():
    returns, discounts = one_step_batch()
    assert returns.tolist() == REWARDS
    assert discounts.tolist() == pytest.approx([GAMMA, 0.0, GAMMA])


def test_td_target_without_double_q():
    returns, discounts = one_step_batch()
    target = td_target(returns, discounts, torch.tensor(NEXT_Q_TARGET))
    # max over the target network: 3, 2, 4
    assert target.tolist() == pytest.approx([1.0 + 0.9 * 3.0, 0.5, -1.0 + 0.9 * 4.0])


def test_td_target_with_double_q():
    returns, discounts = one_step_batch()
    target = td_target(returns, discounts, torch.tensor(NEXT_Q_TARGET), torch.tensor(NEXT_Q_ONLINE))
    # online argmax 0, 1, 1; valued by the target network: 1, 0.5, 1
    assert target.tolist() == pytest.approx([1.0 + 0.9 * 1.0, 0.5, -1.0 + 0.9 * 1.0])


def test_n_step_td_target():
    # one env, rewards 1, 2, 3, 4 then truncation after the 4th; n = 3
    obs = np.arange(5, dtype=np.float32).reshape(5, 1, 1)
    buffer = FrameReplayBuffer(100, (1,), np.float32, 1, 1, GAMMA, 3)
    for t in range(4):
        buffer.add(Transitions(obs[t:t + 1], np.zeros((1, 1), np.int64), np.array([[t + 1.0]], np.float32),
                               obs[t + 1:t + 2], np.array([[False]]), np.array([[t == 3]])))
    batch = buffer.sample(400)
    first = {float(o): i for i, o in enumerate(batch["obs"][:, 0].tolist())}
    assert set(first) == {0.0, 1.0, 2.0, 3.0}
    next_q = torch.tensor([[0.0, 10.0]])
    expected = {  # obs: (return, discount, next obs)
        0.0: (1 + 0.9 * 2 + 0.81 * 3, 0.9 ** 3, 3.0),
        1.0: (2 + 0.9 * 3 + 0.81 * 4, 0.9 ** 3, 4.0),
        2.0: (3 + 0.9 * 4, 0.9 ** 2, 4.0),  # truncated after two rewards: bootstrap from the final obs
        3.0: (4.0, 0.9, 4.0),
    }
    for o, (ret, discount, nxt) in expected.items():
        i = first[o]
        assert batch["returns"][i].item() == pytest.approx(ret)
        assert batch["discounts"][i].item() == pytest.approx(discount)
        assert batch["next_obs"][i, 0].item() == nxt
        target = td_target(batch["returns"][i:i + 1], batch["discounts"][i:i + 1], next_q)
        assert target.item() == pytest.approx(ret + discount * 10.0)


def test_linear_schedule():
    assert linear_schedule(1.0, 0.02, 0.1, Progress(0, 1000, 0)) == 1.0
    assert linear_schedule(1.0, 0.02, 0.1, Progress(50, 1000, 0)) == pytest.approx(0.51)
    assert linear_schedule(1.0, 0.02, 0.1, Progress(100, 1000, 0)) == pytest.approx(0.02)
    assert linear_schedule(1.0, 0.02, 0.1, Progress(900, 1000, 0)) == pytest.approx(0.02)
