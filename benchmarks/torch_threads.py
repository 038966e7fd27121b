"""rlforge's training speed at different `torch_threads`, interleaved: what the default should be.

    python benchmarks/torch_threads.py --algos sac,dqn --threads 1,2 --repeats 2 \
        --out benchmarks/results/torch_threads_<date>.json

Each run is the speed harness's rlforge run (benchmarks/speed.py, its settings in
speed_settings.py: SAC on HalfCheetah-v4 with 256-wide networks, DQN on CartPole-v1 with
64-wide ones, PPO on CartPole-v1), the thread counts in a rotating order within each repeat so
that whatever else the machine runs hits every count alike. It reports env steps/s after
learning starts (PPO: its time to solve), each run's CPU seconds, and the load averages: run it
on a quiet machine and on a busy one, the two situations a default must serve.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402
from speed import run_rlforge  # noqa: E402
from speed_settings import SETTINGS, TINY  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", default="sac,dqn", help="comma-separated, of " + ", ".join(SETTINGS))
    parser.add_argument("--threads", default="1,2", help="comma-separated torch_threads values")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="a few seconds per run: checks that it runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    algos = [a for a in args.algos.split(",") if a]
    try:
        counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads takes whole numbers, got {args.threads!r}")
    if set(algos) - set(SETTINGS) or not counts or min(counts) < 1 or args.repeats < 1:
        parser.error(f"--algos of {', '.join(SETTINGS)}; --threads of positive numbers; --repeats >= 1")
    runs = []
    with tempfile.TemporaryDirectory(prefix="torch_threads_") as scratch:
        for repeat in range(args.repeats):
            for algo in algos:
                settings = {**SETTINGS[algo], **(TINY[algo] if args.tiny else {})}
                order = counts[repeat % len(counts):] + counts[:repeat % len(counts)]
                for threads in order:
                    load = os.getloadavg()[0]
                    result = run_rlforge(algo, settings, threads, "cpu", Path(scratch), len(runs), None)
                    runs.append({"algo": algo, "threads": threads, "repeat": repeat, "load_before": load, **result})
                    figure = result.get("sps") or result.get("seconds_to_solve")
                    print(f"{algo:5} threads {threads}: {figure:9.1f} ({'s to solve' if algo == 'ppo' else 'env steps/s'}),"
                          f" {result['cpu_s'] / result['wall_s']:.2f} cores used, load {load:.1f}", flush=True)
    summary = {}
    for algo in algos:
        key = "seconds_to_solve" if algo == "ppo" else "sps"
        summary[algo] = {str(t): statistics.median(r[key] for r in runs if r["algo"] == algo and r["threads"] == t)
                         for t in counts}
        print(f"{algo}: median {key} by torch_threads " + ", ".join(f"{t}: {v:.1f}" for t, v in summary[algo].items()))
    if args.out:
        write_json(args.out, {"command": "python " + " ".join(sys.argv), "runs": runs, "summary": summary,
                              "cpus": os.cpu_count(), "load_end": os.getloadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
