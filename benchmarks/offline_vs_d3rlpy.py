"""Offline RL side by side with d3rlpy: IQL, CQL and TD3+BC trained by rlforge and by d3rlpy 2.8
on the same datasets, with the same networks and hyperparameters, the same number of gradient
steps and the same torch thread count, interleaved; each final policy evaluated over the same
episodes of the dataset's env and reported as a D4RL-normalised score. Results go to JSON
(every run) and a table (mean score over seeds with a bootstrap 95% CI, gradient steps/s, and
rlforge / d3rlpy).

    bash benchmarks/d3rlpy_env.sh          # once: d3rlpy's own virtual environment, .venv-d3rlpy
    python benchmarks/offline_vs_d3rlpy.py --dataset rlforge/hopper-medium-replay-v0 \\
        --dataset rlforge/halfcheetah-medium-v0 --seeds 1,2,3 --steps 1000000 --threads 1 \\
        --out benchmarks/results/offline_vs_d3rlpy_<date>.json
    python benchmarks/offline_vs_d3rlpy.py --tiny --dataset /tmp/hopper-random.npz   # seconds: a smoke
    python benchmarks/offline_vs_d3rlpy.py ... --resume     # runs already in --out are kept, not rerun

  rlforge  `rlforge train --algo ALGO --env ENV --set dataset=NAME --set KEY=VALUE ...`, every key
           of SETTINGS (the D4RL presets' values) given explicitly, so no preset decides
           anything; steps/s from the wall times of its metrics.csv rows; the score from its
           final evaluation.
  d3rlpy   benchmarks/d3rlpy_side.py in the d3rlpy environment (--d3rlpy-python): the same rows,
           written once per dataset to a plain .npz, as an MDPDataset; the settings translated by
           d3rlpy_side.d3rlpy_config; `fit` with a callback timing the same steps; the final
           policy saved as TorchScript and evaluated here, on rlforge's gymnasium, with the
           seeds rlforge's evaluation uses.

Gradient steps/s count the update loop only: from the end of step L (L = steps / 10, at most
1,000) to the end of the last step, on both sides (start-up, data loading and the evaluation
left out). Every run is a fresh subprocess with the thread limits (OMP/MKL too) of --threads;
for each seed every (dataset, algorithm) runs both sides back to back, the side that goes first
alternating from seed to seed, so background load hits both alike. The JSON is rewritten after
every run; with --resume a stopped benchmark goes on where it stopped (a run counts as done
only with the same settings, steps, threads and evaluation).

Datasets: a path or a Minari id (anything `rlforge train --set dataset=` reads) with its env id
and reference returns in its metadata (`rlforge collect/dataset create --ref ...`). What is
matched and what is not: docs/offline-benchmark.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from d3rlpy_side import DIFFERENCES, d3rlpy_config  # noqa: E402  (no d3rlpy import: plain numpy)
from speed import parse_cpus, thread_env, timed_subprocess  # noqa: E402

DEFAULT_D3RLPY_PYTHON = ROOT / ".venv-d3rlpy" / "bin" / "python"
SIDES = ("rlforge", "d3rlpy")
EVAL_SEED_OFFSET = 1_000_003  # rlforge's (rlforge.engine.EVAL_SEED_OFFSET): episode i of seed s is reset with s + this + i
ALGOS = ("iql", "cql", "td3bc")
COMPILABLE = ("iql", "td3bc")  # rlforge's compile_update: the gradient step as one torch.compile graph

# rlforge's settings per algorithm: the D4RL locomotion presets (configs/<algo>/Hopper-v4.yaml,
# the same for HalfCheetah and Walker2d; tests/test_offline_vs_d3rlpy.py checks they agree),
# given to rlforge as --set and translated for d3rlpy by d3rlpy_side.d3rlpy_config.
COMMON = {"activation": "relu", "num_critics": 2, "batch_size": 256, "gamma": 0.99, "tau": 0.005, "lr": 3.0e-4}
SETTINGS = {
    "iql": {**COMMON, "hidden": [256, 256], "value_hidden": [256, 256], "actor_hidden": [256, 256],
            "value_lr": 3.0e-4, "actor_lr": 3.0e-4, "expectile": 0.7, "temperature": 1.0 / 3.0, "max_weight": 100.0,
            "actor": "gaussian", "log_std_min": -5.0, "log_std_max": 2.0, "actor_lr_schedule": "cosine",
            "reward_normalization": "return_range", "normalize_obs": False},
    "cql": {**COMMON, "hidden": [256, 256, 256], "actor_hidden": [256, 256, 256], "actor_lr": 3.0e-5,
            "temperature_lr": 3.0e-4, "temperature": 1.0, "auto_temperature": True, "log_std_min": -20.0,
            "log_std_max": 2.0, "backup_entropy": False, "cql_alpha": 10.0, "cql_temperature": 1.0, "cql_actions": 10,
            "cql_lagrange": False, "cql_target_action_gap": 5.0, "bc_steps": 0, "normalize_obs": True,
            "reward_normalization": "return_range"},
    "td3bc": {**COMMON, "hidden": [256, 256], "actor_hidden": [256, 256], "actor_lr": 3.0e-4, "policy_noise": 0.2,
              "noise_clip": 0.5, "policy_delay": 2, "alpha": 2.5, "normalize_obs": True, "reward_normalization": "none"},
}
# --tiny: small networks and batches, so that every algorithm on both sides runs in seconds
TINY = {"iql": {"hidden": [32, 32], "value_hidden": [32, 32], "actor_hidden": [32, 32], "batch_size": 32},
        "cql": {"hidden": [32, 32], "actor_hidden": [32, 32], "batch_size": 32, "cql_actions": 2},
        "td3bc": {"hidden": [32, 32], "actor_hidden": [32, 32], "batch_size": 32}}
TINY_RUN = {"steps": 60, "eval_episodes": 1, "max_episode_steps": 50}


# ----------------------------------------------------------------------------- datasets


def prepare_dataset(name: str, folder: Path) -> dict:
    """Load `name` as rlforge does, write its rows for the d3rlpy side (plain numpy .npz, no
    pickle: the rows as rlforge's agents use them, actions mapped to [-1, 1] and clipped, plus
    the statistics their agents compute) and describe it."""
    import gymnasium as gym

    from rlforge.datasets import load_dataset, reference_returns

    dataset = load_dataset(name)
    env_id = dataset_env(dataset.metadata)
    if env_id is None:
        raise ValueError(f"dataset {name!r} names no env in its metadata (env or Minari's env_spec)")
    refs = reference_returns(dataset.metadata)
    if refs is None:
        raise ValueError(f"dataset {name!r} stores no reference returns: no normalised score without them "
                         "(rlforge dataset create/collect --ref d4rl, or --ref-random R --ref-expert E)")
    env = gym.make(env_id)
    low, high = env.action_space.low.astype(np.float64), env.action_space.high.astype(np.float64)
    env.close()
    obs = np.asarray(dataset.obs, np.float32).reshape(len(dataset), -1)
    actions = np.asarray(dataset.actions, np.float64).reshape(len(dataset), -1)
    returns = dataset.episode_returns()
    if len(returns) < 2:
        raise ValueError(f"dataset {name!r} has {len(returns)} finished episodes; the return-range reward scale "
                         "needs at least two")
    stats = data_statistics(obs, returns)
    path = folder / f"{slug(name)}.npz"
    np.savez(path, obs=obs, actions=unit_actions(actions, low, high),
             rewards=np.asarray(dataset.rewards, np.float32),
             next_obs=np.asarray(dataset.next_obs, np.float32).reshape(len(dataset), -1),
             terminated=np.asarray(dataset.terminated, bool), truncated=np.asarray(dataset.truncated, bool),
             obs_mean=stats["obs_mean"], obs_std=stats["obs_std"], return_min=np.float64(stats["return_min"]),
             return_max=np.float64(stats["return_max"]))
    return {"name": name, "env": env_id, "npz": str(path), "transitions": len(dataset), "finished_episodes": len(returns),
            "data_return_mean": float(np.mean(returns)), "reference_returns": {"random": refs.random, "expert": refs.expert},
            "action_low": low.tolist(), "action_high": high.tolist(),
            "return_range": [stats["return_min"], stats["return_max"]]}


def dataset_env(metadata: dict) -> str | None:
    """The env id an rlforge dataset (metadata "env") or a Minari one (its env_spec) names."""
    if isinstance(metadata.get("env"), str):
        return metadata["env"]
    for holder in (metadata, metadata.get("minari") or {}):
        try:
            env_id = json.loads(holder["env_spec"])["id"]
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(env_id, str):
            return env_id
    return None


def data_statistics(obs: np.ndarray, returns: list[float]) -> dict:
    """What rlforge's Box agents compute from the data (rlforge_offline.box_data): observation
    mean and std over all rows in float32 (rlforge adds 1e-3 to the std, d3rlpy's scaler adds
    the same as its eps), and the finished episodes' smallest and largest returns
    (reward_normalization: return_range multiplies rewards by 1000 / their difference)."""
    return {"obs_mean": obs.mean(0).astype(np.float32), "obs_std": obs.std(0).astype(np.float32),
            "return_min": float(min(returns)), "return_max": float(max(returns))}


def unit_actions(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The env's bounds mapped to [-1, 1], clipped there (rlforge's map of the dataset's actions)."""
    scale, bias = (high - low) / 2.0, (high + low) / 2.0
    return np.clip((actions - bias) / scale, -1.0, 1.0).astype(np.float32)


def slug(name: str) -> str:
    """A file name for a dataset's name (path or Minari id)."""
    name = str(name).removesuffix(".npz")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("_") or "dataset"


# ----------------------------------------------------------------------------- one run, each side


def log_every(steps: int) -> int:
    """Where timing starts: steps / 10, at least 1, at most 1,000 (rlforge's metric rows)."""
    return max(1, min(1000, steps // 10))


def run_rlforge(algo: str, s: dict, data: dict, seed: int, run: dict, workdir: Path) -> dict:
    steps, timing_from = run["steps"], log_every(run["steps"])
    run_dir = workdir / f"rlforge-{algo}-{slug(data['name'])}-s{seed}"
    if run_dir.exists():  # this run's own folder from a failed or stopped try: it is run again
        shutil.rmtree(run_dir)
    sets = {**s, "dataset": data["name"], "eval_every": 0, "eval_episodes": run["eval_episodes"],
            "log_every": timing_from, "torch_threads": run["threads"], "checkpoint_every": 0}
    if run["max_episode_steps"]:
        sets["max_episode_steps"] = run["max_episode_steps"]
    if run["matmul_precision"] != "own":
        sets["matmul_precision"] = run["matmul_precision"]
    if run["compile"] and algo in COMPILABLE:
        sets["compile_update"] = True
    args = [sys.executable, "-m", "rlforge.cli", "train", "--algo", algo, "--env", data["env"], "--steps", str(steps),
            "--seed", str(seed), "--device", run["device"], "--run-dir", str(run_dir)]
    for key, value in sets.items():
        args += ["--set", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
    done, wall, cpu = timed_subprocess(args, run["threads"], run["cpus"], {"RLFORGE_LOAD_PLUGINS": "offline"})
    if done.returncode:
        raise RuntimeError(f"rlforge {algo} failed: {done.stderr.strip()[-2000:]}")
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    logged = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "charts/sps"}
    final = {r["tag"]: float(r["value"]) for r in rows if r["tag"].startswith("eval/") and int(r["step"]) == steps}
    window = logged[steps] - logged[timing_from]
    return {"sps": (steps - timing_from) / window, "timed_steps": steps - timing_from, "update_seconds": window,
            "return": final["eval/return_mean"], "return_std": final["eval/return_std"],
            "score": normalized(final["eval/return_mean"], data), "rlforge_score": final.get("eval/normalized_score"),
            "wall_s": wall, "cpu_s": cpu, "run_dir": str(run_dir), "versions": versions()}


def run_d3rlpy(algo: str, s: dict, data: dict, seed: int, run: dict, workdir: Path) -> dict:
    steps = run["steps"]
    policy = workdir / f"d3rlpy-{algo}-{slug(data['name'])}-s{seed}.pt"
    args = [run["d3rlpy_python"], str(HERE / "d3rlpy_side.py"), "--data", data["npz"], "--algo", algo,
            "--settings", json.dumps(s), "--steps", str(steps), "--seed", str(seed), "--threads", str(run["threads"]),
            "--device", run["device"], "--time-from", str(log_every(steps)), "--policy-out", str(policy)]
    if run["matmul_precision"] != "own":
        args += ["--matmul-precision", run["matmul_precision"]]
    done, wall, cpu = timed_subprocess(args, run["threads"], run["cpus"])
    if done.returncode:
        raise RuntimeError(f"d3rlpy {algo} failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    returns = evaluate_torchscript(policy, data, seed, run)
    return {**result, "return": float(np.mean(returns)), "return_std": float(np.std(returns)),
            "score": normalized(float(np.mean(returns)), data), "wall_s": wall, "cpu_s": cpu, "policy": str(policy)}


def evaluate_torchscript(policy_path: Path, data: dict, seed: int, run: dict) -> list[float]:
    """Episode returns of a TorchScript policy (d3rlpy's save_policy: observation in, action in
    [-1, 1] out) on the dataset's env, seeded as rlforge's evaluation seeds its episodes, the
    action mapped to the env's bounds and clipped there as rlforge's policies do."""
    import gymnasium as gym
    import torch

    torch.set_num_threads(run["threads"])
    policy = torch.jit.load(str(policy_path), map_location="cpu")
    low, high = np.asarray(data["action_low"]), np.asarray(data["action_high"])
    env = gym.make(data["env"], **({"max_episode_steps": run["max_episode_steps"]} if run["max_episode_steps"] else {}))
    returns = []
    with torch.no_grad():
        for episode in range(run["eval_episodes"]):
            obs, _ = env.reset(seed=seed + EVAL_SEED_OFFSET + episode)
            done, total = False, 0.0
            while not done:
                unit = policy(torch.as_tensor(np.asarray(obs, np.float32)[None])).numpy()[0].astype(np.float64)
                action = np.clip(low + (unit + 1.0) * (high - low) / 2.0, low, high)
                obs, reward, terminated, truncated, _ = env.step(action.astype(env.action_space.dtype))
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    env.close()
    return returns


def normalized(episode_return: float, data: dict) -> float:
    refs = data["reference_returns"]
    return 100.0 * (episode_return - refs["random"]) / (refs["expert"] - refs["random"])


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("rlforge", "rlforge-offline", "torch", "numpy", "gymnasium", "mujoco"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


# ----------------------------------------------------------------------------- summary


def bootstrap_ci(values, level: float = 0.95, resamples: int = 10_000, seed: int = 0) -> list[float] | None:
    """Percentile bootstrap confidence interval of the mean (resampling the values with
    replacement); a single value is its own interval, none gives None."""
    values = np.asarray([v for v in values if v is not None], np.float64)
    if len(values) == 0:
        return None
    if len(values) == 1:
        return [float(values[0])] * 2
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(1)
    tail = (1.0 - level) / 2.0 * 100.0
    return [float(np.percentile(means, tail)), float(np.percentile(means, 100.0 - tail))]


def side_summary(runs: list[dict]) -> dict:
    done = [r for r in runs if "error" not in r]
    scores = [r["score"] for r in done]
    return {"seeds": [r["seed"] for r in done], "failed": len(runs) - len(done),
            "score_mean": float(np.mean(scores)) if scores else None, "score_ci95": bootstrap_ci(scores),
            "return_mean": float(np.mean([r["return"] for r in done])) if done else None,
            "sps_median": float(np.median([r["sps"] for r in done])) if done else None}


def summarize(runs: list[dict]) -> list[dict]:
    """One entry per (algorithm, dataset): each side's summary, and rlforge against d3rlpy: the
    score difference, the ratio of median steps/s and the median of per-seed ratios (each pair
    ran back to back), and the issue's two goals."""
    out = []
    for key in dict.fromkeys((r["algo"], r["dataset"]) for r in runs):
        these = [r for r in runs if (r["algo"], r["dataset"]) == key]
        entry = {"algo": key[0], "dataset": key[1]}
        for side in SIDES:
            side_runs = [r for r in these if r["side"] == side]
            if side_runs:
                entry[side] = side_summary(side_runs)
        ours, theirs = entry.get("rlforge"), entry.get("d3rlpy")
        if ours and theirs and ours["score_mean"] is not None and theirs["score_mean"] is not None:
            pairs = {r["seed"]: r for r in these if r["side"] == "d3rlpy" and "error" not in r}
            per_seed = [r["sps"] / pairs[r["seed"]]["sps"] for r in these
                        if r["side"] == "rlforge" and "error" not in r and r["seed"] in pairs]
            entry["score_difference"] = ours["score_mean"] - theirs["score_mean"]
            entry["sps_ratio"] = ours["sps_median"] / theirs["sps_median"]
            entry["sps_ratio_median_of_pairs"] = float(np.median(per_seed)) if per_seed else None
            entry["goals"] = {"score_at_least_d3rlpy": entry["score_difference"] >= 0,
                              "sps_at_least_2x": entry["sps_ratio"] >= 2.0}
        out.append(entry)
    return out


def print_table(summary: list[dict]) -> None:
    print(f"\n{'algo':<6} {'dataset':<34} {'side':<8} {'seeds':>5} {'score (95% CI)':>26} {'return':>9} "
          f"{'grad steps/s':>13}   {'speed':>6} {'score':>7}   goals: >=2x, score >= d3rlpy")
    print(f"{'':<99}(rlforge / d3rlpy; rlforge - d3rlpy, on the d3rlpy row)")
    for entry in summary:
        for side in SIDES:
            if side not in entry:
                continue
            s = entry[side]
            ci = s["score_ci95"]
            score = "-" if s["score_mean"] is None else f"{s['score_mean']:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"
            ratio = ""
            if side == "d3rlpy" and "sps_ratio" in entry:
                goals = entry["goals"]
                ratio = (f"{entry['sps_ratio']:>5.2f}x {entry['score_difference']:>+7.1f}   "
                         f"{'met' if goals['sps_at_least_2x'] else 'not met':<8}{'met' if goals['score_at_least_d3rlpy'] else 'not met'}")
            failed = f" ({s['failed']} failed)" if s["failed"] else ""
            print(f"{entry['algo']:<6} {entry['dataset'][-34:]:<34} {side:<8} {len(s['seeds']):>5} {score:>26} "
                  f"{_fmt(s['return_mean']):>9} {_fmt(s['sps_median']):>13}   {ratio}{failed}")


def _fmt(v):
    return "-" if v is None else f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"


# ----------------------------------------------------------------------------- driver


def parse_sets(pairs: list[str], algos: list[str]) -> dict:
    """--set iql.expectile=0.9: per algorithm, values as JSON, keys among SETTINGS[algo]."""
    out = {algo: {} for algo in algos}
    for pair in pairs:
        name, _, value = pair.partition("=")
        algo, _, key = name.partition(".")
        if algo not in SETTINGS:
            raise ValueError(f"--set {pair}: give ALGO.KEY=VALUE, ALGO one of {', '.join(SETTINGS)}")
        if key not in SETTINGS[algo]:
            raise ValueError(f"--set {pair}: {algo} has no setting {key!r}; its settings: {', '.join(SETTINGS[algo])}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value  # a bare string (e.g. iql.actor_lr_schedule=constant)
        if algo in out:
            out[algo][key] = parsed
    return out


def order(seed_index: int) -> tuple[str, ...]:
    """The sides of a seed's pair in turn: rlforge first on the 1st, 3rd, ... seed."""
    return SIDES if seed_index % 2 == 0 else SIDES[::-1]


def done_runs(previous: dict | None, setup: dict) -> list[dict]:
    """The runs of an earlier --out that count as done: those without an error (a failed run is
    run again). Runs of an algorithm not asked for now are kept as they are (sessions may share
    one file, each running some algorithms); those of one asked for must have been made with the
    same setup (settings, steps, threads, device, evaluation), else ValueError: one file, one
    comparable benchmark."""
    kept = []
    for r in (previous or {}).get("runs", []):
        if "error" in r:
            continue
        if r["algo"] in setup and r.get("setup") != setup[r["algo"]]:
            changed = sorted(k for k in set(setup[r["algo"]]) | set(r.get("setup") or {})
                             if setup[r["algo"]].get(k) != (r.get("setup") or {}).get(k))
            raise ValueError(f"the --out file holds {r['algo']} runs made with another {', '.join(changed)}: give the "
                             "same options to resume, or another --out")
        kept.append(r)
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", default="iql,cql,td3bc", help=f"any of {','.join(ALGOS)}")
    parser.add_argument("--dataset", action="append", dest="datasets", metavar="PATH|MINARI_ID",
                        help="a dataset with its env and reference returns in its metadata; repeatable")
    parser.add_argument("--seeds", default="1,2,3", help="e.g. 1,2,3 (the same seeds on both sides)")
    parser.add_argument("--steps", type=int, default=1_000_000, help="gradient steps per run")
    parser.add_argument("--threads", type=int, default=1, help="torch (and OMP/MKL) threads on both sides")
    parser.add_argument("--cpus", help="pin every run to these cores (e.g. 0, or 0,1)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--eval-episodes", type=int, default=10, help="episodes of the final policy's evaluation")
    parser.add_argument("--max-episode-steps", type=int, default=0, help="cap evaluation episodes (0: the env's own limit)")
    parser.add_argument("--matmul-precision", choices=["own", "highest", "high", "medium"], default="own",
                        help="float32 matmuls in the updates: own = each library's default (rlforge's auto, "
                             "torch's highest in d3rlpy), else this one on both sides")
    parser.add_argument("--compile", action="store_true",
                        help=f"rlforge's compile_update: true for {' and '.join(COMPILABLE)} (the same maths as one "
                             "compiled graph; compiling happens in the first step, before the timed steps)")
    parser.add_argument("--set", action="append", default=[], dest="sets", metavar="ALGO.KEY=VALUE",
                        help="change a setting on both sides, e.g. cql.cql_actions=4 (refused where d3rlpy cannot match it)")
    parser.add_argument("--sides", default="rlforge,d3rlpy", help="rlforge,d3rlpy or one of them")
    parser.add_argument("--d3rlpy-python", default=str(DEFAULT_D3RLPY_PYTHON),
                        help="the d3rlpy environment's python (benchmarks/d3rlpy_env.sh makes it)")
    parser.add_argument("--work-dir", type=Path, help="run folders and policies (default: a new temporary folder)")
    parser.add_argument("--out", type=Path, help="the JSON of every run, rewritten after each")
    parser.add_argument("--resume", action="store_true", help="keep the runs --out already holds with this setup")
    parser.add_argument("--tiny", action="store_true",
                        help=f"a smoke of everything in seconds: {TINY_RUN['steps']} steps, 32-wide networks, "
                             f"batches of 32, one evaluation episode of at most {TINY_RUN['max_episode_steps']} steps")
    args = parser.parse_args(argv)

    try:
        algos = [a.strip() for a in args.algos.split(",") if a.strip()]
        sides = [x.strip() for x in args.sides.split(",") if x.strip()]
        seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
        unknown = [a for a in algos if a not in ALGOS] + [x for x in sides if x not in SIDES]
        if unknown:
            raise ValueError(f"unknown algorithm or side {', '.join(unknown)}")
        if not args.datasets:
            raise ValueError("give at least one --dataset (a path or a Minari id)")
        if not seeds or not algos or not sides:
            raise ValueError("--seeds, --algos and --sides need at least one each")
        cpus = parse_cpus(args.cpus)
        sets = parse_sets(args.sets, algos)
        settings = {a: {**SETTINGS[a], **(TINY[a] if args.tiny else {}), **sets[a]} for a in algos}
        for algo in algos:  # refuse early what d3rlpy cannot match, not after hours of rlforge runs
            d3rlpy_config(algo, settings[algo], 2, {"obs_mean": [], "obs_std": [], "return_min": 0, "return_max": 1})
        if args.resume and not args.out:
            raise ValueError("--resume needs --out (the JSON to go on from)")
        steps = TINY_RUN["steps"] if args.tiny else args.steps
        if steps < 2:
            raise ValueError("--steps must be at least 2")
        if args.compile and not any(a in COMPILABLE for a in algos):
            raise ValueError(f"--compile applies to {' and '.join(COMPILABLE)} only")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if "d3rlpy" in sides and not Path(args.d3rlpy_python).exists():
        print(f"error: no d3rlpy environment at {args.d3rlpy_python}: make it with `bash benchmarks/d3rlpy_env.sh` "
              "(or pass --d3rlpy-python, or --sides rlforge)", file=sys.stderr)
        return 2

    run = {"steps": steps, "threads": args.threads, "cpus": cpus, "device": args.device,
           "eval_episodes": TINY_RUN["eval_episodes"] if args.tiny else args.eval_episodes,
           "max_episode_steps": TINY_RUN["max_episode_steps"] if args.tiny else args.max_episode_steps,
           "matmul_precision": args.matmul_precision, "compile": args.compile, "d3rlpy_python": args.d3rlpy_python}
    setup = {a: {"settings": settings[a], **{k: run[k] for k in ("steps", "threads", "device", "eval_episodes",
                                                                "max_episode_steps", "matmul_precision")},
                 **({"compile": True} if args.compile and a in COMPILABLE else {})}
             for a in algos}
    previous = json.loads(args.out.read_text()) if args.resume and args.out and args.out.exists() else None
    try:
        runs = done_runs(previous, setup)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    previous = previous or {}
    workdir = args.work_dir or Path(tempfile.mkdtemp(prefix="rlforge-offline-vs-d3rlpy-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = {"meta": {"command": "python benchmarks/offline_vs_d3rlpy.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                        "machine": f"{platform.node()} ({os.cpu_count()} cores), {platform.processor() or platform.machine()}",
                        **run, "timing_from_step": log_every(steps), "tiny": args.tiny,
                        "seeds": seeds, "versions": versions(), "load_average_before": list(os.getloadavg())},
               "settings": {**previous.get("settings", {}), **settings},
               "differences": {**previous.get("differences", {}), **{a: DIFFERENCES["all"] + DIFFERENCES[a] for a in algos}},
               "datasets": dict(previous.get("datasets", {})), "runs": runs, "summary": []}
    if previous.get("meta"):
        results["meta"]["earlier_sessions"] = previous["meta"].get("earlier_sessions", []) + [
            {k: previous["meta"].get(k) for k in ("command", "date", "machine", "versions", "load_average_before",
                                                  "load_average_after")}]
    if runs:
        print(f"resuming: {len(runs)} runs already in {args.out}", flush=True)
    try:
        for name in args.datasets:
            results["datasets"][name] = prepare_dataset(name, workdir)
    except Exception as error:  # noqa: BLE001  (one line for a dataset that cannot be used)
        print(f"error: {error}", file=sys.stderr)
        return 2

    for index, seed in enumerate(seeds):
        for name in args.datasets:
            data = results["datasets"][name]
            for algo in algos:
                for side in [x for x in order(index) if x in sides]:
                    if any((r["algo"], r["dataset"], r["side"], r["seed"]) == (algo, name, side, seed) for r in runs):
                        continue
                    record = {"algo": algo, "dataset": name, "side": side, "seed": seed, "setup": setup[algo],
                              "load_average_before": list(os.getloadavg())}
                    try:
                        runner = run_rlforge if side == "rlforge" else run_d3rlpy
                        record.update(runner(algo, settings[algo], data, seed, run, workdir))
                    except Exception as error:  # noqa: BLE001  (recorded; the benchmark goes on)
                        record["error"] = str(error)[-3000:]
                    record["load_average_after"] = list(os.getloadavg())
                    runs.append(record)
                    print(line(record), flush=True)
                    results["summary"] = summarize(runs)
                    write(results, args.out)
    results["meta"]["load_average_after"] = list(os.getloadavg())
    results["summary"] = summarize(runs)
    print_table(results["summary"])
    write(results, args.out)
    if args.out:
        print(f"\nwrote {args.out}")
    return 1 if any("error" in r for r in runs) else 0


def line(record: dict) -> str:
    head = f"{record['algo']} {record['dataset']} seed {record['seed']} {record['side']:>7}:"
    if "error" in record:
        return f"{head} failed: {record['error'].strip().splitlines()[-1] if record['error'].strip() else ''}"
    return (f"{head} score {record['score']:.1f} (return {record['return']:.1f}), {record['sps']:.1f} grad steps/s, "
            f"load {record['load_average_before'][0]:.2f}")


def write(results: dict, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(results, indent=1, default=_json_default) + "\n")
        tmp.replace(out)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value)}")


if __name__ == "__main__":
    sys.exit(main())
