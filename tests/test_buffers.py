import numpy as np
import pytest

from rlforge.agent import Transitions
from rlforge.buffers import ReplayBuffer


def batch(start, steps=3, envs=2):
    n = steps * envs
    values = np.arange(start, start + n, dtype=np.float32).reshape(steps, envs)
    return Transitions(obs=values[..., None].repeat(3, -1), actions=values[..., None], rewards=values,
                       next_obs=values[..., None].repeat(3, -1) + 0.5, terminated=(values % 2 == 0),
                       truncated=np.zeros((steps, envs), bool))


def test_rows_are_stored_in_order_and_wrap_around():
    buffer = ReplayBuffer(8, (3,), (1,))
    buffer.add(batch(0))
    assert len(buffer) == 6 and list(buffer.rewards[:6]) == [0, 1, 2, 3, 4, 5]
    buffer.add(batch(6))
    assert len(buffer) == 8 and buffer.position == 4
    assert list(buffer.rewards) == [8, 9, 10, 11, 4, 5, 6, 7]
    assert list(buffer.terminated) == [1, 0, 1, 0, 1, 0, 1, 0]


def test_sample_returns_consistent_rows():
    buffer = ReplayBuffer(100, (3,), (1,), seed=0)
    buffer.add(batch(0, steps=10))
    sample = buffer.sample(64)
    rewards = sample["rewards"].numpy()
    assert sample["obs"].shape == (64, 3) and sample["actions"].shape == (64, 1)
    assert np.array_equal(sample["obs"][:, 0].numpy(), rewards)
    assert np.array_equal(sample["next_obs"][:, 0].numpy(), rewards + 0.5)
    assert np.array_equal(sample["terminated"].numpy(), (rewards % 2 == 0).astype(np.float32))


def test_state_round_trip_continues_the_same_samples():
    buffer = ReplayBuffer(16, (3,), (1,), seed=1)
    buffer.add(batch(0))
    restored = ReplayBuffer(16, (3,), (1,), seed=99)
    restored.load_state_dict(buffer.state_dict())
    for _ in range(3):
        assert np.array_equal(buffer.sample(5)["rewards"], restored.sample(5)["rewards"])
    buffer.add(batch(6))
    restored.add(batch(6))
    assert np.array_equal(buffer.obs, restored.obs)


def test_loading_a_bigger_buffer_is_refused():
    big = ReplayBuffer(16, (3,), (1,))
    big.add(batch(0, steps=8))
    with pytest.raises(ValueError, match="more than this buffer's capacity 8"):
        ReplayBuffer(8, (3,), (1,)).load_state_dict(big.state_dict())
