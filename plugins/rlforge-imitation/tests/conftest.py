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
