"""Forward + backward time of the layers whose CPU cost is not their arithmetic, each next to the
formula it replaced (docs/performance.md#ensemble-output-layer, #crossq-step):

  ensemble output layer   two critics' last layer (256 -> 1): torch.baddbmm with one output
                          column (before) vs rlforge.nn.EnsembleLinear's multiply-and-sum
  batch renormalisation   CrossQ's training pass over the two critics' joint batch: autograd
                          through torch.var_mean (before), through the centred two-pass
                          formula, and rlforge.batch_renorm's written-out backward (now)

plus, for scale, the float32 matrix-product rate of one 256x256x256 torch.mm (GFLOP/s), at
batch 256 (SAC's critic batch) and 512 (CrossQ's joint batch), one torch thread; the
variants alternate in rounds and each figure is the median over rounds (the machine is shared).

    python benchmarks/layer_speed.py --rounds 7 --out benchmarks/results/layer_speed_<date>.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from rlforge.batch_renorm import BatchRenorm
from rlforge.nn import EnsembleLinear

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402

MEMBERS, WIDTH, EPS = 2, 256, 1e-3


def output_layer_variants(rows: int) -> dict:
    layer = EnsembleLinear(MEMBERS, WIDTH, 1)
    x = torch.randn(MEMBERS, rows, WIDTH, requires_grad=True)
    grad = torch.randn(MEMBERS, rows, 1)

    def batched_product():
        torch.baddbmm(layer.bias, x, layer.weight).backward(grad)

    def multiply_and_sum():
        layer(x).backward(grad)

    return {"baddbmm (before)": batched_product, "EnsembleLinear (now)": multiply_and_sum}


def renorm_variants(rows: int) -> dict:
    layer = BatchRenorm(WIDTH, MEMBERS, warmup_steps=0).train()
    x = torch.randn(MEMBERS, rows, WIDTH, requires_grad=True)
    grad = torch.randn(MEMBERS, rows, WIDTH)

    def through(var_mean):
        def run():
            var, mean = var_mean(x)
            inv_std = torch.rsqrt(var + EPS)
            with torch.no_grad():
                inv_running_std = torch.rsqrt(layer.running_var + EPS)
                r = (inv_running_std / inv_std).clamp_(1 / 3, 3)
                d = ((mean - layer.running_mean) * inv_running_std).clamp_(-5, 5)
            x_hat = torch.addcmul(d, (x - mean) * inv_std, r)
            torch.addcmul(layer.bias, x_hat, layer.weight).backward(grad)
        return run

    def centred(t):
        mean = t.mean(dim=-2, keepdim=True)
        return ((t - mean) ** 2).mean(dim=-2, keepdim=True), mean

    def module():
        layer(x).backward(grad)

    return {"autograd, torch.var_mean (before)": through(lambda t: torch.var_mean(t, dim=-2, keepdim=True, correction=0)),
            "autograd, centred two-pass": through(centred), "BatchRenorm (now)": module}


def time_call(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def measure(variants: dict, rounds: int, calls: int) -> dict:
    for fn in variants.values():  # warm-up
        time_call(fn, 10)
    samples = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            samples[name].append(time_call(variants[name], calls))
    return {name: round(statistics.median(values), 1) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100, help="calls per variant per round")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {"_meta": {"threads": 1, "rounds": args.rounds, "calls": args.calls, "torch": torch.__version__,
                         "load_average_before": list(os.getloadavg()), "unit": "microseconds, forward + backward (but matmul_gflops_256)"}}
    a, b = torch.randn(WIDTH, WIDTH), torch.randn(WIDTH, WIDTH)
    matmul_us = measure({"mm": lambda: torch.mm(a, b)}, args.rounds, args.calls)["mm"]
    results["matmul_gflops_256"] = round(2 * WIDTH**3 / matmul_us / 1e3, 1)
    print(f"torch.mm 256x256x256: {results['matmul_gflops_256']} GFLOP/s")
    for rows in (256, 512):
        for name, variants in (("ensemble output layer", output_layer_variants(rows)),
                               ("batch renormalisation", renorm_variants(rows))):
            medians = measure(variants, args.rounds, args.calls)
            results[f"{name}, batch {rows}"] = medians
            print(f"{name}, batch {rows}: " + ", ".join(f"{k} {v:,.0f} us" for k, v in medians.items()))
    results["_meta"]["load_average_after"] = list(os.getloadavg())
    if args.out:
        write_json(args.out, results)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
