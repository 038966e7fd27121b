"""EnvPool next to Gymnasium's sync and async vector envs (`vector_mode`), interleaved.

    python benchmarks/envpool_speed.py --repeats 3 --out benchmarks/results/envpool_speed_<date>.json
    python benchmarks/envpool_speed.py --tiny          # a smoke run of every case, seconds each
    python benchmarks/envpool_speed.py --what runs --cases ppo8 --repeats 1 --steps ppo=1000000 \\
        --eval-every 50000 --seeds 1,2,3 --out ...     # learning curves, each mode over 3 seeds

Two measurements, each case's modes run one after the other in a rotating order and repeated,
so that background load hits every mode alike:

  env   the env adapter alone in this process (`rlforge.envs.vector_env`, what the engine
        builds): random actions, env steps/s over all envs
  runs  whole `rlforge train` runs in fresh subprocesses: env steps/s of the training loop
        (from the wall times of metrics.csv's rows, start-up, learning_starts and evaluation
        left out), and the evaluation returns along the run (evaluation always runs on
        Gymnasium's sync env, whatever the training envs are)

Cases:
  ppo8   PPO on HalfCheetah-v4 (the preset), 8 envs x 256 steps per rollout (the preset's 2,048 rows)
  ppo16  PPO on HalfCheetah-v4, 16 envs x 128 steps
  dqn1   DQN on PongNoFrameskip-v4 (the preset: one gradient step per 4 env steps), 1 env
  dqn8   DQN on PongNoFrameskip-v4, 8 envs (the same gradient steps per env step)

On a CPU, DQN on Atari is bound by its CNN updates, so the runs' figures say more with
`--device cuda` where there is a GPU. Medians per case and mode are printed and written as JSON with every run's figures, the
machine's load averages and the versions.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("envpool", "sync", "async")
CASES = {
    "ppo8": {"algo": "ppo", "env": "HalfCheetah-v4", "num_envs": 8, "sets": {"n_steps": 256}},
    "ppo16": {"algo": "ppo", "env": "HalfCheetah-v4", "num_envs": 16, "sets": {"n_steps": 128}},
    "dqn1": {"algo": "dqn", "env": "PongNoFrameskip-v4", "num_envs": 1, "sets": {}},
    "dqn8": {"algo": "dqn", "env": "PongNoFrameskip-v4", "num_envs": 8, "sets": {}},
}
# Env steps per run, and DQN's start of learning and replay size (the preset's 1M frames would
# take ~7 GB: the speed does not depend on it).
STEPS = {"ppo": 40_960, "dqn": 30_000}
DQN_SETS = {"learning_starts": 5_000, "buffer_size": 50_000}
ENV_STEPS = 2_000  # steps of every env per env-only measurement
TINY = {"steps": {"ppo": 4_096, "dqn": 600}, "dqn": {"learning_starts": 200, "buffer_size": 2_000}, "env_steps": 100}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rotated(items: tuple, k: int) -> list:
    return list(items[k % len(items):] + items[:k % len(items)])


# ----------------------------------------------------------------------------- the env alone


def env_speed(case: dict, mode: str, steps: int, seed: int) -> dict:
    """Env steps/s of the adapter the engine would build, stepped with random actions."""
    from rlforge.envs import vector_env
    from rlforge.plugins import get_host

    env = vector_env(case["env"], case["num_envs"], seed, mode, get_host().registry.envs.get(case["env"]))
    try:
        env.reset()
        actions = [env.random_actions() for _ in range(64)]
        for i in range(10):  # warm up
            env.step(actions[i])
        began = time.perf_counter()
        for i in range(steps):
            env.step(actions[i % 64])
        seconds = time.perf_counter() - began
    finally:
        env.close()
    return {"sps": steps * case["num_envs"] / seconds}


# ----------------------------------------------------------------------------- whole runs


def run_sets(case: dict, mode: str, steps: int, eval_every: int, eval_episodes: int, threads: int,
             tiny: bool, device: str) -> dict:
    sets = {"vector_mode": mode, "num_envs": case["num_envs"], "eval_every": eval_every,
            "eval_episodes": eval_episodes, "torch_threads": threads, "device": device, **case["sets"]}
    if case["algo"] == "ppo":
        sets["log_every"] = 2048
    else:
        sets.update(TINY["dqn"] if tiny else DQN_SETS)
        sets["log_every"] = 100 if tiny else 1000
    return sets


def train_run(case: dict, mode: str, steps: int, seed: int, sets: dict, workdir: Path, index: int) -> dict:
    run_dir = workdir / f"{case['algo']}-{case['num_envs']}-{mode}-{index}"
    args = [sys.executable, "-m", "rlforge.cli", "train", "--algo", case["algo"], "--env", case["env"],
            "--steps", str(steps), "--seed", str(seed), "--run-dir", str(run_dir)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value}"]
    threads = str(sets["torch_threads"])
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    before = load()
    began = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - began
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    logged = sorted((int(r["step"]), float(r["wall_time"])) for r in rows if r["tag"] == "charts/sps")
    evals = [(int(r["step"]), float(r["value"])) for r in rows if r["tag"] == "eval/return_mean"]
    ends = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "eval/return_mean"}
    # from the first row at or after learning starts (PPO: after the first rollout, past start-up)
    start = sets.get("learning_starts", 0)
    window = [(s, t) for s, t in logged if s >= start][0:1] + logged[-1:]
    (s0, t0), (s1, t1) = window
    evaluating = sum(end - dict(logged)[s] for s, end in ends.items() if s in dict(logged) and s0 <= s < s1)
    return {"case_env": case["env"], "mode": mode, "seed": seed, "sps": (s1 - s0) / max(t1 - t0 - evaluating, 1e-9),
            "steps_timed": s1 - s0, "wall_s": round(wall, 2), "evals": evals,
            "final_eval": evals[-1][1] if evals else None, "load_before": before, "load_after": load()}


# ----------------------------------------------------------------------------- report


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(results: list[dict], key: str, ratios: bool = True) -> dict:
    out = {}
    for r in results:
        out.setdefault(r["case"], {}).setdefault(r["mode"], []).append(r[key])
    summary = {}
    for case, by_mode in out.items():
        medians = {mode: median(v) for mode, v in by_mode.items()}
        summary[case] = {"median": medians, "n": {mode: len(v) for mode, v in by_mode.items()}}
        for other in ("sync", "async") if ratios else ():
            if medians.get("envpool") and medians.get(other):
                summary[case][f"envpool/{other}"] = medians["envpool"] / medians[other]
    return summary


def mean_curves(results: list[dict]) -> dict:
    """Per case and mode: the evaluation return at each evaluated step, mean over the runs
    (seeds) that reached it, with how many did."""
    returns: dict = {}
    for r in results:
        for step, value in r["evals"]:
            returns.setdefault(r["case"], {}).setdefault(r["mode"], {}).setdefault(step, []).append(value)
    return {case: {mode: [[step, statistics.fmean(v), len(v)] for step, v in sorted(by_step.items())]
                   for mode, by_step in by_mode.items()} for case, by_mode in returns.items()}


def print_table(title: str, summary: dict, unit: str) -> None:
    print(f"\n{title}")
    print(f"{'case':8} " + " ".join(f"{m:>12}" for m in MODES) + f" {'envpool/sync':>13} {'envpool/async':>14}")
    for case, s in summary.items():
        cells = " ".join(f"{s['median'].get(m, float('nan')) or float('nan'):12.1f}" for m in MODES)
        ratios = " ".join(f"{s[k]:{w}.2f}" if k in s else " " * w for k, w in (("envpool/sync", 13), ("envpool/async", 14)))
        print(f"{case:8} {cells} {ratios}   ({unit})")


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("rlforge", "envpool", "gymnasium", "mujoco", "ale-py", "torch", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--what", default="env,runs", help="env, runs or both")
    parser.add_argument("--repeats", type=int, default=3, help="rounds over every case and mode")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds of the runs (each round runs each seed)")
    parser.add_argument("--steps", action="append", default=[], help="ALGO=N env steps per run, e.g. ppo=1000000")
    parser.add_argument("--eval-every", type=int, default=0, help="env steps between evaluations (0: only at the end)")
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each run")
    parser.add_argument("--device", default="cpu", help="the runs' torch device (cpu, cuda)")
    parser.add_argument("--tiny", action="store_true", help="a few seconds per run: checks that every case runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    cases = [c for c in args.cases.split(",") if c]
    modes = tuple(m for m in args.modes.split(",") if m)
    unknown = [c for c in cases if c not in CASES] + [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown case or mode: {', '.join(unknown)}")
    steps = dict(TINY["steps"] if args.tiny else STEPS)
    for pair in args.steps:
        algo, _, n = pair.partition("=")
        steps[algo] = int(n)
    seeds = [int(s) for s in args.seeds.split(",")]
    eval_episodes = 1 if args.tiny else args.eval_episodes
    env_steps = TINY["env_steps"] if args.tiny else ENV_STEPS

    results = {"command": " ".join(["python", *sys.argv]), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
               "cpus": os.cpu_count(), "load_start": load(), "versions": versions(), "steps": steps,
               "env": [], "runs": []}
    if "env" in args.what:
        for k in range(args.repeats):
            for name in cases:
                for mode in rotated(modes, k):
                    r = env_speed(CASES[name], mode, env_steps, seed=k)
                    results["env"].append({"case": name, "mode": mode, "round": k, **r, "load": load()})
                    print(f"env  {name:6} {mode:8} {r['sps']:10.0f} env steps/s", flush=True)
        results["env_summary"] = summarise(results["env"], "sps")
    if "runs" in args.what:
        with tempfile.TemporaryDirectory(prefix="envpool_speed_") as tmp:
            index = 0
            for k in range(args.repeats):
                for name in cases:
                    case = CASES[name]
                    for seed in seeds:
                        for mode in rotated(modes, k + seed):
                            sets = run_sets(case, mode, steps[case["algo"]], args.eval_every, eval_episodes,
                                            args.threads, args.tiny, args.device)
                            r = train_run(case, mode, steps[case["algo"]], seed, sets, Path(tmp), index)
                            index += 1
                            results["runs"].append({"case": name, "round": k, **r})
                            print(f"run  {name:6} {mode:8} seed {seed} {r['sps']:8.0f} env steps/s, "
                                  f"final eval {r['final_eval']}", flush=True)
                            save(args.out, results)  # a stopped comparison keeps the runs it finished
        results["runs_summary"] = summarise(results["runs"], "sps")
        results["eval_summary"] = summarise(results["runs"], "final_eval", ratios=False)
        results["curves"] = mean_curves(results["runs"])
    results["load_end"] = load()
    if results["env"]:
        print_table("the env adapter alone: env steps/s (median)", results["env_summary"], "env steps/s")
    if results["runs"]:
        print_table("whole runs: env steps/s of the training loop (median)", results["runs_summary"], "env steps/s")
        print_table("whole runs: final evaluation return (median)", results["eval_summary"], "return")
    save(args.out, results)
    return 0


def save(path: Path | None, results: dict) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
