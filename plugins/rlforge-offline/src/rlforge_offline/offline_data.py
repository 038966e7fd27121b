"""What the offline actor-critic agents of this plugin (awac, iql) keep beside their networks:
the data they learn from (the dataset in a replay buffer, with room for what they collect
online after `offline_steps`; the schedule of gradient steps; on the Pointmass mazes, the
maze's coverage and pictures) and the newest gradient step's statistics.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Progress, Transitions
from rlforge.errors import RLForgeError

from rlforge_offline.discrete import (Coverage, OnlineSchedule, buffer_seed, dataset_buffer, find_maze,
                                      load_discrete_dataset, maze_images)


class OfflineData:
    """The dataset (config keys `dataset`, `dataset_size`) in a ReplayBuffer with `buffer_size`
    rows more for online data (none when the whole run is offline), the OnlineSchedule
    (`learning_starts`) and the Coverage of the maze of `env_id` (None elsewhere)."""

    def __init__(self, algo: str, config, observation_space, action_space, env_id: str | None,
                 device: str | torch.device = "cpu"):
        if not config.dataset:
            raise RLForgeError(f"{algo} learns from a dataset: set dataset=... (an .npz, a CS285 .pkl, a Minari "
                               "dataset or a run folder with dataset/)")
        dataset = load_discrete_dataset(config.dataset, config.dataset_size, observation_space, action_space)
        online_rows = 0 if config.offline_steps is None else config.buffer_size
        self.buffer = dataset_buffer(dataset, len(dataset) + online_rows, buffer_seed(), device)
        self.schedule = OnlineSchedule(config.learning_starts)
        self.maze = find_maze(env_id)
        self.coverage = Coverage(self.maze) if self.maze is not None else None
        if self.coverage is not None:
            self.coverage.add(dataset.obs)
            self.coverage.add(dataset.next_obs)

    def observe(self, batch: Transitions) -> None:
        self.buffer.add(batch)
        self.schedule.observed(len(batch))
        if self.coverage is not None:
            self.coverage.add(batch.obs)
            self.coverage.add(batch.next_obs)

    def steps_due(self, progress: Progress) -> int:
        """Gradient steps this update owes (one offline; one per new env step online)."""
        return self.schedule.due(progress)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        return self.buffer.sample(batch_size)

    def coverage_metrics(self) -> dict[str, float]:
        return self.coverage.metrics() if self.coverage is not None else {}

    def images(self, value_fn) -> dict[str, np.ndarray]:
        """`visits` (the buffer's states) and `value` (value_fn: observations [N, 2] -> [N], at the
        cell centres) on a Pointmass maze; {} elsewhere."""
        if self.maze is None:
            return {}
        return maze_images(self.maze, self.buffer.obs[: len(self.buffer)], value_fn)

    def state_dict(self) -> dict:
        return {"buffer": self.buffer.state_dict(), "schedule": self.schedule.state_dict(),
                "coverage": self.coverage.state_dict() if self.coverage is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.coverage is not None:
            self.coverage.load_state_dict(state["coverage"])


def numpy_fn(net_fn, device: str | torch.device = "cpu"):
    """A torch function of float32 observations [N, obs_dim] (returning [N]) as a NumPy one, for
    the maze pictures; runs without a graph on `device`."""
    def values(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net_fn(torch.as_tensor(obs, dtype=torch.float32, device=device)).numpy(force=True)
    return values


class LatestMetrics:
    """The newest gradient step's statistics, kept as tensors until a metric row wants them as
    floats (one device sync then, none on other steps); checkpointed as floats, so a resumed
    run reports the same values before its first gradient step."""

    def __init__(self):
        self.values: dict[str, torch.Tensor] = {}

    def floats(self) -> dict[str, float]:
        if not self.values:
            return {}
        return dict(zip(self.values, torch.stack([v.float() for v in self.values.values()]).tolist()))

    def state_dict(self) -> dict:
        return self.floats()

    def load_state_dict(self, state: dict) -> None:
        self.values = {name: torch.tensor(value, dtype=torch.float32) for name, value in state.items()}
