"""float32 matrix products at torch's "highest" and "medium" precision on this CPU: time per
product and relative error against float64, for the shapes rlforge's networks use
(rows x inner -> outer; one torch thread; median of alternating chunks).

    python benchmarks/matmul_precision.py [--out benchmarks/results/matmul_precision_<date>.json]

"medium" lets oneDNN use bfloat16 dot-product instructions (AVX512-BF16, AMX) where the CPU
has them; `rlforge.precision` decides from this kind of measurement where it pays off.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402

SHAPES = [(1, 17, 256), (1, 256, 256), (128, 64, 64), (256, 64, 64), (256, 23, 256), (16, 256, 256),
          (64, 256, 256), (256, 256, 256), (512, 256, 256)]
PRECISIONS = ("highest", "medium")


def time_product(a, b, c, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        torch.addmm(c, a, b)
    return (time.perf_counter() - start) / n


def relative_error(a, b, c) -> float:
    exact = torch.addmm(c.double(), a.double(), b.double())
    return float((torch.addmm(c, a, b).double() - exact).abs().max() / exact.abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for m, k, n in SHAPES:
        # inputs whose low bits matter: bfloat16 inputs would round the 1e-3 variations away
        a = 1.0 + 1e-3 * torch.randn(m, k, generator=generator)
        b, c = torch.randn(k, n, generator=generator), torch.randn(n, generator=generator)
        repeats = max(20, int(2e8 / (m * k * n + 2e5)))
        times = {p: [] for p in PRECISIONS}
        errors = {}
        for _ in range(args.chunks):
            for p in PRECISIONS:
                torch.set_float32_matmul_precision(p)
                time_product(a, b, c, 5)  # warm-up
                times[p].append(time_product(a, b, c, repeats))
                errors[p] = relative_error(a, b, c)
        torch.set_float32_matmul_precision("highest")
        row = {"shape": [m, k, n], **{f"us_{p}": round(1e6 * statistics.median(times[p]), 1) for p in PRECISIONS},
               **{f"rel_error_{p}": float(f"{errors[p]:.2e}") for p in PRECISIONS}}
        rows.append(row)
        print(json.dumps(row))
    result = {"command": "python benchmarks/matmul_precision.py", "date": time.strftime("%Y-%m-%d %H:%M"),
              "machine": f"{platform.node()} ({os.cpu_count()} cores), torch {torch.__version__}, "
                         f"capability {torch.backends.cpu.get_cpu_capability()}",
              "load_average": os.getloadavg(), "rows": rows}
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
