"""BC and DAgger as a fraction of the expert, and the BC training-steps sweep.

Runs `rlforge train` one process at a time (one torch thread each) and writes
benchmarks/results/imitation_<env>.json (BC and DAgger per seed: evaluation curve, final
return, fraction of the expert) and, with --sweep, imitation_bc_steps_sweep.json.

  .venv/bin/python plugins/rlforge-imitation/benchmarks/imitation_suite.py --env HalfCheetah-v4 --seeds 1,2,3
  .venv/bin/python plugins/rlforge-imitation/benchmarks/imitation_suite.py --sweep --seeds 1,2,3
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "benchmarks" / "results"
SWEEP = (250, 500, 1000, 2000, 4000, 8000)


def expert_return(env: str) -> dict:
    from rlforge_imitation.experts import shipped_dir

    info = json.loads((shipped_dir() / f"{env}.json").read_text())
    return {"return_mean": info["evaluation"]["return_mean"], "return_std": info["evaluation"]["return_std"],
            "episodes": info["evaluation"]["episodes"], "source": info["source"]}


def train(args: list[str], run_dir: Path) -> dict:
    command = ["rlforge", "train", *args, "--run-dir", str(run_dir), "--set", "torch_threads=1"]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "rlforge.cli", *command[1:]], capture_output=True, text=True,
                            env={**os.environ, "RLFORGE_LOAD_PLUGINS": "imitation,sac"})
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    with open(run_dir / "metrics.csv", newline="") as handle:
        curve = [(int(r["step"]), float(r["value"])) for r in csv.DictReader(handle) if r["tag"] == "eval/return_mean"]
    meta = json.loads((run_dir / "meta.json").read_text())
    return {"command": " ".join(command).replace(str(run_dir), "RUN_DIR"), "eval_curve": curve,
            "final_eval": meta["last_eval"], "wall_seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="HalfCheetah-v4")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--sweep", action="store_true", help="the BC training-steps sweep (HalfCheetah-v4)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--replot", action="store_true", help="only redraw the sweep's plot from its JSON")
    args = parser.parse_args()
    if args.replot:
        plot(json.loads((RESULTS / "imitation_bc_steps_sweep.json").read_text()), RESULTS / "imitation_bc_steps_sweep.png")
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    env = "HalfCheetah-v4" if args.sweep else args.env
    expert = expert_return(env)
    record = {"machine": f"{platform.node()} ({os.cpu_count()} cores)", "date": str(date.today()), "env": env,
              "expert": expert, "eval_episodes": args.eval_episodes, "seeds": seeds}
    with tempfile.TemporaryDirectory(prefix="rlforge-imitation-") as tmp:
        runs = {}
        jobs = ([(f"bc_steps{n}", ["--config", f"experiments/imitation/bc_halfcheetah_steps{n}"]) for n in SWEEP]
                if args.sweep else [(a, ["--algo", a, "--env", env]) for a in ("bc", "dagger")])
        for name, base in jobs:
            runs[name] = {}
            for seed in seeds:
                run = train([*base, "--seed", str(seed), "--set", f"eval_episodes={args.eval_episodes}"],
                            Path(tmp) / f"{name}-s{seed}")
                run["fraction_final"] = run["final_eval"]["return_mean"] / expert["return_mean"]
                run["fraction_best"] = max(v for _, v in run["eval_curve"]) / expert["return_mean"]
                runs[name][seed] = run
                print(f"{name} seed {seed}: final {run['final_eval']['return_mean']:.1f} "
                      f"({run['fraction_final']:.2f} of the expert), {run['wall_seconds']} s", flush=True)
            finals = [r["fraction_final"] for r in runs[name].values()]
            runs[name]["summary"] = {"fraction_final_mean": sum(finals) / len(finals), "fraction_final_min": min(finals),
                                     "fraction_best_mean": sum(r["fraction_best"] for s, r in runs[name].items()
                                                               if s != "summary") / len(seeds)}
    record["runs"] = runs
    name = "imitation_bc_steps_sweep" if args.sweep else f"imitation_{env.split('-')[0].lower()}"
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")
    if args.sweep:
        plot(record, RESULTS / f"{name}.png")


def plot(record: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    steps = list(SWEEP)
    means = [record["runs"][f"bc_steps{n}"]["summary"]["fraction_final_mean"] for n in steps]
    per_seed = [[r["fraction_final"] for s, r in record["runs"][f"bc_steps{n}"].items() if s != "summary"] for n in steps]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for n, values in zip(steps, per_seed):
        ax.scatter([n] * len(values), values, color="tab:blue", alpha=0.4, s=12)
    ax.plot(steps, means, marker="o", color="tab:blue", label="BC (mean of seeds)")
    ax.axhline(1.0, color="gray", linestyle="--", label="expert")
    ax.axhline(0.3, color="tab:red", linestyle=":", label="homework bar (0.3)")
    ax.set_xscale("log")
    ax.set_xticks(steps, [str(n) for n in steps])
    ax.minorticks_off()
    ax.set_xlabel("BC gradient steps (batch 100)")
    ax.set_ylabel("return / expert return")
    ax.set_title(f"BC on {record['env']}, {len(record['seeds'])} seeds, {record['eval_episodes']} eval episodes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
