"""Train one rlforge run through the CLI and summarise it as JSON: the evaluation curve, the
final evaluation return, wall time, env steps per second over the whole run and after
learning starts, the training-return curve (mean return of the training episodes that ended
in each --curve-every window) and, with --threshold, the first step and the wall time (from
the start of the `rlforge train` process) at which an evaluation reached the threshold.

    python benchmarks/learning_run.py --algo sac --env HalfCheetah-v4 --steps 100000 \
        --out benchmarks/results/sac_halfcheetah_100k.json -- --set torch_threads=1

Arguments after `--` go to `rlforge train` unchanged.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402


def summarise(run_dir: Path, wall: float, learning_starts: int, started: float, curve_every: int,
              threshold: float | None) -> dict:
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    evals = [(int(r["step"]), float(r["value"])) for r in rows if r["tag"] == "eval/return_mean"]
    eval_times = [float(r["wall_time"]) - started for r in rows if r["tag"] == "eval/return_mean"]
    sps = [(int(r["step"]), float(r["value"])) for r in rows if r["tag"] == "charts/sps"]
    after = [v for step, v in sps if step > learning_starts + 1000]
    meta = json.loads((run_dir / "meta.json").read_text())
    result = {
        "final_eval_return": evals[-1][1] if evals else None,
        "eval_curve": evals,
        "wall_seconds": round(wall, 1),
        "steps": meta["step"],
        "sps_overall": round(meta["step"] / wall, 1),
        "sps_after_learning_starts_median": round(sorted(after)[len(after) // 2], 1) if after else None,
        "status": meta["status"],
        "train_return_curve": _binned_returns(rows, curve_every),
    }
    if threshold is not None:
        reached = [(step, t) for (step, value), t in zip(evals, eval_times) if value >= threshold]
        stays = next((i for i in range(len(evals)) if all(v >= threshold for _, v in evals[i:])), None)
        result["threshold"] = threshold
        result["first_eval_at_threshold"] = {"step": reached[0][0], "wall_seconds": round(reached[0][1], 1)} if reached else None
        result["evals_stay_at_threshold_from"] = (
            {"step": evals[stays][0], "wall_seconds": round(eval_times[stays], 1)} if stays is not None else None)
    return result


def _binned_returns(rows: list[dict], every: int) -> list[list[float]]:
    """[window end step, mean return of the training episodes that ended in the window]."""
    bins: dict[int, list[float]] = {}
    for r in rows:
        if r["tag"] == "charts/episode_return":
            end = -(-int(r["step"]) // every) * every
            bins.setdefault(end, []).append(float(r["value"]))
    return [[end, round(sum(v) / len(v), 2)] for end, v in sorted(bins.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algo", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--learning-starts", type=int, default=5000, help="steps to skip in the speed figure")
    parser.add_argument("--curve-every", type=int, default=1000, help="window of the training-return curve (steps)")
    parser.add_argument("--threshold", type=float, help="report when evaluations reach this return")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("train_args", nargs="*", help="extra arguments for rlforge train (after --)")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="rlforge-bench-")) / "run"
    command = ["rlforge", "train", "--algo", args.algo, "--env", args.env, "--steps", str(args.steps),
               "--seed", str(args.seed), "--run-dir", str(run_dir), *args.train_args]
    started, start = time.time(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "rlforge.cli", *command[1:]], check=True)
    wall = time.perf_counter() - start
    result = {"command": " ".join(command), "machine": f"{platform.node()} ({os.cpu_count()} cores)",
              "date": time.strftime("%Y-%m-%d"), "run_dir": str(run_dir),
              **summarise(run_dir, wall, args.learning_starts, started, args.curve_every, args.threshold)}
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("curve")}, indent=2))


if __name__ == "__main__":
    main()
