"""An exported file as a Policy, so `rlforge eval FILE` runs it through the same evaluation
(and video) code as a checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlforge.agent import Policy
from rlforge.errors import RLForgeError
from rlforge.export.files import Runner


class ExportedPolicy(Policy):
    """The file's deterministic action for every observation (an export has no other)."""

    def __init__(self, path: Path):
        super().__init__()
        self.runner = Runner(path)
        self.metadata = self.runner.metadata

    def act(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return self.runner(obs)

    def check_env(self, env_id: str, observation_space) -> None:
        """A one-line error where `env_id`'s observations are not the ones the file was made for."""
        stored = self.metadata.get("observation_shape")
        if stored is not None and tuple(stored) != tuple(observation_space.shape):
            raise RLForgeError(f"{str(self.runner.path)!r} takes observations of shape {tuple(stored)}; "
                               f"{env_id} gives {tuple(observation_space.shape)}")
