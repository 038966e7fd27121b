"""Build D4RL's five MuJoCo locomotion datasets of one env as Minari datasets, one rlforge
command each, printed before it runs:

    python benchmarks/d4rl_datasets.py --env Hopper-v4 --expert Hopper-v4 \\
        --medium RUN/checkpoints/step_N --medium-replay RUN/checkpoints/step_N [--steps 1000000]

  random         rlforge collect -p random                  --steps N   (uniformly random actions)
  medium         rlforge collect -p MEDIUM                  --steps N   (a policy at about a third of the expert's return)
  medium-replay  rlforge dataset create --from-run MEDIUM_REPLAY       (that policy's training replay buffer)
  expert         rlforge collect -p EXPERT                  --steps N
  medium-expert  rlforge dataset create --from medium --from expert    (the two, one after the other)

into MINARI_DATASETS_PATH under `<namespace>/<task>-<kind>-v<version>` (rlforge/hopper-medium-v0,
...; Minari's id: namespace, name, version). `--steps` is D4RL's 1M by default; give a small one
for a quick run. EXPERT is any policy `rlforge collect` takes (a shipped expert, an expert file,
a run or checkpoint folder); MEDIUM and MEDIUM_REPLAY are checkpoint folders (or run
directories: their latest checkpoint). Every dataset stores its recipe (the command, the
policy's checkpoint, the seed, the noise) and the reference returns: D4RL's published ones for
Hopper, HalfCheetah and Walker2d (`--ref d4rl`, the default there), else `--ref-random R
--ref-expert E`. Seeds: random, medium and expert are recorded from --seed, --seed + 1 and
--seed + 2, so no two share their episodes' starts. A summary of what was built (steps,
episodes, the data's mean return and its normalised score) ends the run; `--dry-run` only
prints the commands. The summary's return is the mean over whole episodes (a mix's also counts
the episodes its parts cut at their ends).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

KINDS = ("random", "medium", "medium-replay", "expert", "medium-expert")
D4RL_TASKS = ("Hopper", "HalfCheetah", "Walker2d")


def task_name(env_id: str) -> str:
    """hopper for Hopper-v4: the env's name without its version, in lower case."""
    return env_id.rsplit("/", 1)[-1].split("-v")[0].lower()


def commands(args) -> list[tuple[str, str, list[str]]]:
    """(kind, dataset id, rlforge arguments) of each dataset to build, in build order (the
    mix after its parts)."""
    ids = {kind: f"{args.namespace}/{task_name(args.env)}-{kind}-v{args.version}" for kind in KINDS}
    refs = ["--ref", "d4rl"] if args.ref_random is None else ["--ref-random", str(args.ref_random),
                                                             "--ref-expert", str(args.ref_expert)]
    acting = (["--stochastic"] if args.stochastic else []) + (
        ["--action-noise", str(args.action_noise)] if args.action_noise else [])

    def collect(policy, seed, extra=()):
        return ["collect", "-p", policy, "-e", args.env, "--steps", str(args.steps), "--seed", str(seed), *extra, *refs]

    built = {
        "random": collect("random", args.seed),
        "medium": collect(args.medium, args.seed + 1, acting),
        "medium-replay": ["dataset", "create", "--from-run", args.medium_replay, "-e", args.env, *refs],
        "expert": collect(args.expert, args.seed + 2, acting),
        "medium-expert": ["dataset", "create", "--from", ids["medium"], "--from", ids["expert"], *refs],
    }
    return [(kind, ids[kind], [*built[kind], "--id", ids[kind]]) for kind in KINDS if kind in args.only]


def summary_row(kind: str, dataset_id: str, seconds: float) -> dict:
    from rlforge.datasets import load_dataset, reference_returns

    data = load_dataset(dataset_id)
    stats = data.metadata.get("return_statistics")  # collect's: whole episodes only, not the one cut at the end
    returns = data.episode_returns()
    mean = stats["mean"] if stats else sum(returns) / len(returns) if returns else float("nan")
    refs = reference_returns(data.metadata)
    return {"kind": kind, "id": dataset_id, "steps": len(data), "episodes": len(data.episode_bounds()),
            "return": mean, "score": refs.normalized_score(mean) if refs else float("nan"), "seconds": seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--env", required=True, help="Gymnasium id, e.g. Hopper-v4")
    parser.add_argument("--expert", help="the expert policy: a shipped expert, an expert file, a run or checkpoint folder")
    parser.add_argument("--medium", help="the medium policy: a checkpoint folder (or run directory)")
    parser.add_argument("--medium-replay", help="the checkpoint whose replay buffer is the medium policy's training data")
    parser.add_argument("--steps", type=int, default=1_000_000, help="steps of random, medium and expert (D4RL: 1M)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--namespace", default="rlforge")
    parser.add_argument("--version", type=int, default=0)
    parser.add_argument("--only", default=",".join(KINDS), help="comma-separated kinds to build (default: all five)")
    parser.add_argument("--stochastic", action="store_true", help="medium and expert sample their actions")
    parser.add_argument("--action-noise", type=float, default=0.0, help="Gaussian action noise for medium and expert")
    parser.add_argument("--ref-random", type=float, help="reference return of a random policy (with --ref-expert)")
    parser.add_argument("--ref-expert", type=float, help="reference return of an expert (with --ref-random)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    args.only = [k.strip() for k in args.only.split(",") if k.strip()]
    problems = [f"unknown kind {k!r} (known: {', '.join(KINDS)})" for k in args.only if k not in KINDS]
    needs = {"medium": ("medium",), "medium-replay": ("medium_replay",), "expert": ("expert",)}
    problems += [f"building {kind} needs --{name.replace('_', '-')}" for kind, names in needs.items()
                 if kind in args.only for name in names if getattr(args, name) is None]
    if (args.ref_random is None) != (args.ref_expert is None):
        problems.append("give both --ref-random and --ref-expert, or neither")
    elif args.ref_random is None and task_name(args.env) not in {t.lower() for t in D4RL_TASKS}:
        problems.append(f"D4RL publishes reference returns for {', '.join(D4RL_TASKS)} only: for {args.env} give "
                        "--ref-random R --ref-expert E")
    if args.steps < 1:
        problems.append("--steps must be at least 1")
    if problems:
        print(f"d4rl_datasets: error: {problems[0]}", file=sys.stderr)
        return 2
    rlforge = [sys.executable, "-m", "rlforge.cli"]
    rows = []
    for kind, dataset_id, arguments in commands(args):
        print("rlforge " + " ".join(shlex.quote(a) for a in arguments), flush=True)
        if args.dry_run:
            continue
        start = time.perf_counter()
        result = subprocess.run([*rlforge, *arguments], cwd=Path.cwd())
        if result.returncode != 0:
            print(f"d4rl_datasets: {kind} failed (exit status {result.returncode}); stopping", file=sys.stderr)
            return result.returncode
        rows.append(summary_row(kind, dataset_id, time.perf_counter() - start))
    if rows:
        print(f"\n{'id':<36} {'steps':>10} {'episodes':>9} {'return':>9} {'score':>7} {'time':>8}")
        for r in rows:
            print(f"{r['id']:<36} {r['steps']:>10,} {r['episodes']:>9,} {r['return']:>9.1f} {r['score']:>7.1f} "
                  f"{r['seconds']:>7.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
