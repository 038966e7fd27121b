"""BC and DAgger with the CS285 course's own expert files (issue 20), against the issue's bars.

Reads the course's expert policies and expert data from a folder (default ../shared/cs285,
beside the checkout: Hopper.pkl, expert_data_Hopper-v4.pkl, Walker2d.pkl, ...); the tests never
do, a user's clone has none. Runs `rlforge train` one process at a time (one torch thread) with
the experiment configs (configs/experiments/imitation/{bc,dagger}_<env>.yaml) and
10 evaluation episodes, and writes benchmarks/results/imitation_dagger_cs285_<env>.json:
per seed the evaluation curve, the final return and its fraction of the expert, and whether
the bars hold (DAgger: final >= 0.95 of the expert and its last three evaluations >= 0.85;
BC on Hopper: at or above the course's published BC result, about 1,126).

  .venv/bin/python plugins/rlforge-imitation/benchmarks/imitation_dagger_cs285.py --env Hopper-v4 --seeds 1,2,3
  .venv/bin/python plugins/rlforge-imitation/benchmarks/imitation_dagger_cs285.py --env Walker2d-v4 --seeds 1,2,3
  ... --algos dagger --set labels=clipped --tag _labels_clipped   (DAgger as before the fix)
  ... --algos dagger --recheck 50     (also each final policy over 50 more episodes, other starts)

--recheck N evaluates each run's final policy again over N episodes seeded from 10,000 (the runs'
own evaluations start elsewhere), so a rare fall shows as a rate rather than as luck of 10
episodes; it is recorded beside the run and does not change the bars.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imitation_suite import RESULTS, ROOT, train  # noqa: E402

COURSE_BC = {"Hopper-v4": 1126.0}  # the course's published BC result on Hopper-v4 (the bar)
DAGGER_FINAL, DAGGER_LAST3 = 0.95, 0.85


def course_files(folder: Path, env: str) -> tuple[Path, Path]:
    name = env.split("-")[0]
    expert, data = folder / f"{name}.pkl", folder / f"expert_data_{env}.pkl"
    for path in (expert, data):
        if not path.is_file():
            raise SystemExit(f"{path} is missing: pass --files FOLDER holding the course's hw1 files")
    return expert, data


def cli_json(*args: str) -> dict:
    """The JSON an `rlforge ... --json` command prints; its error ends the benchmark."""
    result = subprocess.run([sys.executable, "-m", "rlforge.cli", *args, "--json"], capture_output=True, text=True,
                            env={**os.environ, "RLFORGE_LOAD_PLUGINS": "imitation,sac"})
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout)


def expert_return(expert: Path, env: str, episodes: int) -> dict:
    """The course expert's deterministic return, measured as the learners' are (10 episodes)."""
    return cli_json("expert", "eval", str(expert), "--env", env, "--episodes", str(episodes))


def recheck(run_dir: Path, episodes: int) -> dict:
    """The final policy of run_dir over `episodes` more deterministic episodes (seeds 10,000 on)."""
    report = cli_json("eval", str(run_dir), "--episodes", str(episodes), "--seed", "10000")
    return {"episodes": episodes, "seed": 10000, "return": report["return"], "length": report["length"]}


def judge(algo: str, env: str, run: dict, expert: float) -> None:
    """Fractions of the expert and the issue's bar for this run, added to `run`."""
    curve = [value for _, value in run["eval_curve"]]
    run["fraction_final"] = run["final_eval"]["return_mean"] / expert
    run["fractions"] = [round(v / expert, 3) for v in curve]
    if algo == "dagger":
        run["passes"] = run["fraction_final"] >= DAGGER_FINAL and min(run["fractions"][-3:]) >= DAGGER_LAST3
    elif env in COURSE_BC:
        run["passes"] = run["final_eval"]["return_mean"] >= COURSE_BC[env]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="Hopper-v4")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--files", type=Path, default=ROOT.parent / "shared" / "cs285")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="KEY=VALUE for every run")
    parser.add_argument("--tag", default="", help="suffix of the result file's name")
    parser.add_argument("--algos", default="bc,dagger")
    parser.add_argument("--recheck", type=int, default=0, help="evaluate each final policy over N more episodes")
    args = parser.parse_args()
    expert_path, data_path = course_files(args.files, args.env)
    expert = expert_return(expert_path, args.env, args.eval_episodes)
    seeds = [int(s) for s in args.seeds.split(",")]
    record = {"machine": f"{platform.node()} ({os.cpu_count()} cores)", "date": str(date.today()), "env": args.env,
              "expert": expert, "eval_episodes": args.eval_episodes, "seeds": seeds, "overrides": args.overrides,
              "bars": {"dagger_final": DAGGER_FINAL, "dagger_last3": DAGGER_LAST3, "course_bc": COURSE_BC.get(args.env)}}
    name = args.env.split("-")[0].lower()
    shown = {str(expert_path): f"CS285/{expert_path.name}", str(data_path): f"CS285/{data_path.name}"}
    runs = {}
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"rlforge-imitation-cs285-{os.getpid()}"
    for algo in args.algos.split(","):
        runs[algo] = {}
        files = [f"dataset={data_path}"] + ([f"expert={expert_path}"] if algo == "dagger" else [])
        for seed in seeds:
            extra = [x for kv in [*files, f"eval_episodes={args.eval_episodes}", *args.overrides] for x in ("--set", kv)]
            run = train(["--config", f"experiments/imitation/{algo}_{name}", "--seed", str(seed), *extra],
                        out / f"{algo}-s{seed}")
            for path, label in shown.items():
                run["command"] = run["command"].replace(path, label)
            judge(algo, args.env, run, expert["return_mean"])
            if args.recheck:
                run["recheck"] = recheck(out / f"{algo}-s{seed}", args.recheck)
                run["recheck"]["fraction"] = run["recheck"]["return"]["mean"] / expert["return_mean"]
            runs[algo][seed] = run
            print(f"{algo} seed {seed}: final {run['final_eval']['return_mean']:.1f} ({run['fraction_final']:.2f}), "
                  f"curve {run['fractions']}, passes {run.get('passes')}, {run['wall_seconds']} s"
                  + (f", recheck {run['recheck']['fraction']:.3f} (length min {run['recheck']['length']['min']:.0f},"
                     f" mean {run['recheck']['length']['mean']:.1f})" if args.recheck else ""), flush=True)
    record["runs"] = runs
    path = RESULTS / f"imitation_dagger_cs285_{name}{args.tag}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
