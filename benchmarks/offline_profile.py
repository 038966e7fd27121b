"""Where an offline gradient step's time goes, for the Box-action offline algorithms at D4RL
locomotion size, next to the floor (the step's bare math on one fixed batch).

    python benchmarks/offline_profile.py --algos td3bc,iql,awac,cql --rounds 5 --steps 100 \
        --out benchmarks/results/offline_profile_<date>.json
    python benchmarks/offline_profile.py --algos iql,cql --torch-profiler     # operator tables
    python benchmarks/offline_profile.py --algos td3bc,iql --compiled         # eager and compile_update: true

Each algorithm is built as `rlforge train --algo ALGO --env HalfCheetah-v4` builds it (the
preset's networks and batch: configs/<algo>/HalfCheetah-v4.yaml), on a dataset of `--rows`
random transitions of HalfCheetah's shapes (17 observations, 6 actions; the values do not
change the arithmetic). Three measurements alternate in rounds, `--steps` gradient steps each,
one torch thread, at the matmul precision the engine picks for the run:

  update    agent.update as the engine calls it offline: the index draw and gathers of a batch
            from the dataset, the gradient step, the metric bookkeeping (a metric row every
            log_every steps, as in a run)
  sampling  the batch draw alone (data.sample)
  floor     agent.gradient_step on one fixed batch in a tight loop: the bare update math (no
            sampling, no metrics)

Figures are medians over the rounds in ms per gradient step; `update / floor` says what the
step costs beyond its math. With --torch-profiler, torch.profiler's operator table of
`--steps` floor steps per algorithm (self CPU time, top operators) instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402

ALGOS = ("td3bc", "iql", "awac", "cql")
COMPILABLE = ("td3bc", "iql")  # compile_update: their gradient step as one torch.compile graph
ENV = "HalfCheetah-v4"
OBS_DIM, ACT_DIM = 17, 6


def write_random_dataset(path: Path, rows: int, seed: int = 0) -> str:
    """`rows` random transitions of HalfCheetah's shapes, in 1,000-step episodes, as an .npz."""
    from rlforge.datasets import Dataset, save_dataset

    rng = np.random.default_rng(seed)
    truncated = np.zeros(rows, bool)
    truncated[999::1000] = True
    dataset = Dataset(obs=rng.standard_normal((rows, OBS_DIM), dtype=np.float32),
                      actions=rng.uniform(-1, 1, (rows, ACT_DIM)).astype(np.float32),
                      rewards=rng.standard_normal(rows, dtype=np.float32),
                      next_obs=rng.standard_normal((rows, OBS_DIM), dtype=np.float32),
                      terminated=np.zeros(rows, bool), truncated=truncated,
                      metadata={"env": ENV, "description": "random transitions for benchmarks/offline_profile.py"})
    return str(save_dataset(dataset, path))


def build_engine(algo: str, dataset: str, overrides: list[str]):
    from rlforge.training import build_engine as build, prepare

    sets = [f"dataset={dataset}", "torch_threads=1", "eval_every=0", *overrides]
    return build(*prepare(algo, ENV, None, sets, {}))


def timed(run, steps: int) -> float:
    """ms per step of `run(i)` over `steps` steps."""
    start = time.perf_counter()
    for i in range(steps):
        run(i)
    return (time.perf_counter() - start) * 1e3 / steps


def measurements(engine, steps: int) -> dict:
    """The three measurements of one round (callables of the step index)."""
    from rlforge.agent import Progress

    agent = engine.agent
    log_every = max(1, engine.config.run.log_every)
    fixed = agent.data.sample(agent.config.batch_size)

    def update(i):
        agent.update(Progress(step=i, total_steps=1 << 40, iteration=i, metrics_due=(i + 1) % log_every == 0,
                              offline=True))

    def sampling(i):
        agent.data.sample(agent.config.batch_size)

    def floor(i):
        agent.gradient_step(fixed, Progress(step=i, total_steps=1 << 40, iteration=i, offline=True))

    return {"update": update, "sampling": sampling, "floor": floor}


def profile_rounds(engines: dict, rounds: int, steps: int) -> dict:
    """Every algorithm's three measurements, interleaved round by round (rotating the order)."""
    from rlforge.precision import matmul_precision

    figures = {algo: {part: [] for part in ("update", "sampling", "floor")} for algo in engines}
    runs = {algo: measurements(engine, steps) for algo, engine in engines.items()}
    for algo, engine in engines.items():  # warm-up: first-call allocations and lazy state out of the figures
        with matmul_precision(engine.update_precision):
            for run in runs[algo].values():
                timed(run, 5)
    order = list(engines)
    for r in range(rounds):
        for algo in order[r % len(order):] + order[:r % len(order)]:
            with matmul_precision(engines[algo].update_precision):
                for part, run in runs[algo].items():
                    figures[algo][part].append(timed(run, steps))
        print(f"round {r + 1}/{rounds}: " + ", ".join(
            f"{a} {figures[a]['update'][-1]:.1f}/{figures[a]['floor'][-1]:.1f}" for a in engines), flush=True)
    return figures


def summary(figures: dict, engines: dict) -> dict:
    out = {}
    for algo, parts in figures.items():
        medians = {part: statistics.median(values) for part, values in parts.items()}
        ratios = [u / f for u, f in zip(parts["update"], parts["floor"])]
        out[algo] = {**{f"{part}_ms": round(value, 3) for part, value in medians.items()},
                     "update_over_floor_paired": round(statistics.median(ratios), 3),
                     "steps_per_s": round(1e3 / medians["update"], 1),
                     "precision": engines[algo].update_precision}
    return out


def torch_profiler_tables(engines: dict, steps: int, rows: int = 15) -> dict:
    from torch.profiler import ProfilerActivity, profile

    from rlforge.precision import matmul_precision

    tables = {}
    for algo, engine in engines.items():
        floor = measurements(engine, steps)["floor"]
        with matmul_precision(engine.update_precision):
            timed(floor, 5)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                timed(floor, steps)
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]
        tables[algo] = [{"op": e.key, "self_ms_per_step": round(e.self_cpu_time_total / 1e3 / steps, 3),
                         "share": round(e.self_cpu_time_total / total, 4), "calls_per_step": e.count / steps}
                        for e in top]
        print(f"\n{algo}: torch.profiler, {steps} floor steps, {total / 1e3 / steps:.2f} ms of self CPU time per step")
        for row in tables[algo]:
            print(f"  {row['op']:<40} {row['self_ms_per_step']:8.3f} ms {100 * row['share']:5.1f}%  "
                  f"x{row['calls_per_step']:g}")
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", default=",".join(ALGOS), help=f"comma-separated, of {', '.join(ALGOS)}")
    parser.add_argument("--rows", type=int, default=1_000_000, help="dataset transitions (D4RL's: 1M)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="gradient steps per measurement")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every algorithm, e.g. matmul_precision=highest")
    parser.add_argument("--compiled", action="store_true",
                        help="also td3bc and iql with compile_update: true ('ALGO compiled'), in the same rounds")
    parser.add_argument("--torch-profiler", action="store_true", help="operator tables of the floor instead")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    algos = [a for a in args.algos.split(",") if a]
    unknown = sorted(set(algos) - set(ALGOS))
    if unknown or not algos or args.rows < 1000 or args.rounds < 1 or args.steps < 1:
        parser.error(f"--algos of {', '.join(ALGOS)} (unknown: {', '.join(unknown) or 'none'}), --rows >= 1000, "
                     "--rounds and --steps >= 1")
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        dataset = write_random_dataset(Path(scratch) / "halfcheetah_random.npz", args.rows)
        engines = {algo: build_engine(algo, dataset, args.sets) for algo in algos}
        if args.compiled:  # compiled in the warm-up steps, before any timed round
            engines.update({f"{algo} compiled": build_engine(algo, dataset, [*args.sets, "compile_update=true"])
                            for algo in algos if algo in COMPILABLE})
        if args.torch_profiler:
            result = {"torch_profiler": torch_profiler_tables(engines, args.steps)}
        else:
            figures = profile_rounds(engines, args.rounds, args.steps)
            result = {"summary": summary(figures, engines), "rounds": figures}
            print(f"\n{'algorithm':<15} {'update':>9} {'sampling':>9} {'floor':>9} {'update/floor':>13}  (ms per step)")
            for algo, row in result["summary"].items():
                print(f"{algo:<15} {row['update_ms']:9.2f} {row['sampling_ms']:9.3f} {row['floor_ms']:9.2f} "
                      f"{row['update_over_floor_paired']:13.3f}")
        for engine in engines.values():
            engine.close()
    result.update({"command": "python " + " ".join(sys.argv), "env": ENV, "rows": args.rows, "threads": 1,
                   "load_average": os.getloadavg()})
    if args.out:
        write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
