"""Does PPO learn as well with NumPy acting as with torch acting? Many seeds, both samplers.

    python benchmarks/ppo_sampler_check.py [--seeds 1-16] [--steps 20480] [--out benchmarks/results/ppo_sampler_<date>.json]

PPO on CartPole-v1 with the speed harness's settings (benchmarks/speed.py), run in-process
for each seed twice: acting through `PGPolicy`'s NumPy pass (the default on the CPU; the
categorical draw from NumPy's generator) and through its torch modules (`torch.multinomial`).
For each run: the mean return of the training episodes that ended in each quarter of the
budget, the step at which the mean of the last 10 training episodes first reached 475, and a
final deterministic evaluation of 10 episodes. Prints the means over seeds and a paired t
statistic of (NumPy - torch) for each quarter.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from speed import SETTINGS, _yaml, rlforge_sets  # noqa: E402
from results_json import write_json  # noqa: E402


def seeds_from(text: str) -> list[int]:
    """"5" or "1-16" as a list of seeds."""
    first, _, last = text.partition("-")
    try:
        seeds = list(range(int(first), int(last or first) + 1))
    except ValueError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(f"expected a seed or a range like 1-16, got {text!r}")
    return seeds


def train(seed: int, steps: int, numpy_acting: bool) -> dict:
    from rlforge.runs import Run
    from rlforge.training import build_engine, prepare

    sets = {**rlforge_sets("ppo", {**SETTINGS["ppo"], "seed": seed}, 1, "cpu"), "eval_every": 0,
            "total_steps": steps, "log_every": steps}
    engine = build_engine(*prepare("ppo", "CartPole-v1", None, [f"{k}={_yaml(v)}" for k, v in sets.items()], {}))
    if not numpy_acting:
        engine.agent.policy.numpy_net = None
    run = Run(Path("unused"), "ppo", "CartPole-v1", seed)  # Engine.iterate only counts steps on it
    episodes: list[tuple[int, float]] = []
    while run.step < steps:
        engine.iterate(run)
        episodes += [(run.step, r) for r in engine.collector.finished_returns]
    quarters = [[r for step, r in episodes if q * steps / 4 < step <= (q + 1) * steps / 4] for q in range(4)]
    solved = next((step for i, (step, _) in enumerate(episodes)
                   if i >= 9 and statistics.fmean(r for _, r in episodes[i - 9:i + 1]) >= 475), None)
    evaluation = engine.evaluate_now(run.step).summary["return_mean"]
    engine.close()
    return {"quarter_means": [round(statistics.fmean(q), 1) if q else None for q in quarters],
            "solved_at_step": solved, "eval_return": evaluation}


def paired_t(differences: list[float]) -> float:
    """The paired t statistic (NaN with fewer than two seeds or no spread)."""
    if len(differences) < 2:
        return float("nan")
    sd = statistics.stdev(differences)
    return statistics.fmean(differences) / (sd / math.sqrt(len(differences))) if sd > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=seeds_from, default="1-16", help="a seed or a range, e.g. 1-16")
    parser.add_argument("--steps", type=int, default=20_480)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    runs = {"numpy": {}, "torch": {}}
    for seed in args.seeds:
        for sampler in runs:
            runs[sampler][seed] = train(seed, args.steps, sampler == "numpy")
            print(f"seed {seed:3d} {sampler:5s} {runs[sampler][seed]}", flush=True)
    summary = {}
    for q in range(4):
        pairs = [(runs["numpy"][s]["quarter_means"][q], runs["torch"][s]["quarter_means"][q]) for s in runs["numpy"]]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        summary[f"quarter_{q + 1}"] = {"numpy_mean": round(statistics.fmean(a for a, _ in pairs), 1),
                                       "torch_mean": round(statistics.fmean(b for _, b in pairs), 1),
                                       "paired_t": round(paired_t([a - b for a, b in pairs]), 2)}
    for sampler in runs:
        solved = [r["solved_at_step"] for r in runs[sampler].values()]
        summary[f"{sampler}_solved"] = f"{sum(s is not None for s in solved)} of {len(solved)}"
        median = statistics.median(s if s is not None else math.inf for s in solved)  # unsolved counts as last
        summary[f"{sampler}_median_solve_step"] = None if median == math.inf else median
        summary[f"{sampler}_eval_mean"] = round(statistics.fmean(r["eval_return"] for r in runs[sampler].values()), 1)
    result = {"command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M"),
              "steps": args.steps, "summary": summary, "runs": runs}
    print(json.dumps(summary, indent=2))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
