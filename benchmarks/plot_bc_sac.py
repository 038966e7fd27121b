"""Plot bc-sac against SAC from scratch on HalfCheetah-v4 at the same env-step budget, from the
JSON summaries `benchmarks/learning_run.py` wrote:

    benchmarks/results/imitation_bc_sac_halfcheetah_30k_seed{1,2,3}.json        (bc-sac)
    benchmarks/results/imitation_bc_sac_baseline_sac_halfcheetah_30k_seed{1,2,3}.json (SAC)

Left: the evaluation return (deterministic policy, 5 episodes) every 5,000 steps; right: the
mean return of the training episodes that ended in each 1,000-step window. Thin lines: seeds;
thick: their mean. Also prints the table of docs/benchmarks.md.

    python benchmarks/plot_bc_sac.py [--out benchmarks/results/imitation_bc_sac_vs_sac.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = {"bc-sac": "imitation_bc_sac_halfcheetah_30k_seed*.json",
        "SAC from scratch": "imitation_bc_sac_baseline_sac_halfcheetah_30k_seed*.json"}
COLORS = {"bc-sac": "tab:blue", "SAC from scratch": "tab:orange"}


def load(pattern: str) -> dict[int, dict]:
    runs = {}
    for path in sorted(RESULTS.glob(pattern)):
        seed = int(path.stem.rsplit("seed", 1)[1])
        runs[seed] = json.loads(path.read_text())
    return runs


def curve(points) -> tuple[np.ndarray, np.ndarray]:
    steps, values = zip(*points)
    return np.asarray(steps), np.asarray(values, dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=RESULTS / "imitation_bc_sac_vs_sac.png")
    args = parser.parse_args()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for name, pattern in RUNS.items():
        runs = load(pattern)
        if not runs:
            raise SystemExit(f"no results match {RESULTS / pattern}")
        for ax, key in zip(axes, ("eval_curve", "train_return_curve")):
            curves = [curve(run[key]) for run in runs.values()]
            for (steps, values), seed in zip(curves, runs):
                ax.plot(steps, values, color=COLORS[name], alpha=0.3, lw=1, marker="." if key == "eval_curve" else None)
            common = sorted(set.intersection(*(set(s.tolist()) for s, _ in curves)))
            mean = [np.mean([v[list(s).index(c)] for s, v in curves]) for c in common]
            ax.plot(common, mean, color=COLORS[name], lw=2.5, marker="o" if key == "eval_curve" else None,
                    label=f"{name} (mean of seeds {', '.join(map(str, runs))})")
        evals = {seed: dict((int(s), v) for s, v in run["eval_curve"]) for seed, run in runs.items()}
        steps = sorted(set.intersection(*(set(e) for e in evals.values())))
        print(f"| {name} | " + " | ".join(
            f"{np.mean([e[s] for e in evals.values()]):,.0f}" for s in steps) + " |")
        for seed, e in evals.items():
            print(f"| {name}, seed {seed} | " + " | ".join(f"{e[s]:,.0f}" for s in steps) + " |")
    axes[0].set_title("evaluation return (deterministic, 5 episodes)")
    axes[1].set_title("training episodes' return (1,000-step windows)")
    for ax in axes:
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("return")
    axes[0].legend(loc="lower right")
    fig.suptitle("HalfCheetah-v4: bc-sac (imitation-seeded SAC) vs SAC from scratch, same 30,000-step budget")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
