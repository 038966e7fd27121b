"""Replay buffer: preallocated NumPy arrays, sampled with one index array, saved without pickle."""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Transitions
from rlforge.resources import check_fits


class ReplayBuffer:
    """A ring buffer of (obs, action, reward, next_obs, terminated, truncated) rows.

    Learning needs no truncation flag: `next_obs` is the true next observation, so a
    transition cut by a time limit is bootstrapped like any other; only `terminated` stops the
    backup. `truncated` is kept (not sampled) so the rows can be cut back into episodes when a
    buffer is saved as a dataset.
    """

    def __init__(self, capacity: int, obs_shape, action_shape, action_dtype=np.float32,
                 obs_dtype=np.float32, seed: int = 0, device: str | torch.device = "cpu"):
        self.capacity = int(capacity)
        self.device = torch.device(device)
        row_bytes = (2 * np.prod(obs_shape) * np.dtype(obs_dtype).itemsize + np.prod(action_shape) * np.dtype(action_dtype).itemsize
                     + 3 * 4)
        check_fits(self.capacity * float(row_bytes), f"a replay buffer of {self.capacity:,} transitions")
        self.obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((self.capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.truncated = np.zeros(self.capacity, dtype=np.float32)
        self.position = 0  # next row to write
        self.size = 0
        self.rng = np.random.default_rng(seed)
        self._fields = tuple(self._sampled().items())  # sample's (name, array) pairs, built once

    def __len__(self) -> int:
        return self.size

    def add(self, batch: Transitions) -> None:
        """Append every row of `batch` (any leading shape), overwriting the oldest when full."""
        flat = batch.flat()
        self.add_rows(flat.obs, flat.actions, flat.rewards, flat.next_obs, flat.terminated, flat.truncated)

    def add_rows(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
                 terminated: np.ndarray, truncated: np.ndarray | None = None) -> None:
        """Append rows given as arrays with one leading axis (what `add` does after flattening)."""
        n = len(rewards)
        start = self.position
        # a slice where the rows do not wrap: cheaper than an index array (one row per env step)
        rows = slice(start, start + n) if start + n <= self.capacity else (start + np.arange(n)) % self.capacity
        self.obs[rows] = obs
        self.actions[rows] = actions
        self.rewards[rows] = rewards
        self.next_obs[rows] = next_obs
        self.terminated[rows] = terminated
        self.truncated[rows] = 0.0 if truncated is None else truncated
        self.position = (start + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        """A uniform random batch (with replacement) as tensors on the buffer's device."""
        rows = self.rng.integers(0, self.size, size=batch_size)
        # take() gathers rows about 2.5x faster than fancy indexing (array[rows])
        batch = {name: torch.from_numpy(array.take(rows, axis=0)) for name, array in self._fields}
        if self.device.type != "cpu":
            batch = {name: tensor.to(self.device, non_blocking=True) for name, tensor in batch.items()}
        return batch

    def _sampled(self) -> dict[str, np.ndarray]:
        return {"obs": self.obs, "actions": self.actions, "rewards": self.rewards,
                "next_obs": self.next_obs, "terminated": self.terminated}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**self._sampled(), "truncated": self.truncated}

    def rows_in_order(self) -> dict[str, np.ndarray]:
        """Every stored row, oldest first (copies)."""
        order = np.arange(self.size) if self.size < self.capacity else (self.position + np.arange(self.size)) % self.capacity
        return {name: array.take(order, axis=0) for name, array in self._arrays().items()}

    def state_dict(self) -> dict:
        """The filled rows, the write position and the sampling RNG."""
        return {
            **{name: array[: self.size].copy() for name, array in self._arrays().items()},
            "position": self.position,
            "size": self.size,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        size = int(state["size"])
        if size > self.capacity:
            raise ValueError(f"saved buffer holds {size} rows, more than this buffer's capacity {self.capacity}")
        for name, array in self._arrays().items():
            if name == "truncated" and name not in state:  # checkpoints written before it was kept
                array[:size] = 0.0
                continue
            saved = np.asarray(state[name])
            if saved.shape[1:] != array.shape[1:]:
                raise ValueError(f"saved buffer field {name!r} has rows of shape {saved.shape[1:]}, expected {array.shape[1:]}")
            array[:size] = saved
        self.size, self.position = size, int(state["position"])
        self.rng.bit_generator.state = state["rng"]
