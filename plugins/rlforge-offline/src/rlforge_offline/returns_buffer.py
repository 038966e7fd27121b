"""Cal-QL's data: a replay buffer whose rows carry their Monte-Carlo return-to-go, and the
online episodes held back until they end (a return-to-go needs the episode's later rewards).

The return-to-go G_t (rlforge.datasets.returns) is sampled with the rest of a batch, from the
same index draw. Online, each env's transitions wait in `PendingEpisodes` until its episode
ends (terminated or truncated); then they enter the buffer together, with their G_t. So an
online transition becomes sampleable at its episode's end, as in the Cal-QL authors' code,
which collects whole trajectories before adding them.
"""

from __future__ import annotations

import numpy as np

from rlforge.buffers import ReplayBuffer
from rlforge.datasets.returns import episode_returns_to_go

ROW_FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")


class ReturnsBuffer(ReplayBuffer):
    """A ReplayBuffer with one more sampled column, `mc_returns` (float32)."""

    def __init__(self, capacity: int, *args, **kwargs):
        self.mc_returns = np.zeros(int(capacity), dtype=np.float32)  # before the parent builds its field list
        super().__init__(capacity, *args, **kwargs)

    def add_rows(self, obs, actions, rewards, next_obs, terminated, truncated=None, mc_returns=None) -> None:
        n, start = len(rewards), self.position
        rows = slice(start, start + n) if start + n <= self.capacity else (start + np.arange(n)) % self.capacity
        super().add_rows(obs, actions, rewards, next_obs, terminated, truncated)
        self.mc_returns[rows] = 0.0 if mc_returns is None else mc_returns

    def _sampled(self) -> dict[str, np.ndarray]:
        return {**super()._sampled(), "mc_returns": self.mc_returns}


class PendingEpisodes:
    """Each env's unfinished episode (rows already in buffer units), released with its
    returns-to-go when it ends."""

    def __init__(self, num_envs: int, gamma: float):
        self.gamma = float(gamma)
        self.rows: list[dict[str, list]] = [{k: [] for k in ROW_FIELDS} for _ in range(int(num_envs))]

    def add(self, env: int, row: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        """Hold one transition of env `env`; at its episode's end, the whole episode as arrays
        (plus "mc_returns"), else None."""
        held = self.rows[env]
        for key in ROW_FIELDS:
            held[key].append(np.asarray(row[key]))
        if not (bool(row["terminated"]) or bool(row["truncated"])):
            return None
        episode = {key: np.stack(values) for key, values in held.items()}
        episode["mc_returns"] = episode_returns_to_go(episode["rewards"], episode["terminated"], self.gamma)
        self.rows[env] = {k: [] for k in ROW_FIELDS}
        return episode

    def state_dict(self) -> dict:
        return {"envs": [{key: (np.stack(values) if values else np.zeros((0,), np.float32))
                          for key, values in held.items()} for held in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        self.rows = [{key: list(np.asarray(saved[key])) for key in ROW_FIELDS} for saved in state["envs"]]
