"""A run holds NumPy's BLAS to one thread and gives torch the threads it asked for."""

import torch
from threadpoolctl import threadpool_info, threadpool_limits

from rlforge.threads import use_threads


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_use_threads_sets_torch_threads_and_one_blas_thread():
    torch_before = torch.get_num_threads()
    with threadpool_limits(limits=2, user_api="blas"):  # restored on exit, whatever use_threads set
        try:
            use_threads(1)
            assert torch.get_num_threads() == 1
            assert blas_threads() and all(n == 1 for n in blas_threads())
        finally:
            torch.set_num_threads(torch_before)
