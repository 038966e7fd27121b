"""torch's CPU tanh against NumPy's, and rlforge.nn.Tanh (NumPy forward, torch backward).

    python benchmarks/tanh_speed.py [--threads 1] [--out benchmarks/results/tanh_speed_<date>.json]

For each shape: microseconds per call (median of 7 rounds of --calls calls) of torch.tanh,
np.tanh, and forward + backward of a policy layer's activation through nn.Tanh and through
rlforge.nn.Tanh, and the largest difference between the two forwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch import nn

from rlforge.nn import Tanh

SHAPES = [(8, 64), (256, 64), (256, 256), (1024, 64)]


def per_call_us(fn, calls: int) -> float:
    fn()
    rounds = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return round(statistics.median(rounds), 2)


def forward_backward(module: nn.Module, x: torch.Tensor, grad: torch.Tensor):
    def step():
        x.grad = None
        module(x).backward(grad)
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for shape in SHAPES:
        x = torch.randn(*shape, requires_grad=True)
        grad = torch.randn(*shape)
        plain = x.detach()
        rows.append({
            "shape": list(shape),
            "torch_tanh_us": per_call_us(lambda: torch.tanh(plain), args.calls),
            "numpy_tanh_us": per_call_us(lambda: np.tanh(plain.numpy()), args.calls),
            "nn_Tanh_fwd_bwd_us": per_call_us(forward_backward(nn.Tanh(), x, grad), args.calls),
            "rlforge_Tanh_fwd_bwd_us": per_call_us(forward_backward(Tanh(), x, grad), args.calls),
            "max_abs_difference": float((Tanh()(plain) - torch.tanh(plain)).abs().max()),
        })
        print(json.dumps(rows[-1]))
    if args.out:
        meta = {"command": "python benchmarks/tanh_speed.py " + " ".join(
                    f"--{k} {v}" for k, v in vars(args).items() if v is not None),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "torch": torch.__version__,
                "numpy": np.__version__, "threads": args.threads}
        with open(args.out, "w") as f:
            json.dump({"_meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
