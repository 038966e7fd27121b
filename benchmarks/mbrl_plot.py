"""Plots of the model-based benchmark runs (benchmarks/mbrl_suite.sh): evaluation return against
env steps for CEM vs random shooting on HalfCheetah-v4, SAC vs Dyna vs MBPO on HalfCheetah-v4,
and the Reacher-v4 ablation; PNGs next to the JSON results.

    .venv/bin/python benchmarks/mbrl_plot.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).parent / "results"
FIGURES = {
    "mbrl_halfcheetah_planners.png": ("HalfCheetah-v4 MPC planners (200-step episodes)",
                                      {"random shooting, 500 sequences": "mbrl_halfcheetah_random",
                                       "CEM, 4 x 125 sequences": "mbrl_halfcheetah_cem"}),
    "mbrl_halfcheetah_sac_dyna_mbpo.png": ("HalfCheetah-v4: SAC vs Dyna vs MBPO",
                                           {"SAC (rollout 0)": "mbrl_halfcheetah_sac",
                                            "Dyna (rollout 1)": "mbrl_halfcheetah_dyna",
                                            "MBPO (rollout 10)": "mbrl_halfcheetah_mbpo"}),
    "mbrl_reacher_ablation.png": ("Reacher-v4 MPC ablation",
                                  {"base: ensemble 3, 1000 seq, horizon 10": "mbrl_reacher_ablation",
                                   "ensemble 1": "mbrl_reacher_ablation_ensemble1",
                                   "ensemble 5": "mbrl_reacher_ablation_ensemble5",
                                   "100 sequences": "mbrl_reacher_ablation_sequences100",
                                   "horizon 5": "mbrl_reacher_ablation_horizon5",
                                   "horizon 30": "mbrl_reacher_ablation_horizon30"}),
}


def bars(png: str, title: str, runs: dict) -> None:
    """Final evaluation returns as bars (runs with a single, final evaluation)."""
    found = {label: json.loads((RESULTS / f"{name}.json").read_text())["final_eval_return"]
             for label, name in runs.items() if (RESULTS / f"{name}.json").exists()}
    if not found:
        return
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(found) + 1.5))
    ax.barh(list(found), list(found.values()), color="C0")
    for i, value in enumerate(found.values()):
        ax.text(0, i, f" {value:.1f} ", va="center", ha="left" if value < 0 else "right", color="black")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("final evaluation return (mean over episodes)")
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(RESULTS / png, dpi=100)
    plt.close(fig)
    print("wrote", RESULTS / png)


def main() -> None:
    for png, (title, runs) in FIGURES.items():
        curves = [json.loads((RESULTS / f"{n}.json").read_text())["eval_curve"]
                  for n in runs.values() if (RESULTS / f"{n}.json").exists()]
        if all(len(c) == 1 for c in curves):  # one final evaluation per run: bars
            bars(png, title, runs)
            continue
        fig, ax = plt.subplots(figsize=(6.5, 4))
        drawn = 0
        for label, name in runs.items():
            path = RESULTS / f"{name}.json"
            if not path.exists():
                continue
            curve = json.loads(path.read_text())["eval_curve"]
            ax.plot([s for s, _ in curve], [v for _, v in curve], "o-", label=label)
            drawn += 1
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xlabel("env steps")
        ax.set_ylabel("evaluation return (mean)")
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(RESULTS / png, dpi=100)
        plt.close(fig)
        print("wrote", RESULTS / png)


if __name__ == "__main__":
    main()
