"""How many threads a run's math may use."""

from __future__ import annotations

import os

import torch
from threadpoolctl import threadpool_limits


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def use_threads(torch_threads: int | None) -> None:
    """torch's intra-op threads for the updates (`torch_threads`, or up to 4), and NumPy's BLAS
    on one thread. rlforge's NumPy products are a few rows at a time (acting through
    `NumpyMLP`), too small for a second thread to help; on a busy machine, waiting for
    OpenBLAS's second thread made each DQN action on CartPole cost about 1 ms instead of
    50 us (cProfile of `rlforge train --algo dqn --env CartPole-v1` beside another run)."""
    torch.set_num_threads(torch_threads or default_threads())
    threadpool_limits(limits=1, user_api="blas")
