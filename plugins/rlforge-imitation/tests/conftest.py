"""Fixtures of the imitation tests."""

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))  # cli_helpers

from imitation_helpers import cs285_expert  # noqa: E402


@pytest.fixture
def pendulum_expert(tmp_path) -> Path:
    """A CS285-format expert pickle for Pendulum-v1 (3 observations, 1 action), random weights."""
    path = tmp_path / "pendulum_expert.pkl"
    path.write_bytes(pickle.dumps(cs285_expert(np.random.default_rng(0), obs_dim=3, act_dim=1, hidden=(16, 16))))
    return path


@pytest.fixture
def pendulum_files(tmp_path, pendulum_expert):
    """A dataset of the random-weight expert's Pendulum episodes (recorded through `rlforge
    collect`'s code) and tiny settings, as config overrides for bc and dagger."""
    from gymnasium import spaces

    from rlforge_imitation.commands import rollouts
    from rlforge_imitation.datasets import save_dataset
    from rlforge_imitation.experts import load_expert

    expert = load_expert(str(pendulum_expert), None, spaces.Box(-2.0, 2.0, (1,), np.float32))
    data = save_dataset(rollouts(expert, "Pendulum-v1", 2, seed=0), tmp_path / "pendulum.npz")
    return {"dataset": str(data), "hidden": [16], "collect_steps": 50, "train_steps": 10, "train_batch_size": 32}
