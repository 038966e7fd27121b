"""Speed next to Stable-Baselines3: rlforge and SB3 trained side by side, interleaved, with the
same hyperparameters and thread count; median ratios printed and written as JSON.

    python benchmarks/speed.py --algos sac,ppo,dqn --repeats 3 --threads 1 \
        --out benchmarks/results/speed_<date>.json
    python benchmarks/speed.py --device cuda --algos sac     # GPU figures, where there is a GPU
    python benchmarks/speed.py --algos dqn --set dqn.train_freq=4 --steps dqn=10000
    python benchmarks/speed.py --algos ppo --repeats 5 --vary-seeds   # PPO time to solve over seeds 1-5
    python benchmarks/speed.py --algos sac --sb3-matmul-precision medium   # SB3 with rlforge's SAC precision

  sac  HalfCheetah-v4: env steps/s after learning starts (batch 256, 2x256 networks, one
       critic and one actor update per env step), then the deterministic evaluation return.
  ppo  CartPole-v1: wall time from the launch of the process to the first evaluation at or
       above 475, env steps/s (evaluation time left out), and the final evaluation return.
  dqn  CartPole-v1: env steps/s after learning starts (one gradient step per env step), then
       the deterministic evaluation return.

Every run is a fresh subprocess (its own imports and thread settings); for each repeat the
harness runs rlforge then SB3, so background load hits both alike. Ratios are rlforge / SB3
of the medians. rlforge runs through its CLI (`rlforge train`, as a user would) and is timed
from the wall times of its metrics.csv rows; SB3 runs `learn` with a callback that records
the same moments. Hyperparameters are written once below (SETTINGS) and translated to both.

SB3 is the `bench` extra (`pip install -e ".[bench]"`); `--sides rlforge` runs rlforge alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVAL_SEED = 1_000_003  # rlforge's evaluation seed offset (the run's seed + this), used by both sides

# ----------------------------------------------------------------------------- settings, written once

SETTINGS = {
    "sac": {"env": "HalfCheetah-v4", "hidden": [256, 256], "batch_size": 256, "lr": 3e-4, "buffer_size": 1_000_000,
            "gamma": 0.99, "tau": 0.005, "learning_starts": 5000, "updates_per_step": 1, "init_temperature": 1.0,
            "steps": 3000, "eval_episodes": 5},
    "dqn": {"env": "CartPole-v1", "hidden": [64, 64], "batch_size": 128, "lr": 1e-3, "buffer_size": 100_000,
            "gamma": 0.99, "learning_starts": 1000, "train_freq": 1, "gradient_steps": 1, "max_grad_norm": 10.0,
            "target_period": 1000, "epsilon_start": 1.0, "epsilon_end": 0.02, "epsilon_fraction": 0.1,
            "steps": 20_000, "eval_episodes": 10},
    "ppo": {"env": "CartPole-v1", "num_envs": 8, "n_steps": 32, "batch_size": 256, "epochs": 20, "lr": 1e-3,
            "gamma": 0.98, "gae_lambda": 0.8, "clip": 0.2, "ent_coef": 0.0, "vf_coef": 0.5, "max_grad_norm": 0.5,
            "hidden": [64, 64], "threshold": 475.0, "eval_every": 2048, "eval_episodes": 10, "steps": 51_200},
}
TINY = {"sac": {"learning_starts": 200, "steps": 200, "eval_episodes": 1, "buffer_size": 10_000},
        "dqn": {"learning_starts": 200, "steps": 400, "eval_episodes": 1, "buffer_size": 10_000},
        "ppo": {"steps": 1024, "eval_every": 512, "eval_episodes": 1}}


def rlforge_sets(algo: str, s: dict, threads: int, device: str) -> dict:
    """SETTINGS[algo] as rlforge config keys."""
    common = {"torch_threads": threads, "device": device, "seed": s.get("seed", 1)}
    if algo == "sac":
        return {**common, "actor_hidden": s["hidden"], "critic_hidden": s["hidden"], "activation": "relu",
                "batch_size": s["batch_size"], "actor_lr": s["lr"], "critic_lr": s["lr"], "temperature_lr": s["lr"],
                "buffer_size": s["buffer_size"], "gamma": s["gamma"], "tau": s["tau"], "target_update": "soft",
                "random_steps": s["learning_starts"], "learning_starts": s["learning_starts"],
                "updates_per_step": s["updates_per_step"], "num_critics": 2, "backup": "min",
                "temperature": s["init_temperature"], "auto_temperature": True, "target_entropy": None,
                "eval_every": 0, "eval_episodes": s["eval_episodes"], "log_every": _log_every(s)}
    if algo == "dqn":
        return {**common, "network": "mlp", "hidden": s["hidden"], "activation": "relu", "lr": s["lr"],
                "lr_schedule": "constant", "batch_size": s["batch_size"], "buffer_size": s["buffer_size"],
                "gamma": s["gamma"], "train_frequency": s["train_freq"],
                "updates_per_step": s["gradient_steps"] / s["train_freq"], "loss": "huber",
                "max_grad_norm": s["max_grad_norm"], "target_update": "hard", "target_period": s["target_period"],
                "epsilon_start": s["epsilon_start"], "epsilon_end": s["epsilon_end"],
                "epsilon_fraction": s["epsilon_fraction"], "learning_starts": s["learning_starts"],
                "double_q": False, "dueling": False, "n_step": 1, "eval_every": 0,
                "eval_episodes": s["eval_episodes"], "log_every": _log_every(s)}
    return {**common, "num_envs": s["num_envs"], "n_steps": s["n_steps"],
            "num_minibatches": s["num_envs"] * s["n_steps"] // s["batch_size"], "update_epochs": s["epochs"],
            "lr": s["lr"], "anneal_lr": True, "gamma": s["gamma"], "gae_lambda": s["gae_lambda"],
            "clip_coef": s["clip"], "clip_value_loss": False, "ent_coef": s["ent_coef"], "vf_coef": s["vf_coef"],
            "max_grad_norm": s["max_grad_norm"], "hidden": s["hidden"], "activation": "tanh", "ortho_init": True,
            "normalize_advantages": True, "normalize_obs": False, "normalize_reward": False,
            "eval_every": s["eval_every"], "eval_episodes": s["eval_episodes"], "log_every": s["eval_every"]}


def _yaml(value) -> str:
    """A --set value: YAML scalars (null, true, numbers, lists), strings bare."""
    return value if isinstance(value, str) else json.dumps(value)


def _log_every(s: dict) -> int:
    """Metric rows land exactly on learning_starts and on the last step (the timing marks)."""
    return math.gcd(s["learning_starts"], s["steps"], 1000)


def _total(algo: str, s: dict) -> int:
    return s["steps"] if algo == "ppo" else s["learning_starts"] + s["steps"]


# ----------------------------------------------------------------------------- rlforge side


def run_rlforge(algo: str, s: dict, threads: int, device: str, workdir: Path, index: int) -> dict:
    run_dir = workdir / f"rlforge-{algo}-{index}"
    total = _total(algo, s)
    args = [sys.executable, "-m", "rlforge.cli", "train", "--algo", algo, "--env", s["env"], "--steps", str(total),
            "--run-dir", str(run_dir)]
    for key, value in rlforge_sets(algo, s, threads, device).items():
        args += ["--set", f"{key}={_yaml(value)}"]
    plugin = {"sac": "sac", "dqn": "dqn", "ppo": "pg"}[algo]
    launched = time.time()
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**_thread_env(threads), "RLFORGE_LOAD_PLUGINS": plugin})
    if done.returncode:
        raise RuntimeError(f"rlforge {algo} failed: {done.stderr.strip()[-2000:]}")
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    times = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "charts/sps"}
    evals = [[int(r["step"]), float(r["value"]), float(r["wall_time"])] for r in rows if r["tag"] == "eval/return_mean"]
    if algo == "ppo":
        window = times[total] - times[s["eval_every"]]
        return _ppo_summary(s, evals, launched, total, window, _rlforge_eval_seconds(rows, total))
    starts = s["learning_starts"]
    return {"sps": (total - starts) / (times[total] - times[starts]), "eval_return": evals[-1][1]}


def _rlforge_eval_seconds(rows: list[dict], total: int) -> float:
    """Evaluation time: from the metric row of a step to the end of its evaluation (log_every is
    eval_every, so each evaluation follows its step's metric row). The final evaluation comes
    after the last metric row, outside the training time, so it is not counted."""
    logged = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "charts/sps"}
    ends = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "eval/return_mean"}
    return sum(end - logged[step] for step, end in ends.items() if step in logged and step < total)


def _ppo_summary(s: dict, evals: list, launched: float, total: int, window: float, eval_seconds: float) -> dict:
    """evals: [step, mean return, unix time]. Steps/s over the steps from the first evaluation
    period to the end (start-up left out), the evaluations in that window left out."""
    solved = next(([step, t] for step, ret, t in evals if ret >= s["threshold"]), None)
    return {"seconds_to_solve": round(solved[1] - launched, 2) if solved else None,
            "solved_at_step": solved[0] if solved else None,
            "sps": (total - s["eval_every"]) / max(window - eval_seconds, 1e-9),
            "eval_return": evals[-1][1] if evals else None}


def _thread_env(threads: int) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


# ----------------------------------------------------------------------------- SB3 side (runs in a subprocess)


def run_sb3(algo: str, s: dict, threads: int, device: str, matmul: str = "highest") -> dict:
    launched = time.time()
    done = subprocess.run([sys.executable, __file__, "--sb3-worker", algo, "--settings", json.dumps(s),
                           "--threads", str(threads), "--device", device, "--sb3-matmul-precision", matmul],
                          capture_output=True, text=True, env=_thread_env(threads))
    if done.returncode:
        raise RuntimeError(f"SB3 {algo} failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if algo == "ppo":
        return _ppo_summary(s, result["evals"], launched, _total(algo, s), result["window"], result["eval_seconds"])
    return result


def sb3_worker(algo: str, s: dict, threads: int, device: str, matmul: str) -> None:
    import gymnasium as gym
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    torch.set_float32_matmul_precision(matmul)  # "highest" (torch's default) unless asked otherwise
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback

    seed = s.get("seed", 1)

    def evaluate(model, episodes: int) -> float:
        env = gym.make(s["env"])
        returns = []
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + EVAL_SEED + episode)
            done, total = False, 0.0
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns))

    class Clock(BaseCallback):
        """perf_counter at learning_starts and at the end; for PPO the periodic evaluations."""

        def __init__(self):
            super().__init__()
            self.marks, self.evals, self.eval_seconds = {}, [], 0.0
            self.next_eval = s.get("eval_every", 1 << 62)

        def _on_step(self):
            if self.num_timesteps == s.get("learning_starts") or (algo == "ppo" and "start" not in self.marks
                                                                  and self.num_timesteps >= s["eval_every"]):
                self.marks["start"] = time.perf_counter()
            if algo == "ppo" and self.num_timesteps >= self.next_eval:
                self.next_eval += s["eval_every"]
                began = time.perf_counter()
                self.evals.append([self.num_timesteps, evaluate(self.model, s["eval_episodes"]), time.time()])
                self.eval_seconds += time.perf_counter() - began
            return True

        def _on_training_end(self):
            self.marks["end"] = time.perf_counter()

    total = _total(algo, s)
    seed = s.get("seed", 1)
    net = {"net_arch": list(s["hidden"])}
    if algo == "sac":
        model = sb3.SAC("MlpPolicy", s["env"], learning_rate=s["lr"], buffer_size=s["buffer_size"],
                        learning_starts=s["learning_starts"], batch_size=s["batch_size"], tau=s["tau"],
                        gamma=s["gamma"], train_freq=1, gradient_steps=s["updates_per_step"],
                        ent_coef=f"auto_{s['init_temperature']}", target_entropy="auto", policy_kwargs=net,
                        seed=seed, device=device, verbose=0)
    elif algo == "dqn":
        model = sb3.DQN("MlpPolicy", s["env"], learning_rate=s["lr"], buffer_size=s["buffer_size"],
                        learning_starts=s["learning_starts"], batch_size=s["batch_size"], tau=1.0, gamma=s["gamma"],
                        train_freq=s["train_freq"], gradient_steps=s["gradient_steps"],
                        target_update_interval=s["target_period"], exploration_fraction=s["epsilon_fraction"],
                        exploration_initial_eps=s["epsilon_start"], exploration_final_eps=s["epsilon_end"],
                        max_grad_norm=s["max_grad_norm"], policy_kwargs=net, seed=seed, device=device, verbose=0)
    else:
        from stable_baselines3.common.env_util import make_vec_env

        env = make_vec_env(s["env"], n_envs=s["num_envs"], seed=seed)
        lr = s["lr"]
        model = sb3.PPO("MlpPolicy", env, n_steps=s["n_steps"], batch_size=s["batch_size"], n_epochs=s["epochs"],
                        learning_rate=lambda fraction: fraction * lr, gamma=s["gamma"], gae_lambda=s["gae_lambda"],
                        clip_range=s["clip"], ent_coef=s["ent_coef"], vf_coef=s["vf_coef"],
                        max_grad_norm=s["max_grad_norm"], policy_kwargs=net, seed=seed, device=device, verbose=0)
    clock = Clock()
    model.learn(total_timesteps=total, callback=clock)
    if algo == "ppo":
        out = {"evals": clock.evals, "eval_seconds": clock.eval_seconds,
               "window": clock.marks["end"] - clock.marks["start"]}
    else:
        sps = (total - s["learning_starts"]) / (clock.marks["end"] - clock.marks["start"])
        out = {"sps": sps, "eval_return": evaluate(model, s["eval_episodes"])}
    print(json.dumps(out))


# ----------------------------------------------------------------------------- GPU: SAC updates per second


def cuda_updates(s: dict, updates: int) -> dict:
    """rlforge SAC gradient updates (critic + actor) per second on the GPU, eager and compiled."""
    import torch

    results = {}
    for compiled in (False, True):
        code = _CUDA_UPDATES.format(updates=updates, compiled=compiled, batch=s["batch_size"], hidden=s["hidden"])
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if done.returncode:
            results["compile" if compiled else "eager"] = {"error": done.stderr.strip().splitlines()[-1]}
        else:
            results["compile" if compiled else "eager"] = json.loads(done.stdout.strip().splitlines()[-1])
    results["gpu"] = torch.cuda.get_device_name(0)
    return results


_CUDA_UPDATES = """
import json, time, numpy as np, torch, gymnasium as gym
from rlforge_sac.agent import SACAgent
from rlforge_sac.config import SACConfig
env = gym.make("HalfCheetah-v4")
cfg = SACConfig(actor_hidden={hidden}, critic_hidden={hidden}, batch_size={batch}, compile_update={compiled})
agent = SACAgent(cfg, env.observation_space, env.action_space, device="cuda")
rng = np.random.default_rng(0)
n, o, a = 100_000, env.observation_space.shape[0], env.action_space.shape[0]
from rlforge.agent import Transitions
f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
agent.buffer.add(Transitions(f(n, 1, o), np.tanh(f(n, 1, a)), f(n, 1), f(n, 1, o), np.zeros((n, 1), bool), np.zeros((n, 1), bool)))
def run(k):
    for _ in range(k):
        agent._update_critic(agent.buffer.sample({batch}))
        agent._update_actor(agent.buffer.sample({batch})["obs"])
    torch.cuda.synchronize()
run(200)
start = time.perf_counter(); run({updates}); seconds = time.perf_counter() - start
print(json.dumps({{"updates_per_s": {updates} / seconds}}))
"""


# ----------------------------------------------------------------------------- driver


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def bench(algo: str, s: dict, repeats: int, sides: list[str], threads: int, device: str, workdir: Path,
          sb3_matmul: str = "highest", vary_seeds: bool = False) -> dict:
    runs = {side: [] for side in sides}
    for i in range(repeats):
        seeded = {**s, "seed": i + 1 if vary_seeds else 1}  # both sides of a repeat share its seed
        for side in sides:
            result = (run_rlforge(algo, seeded, threads, device, workdir, i) if side == "rlforge"
                      else run_sb3(algo, seeded, threads, device, sb3_matmul))
            result = {"seed": seeded["seed"], **result}
            runs[side].append({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
            print(f"{algo} repeat {i + 1} {side:>7}: {json.dumps(runs[side][-1])}", flush=True)
    keys = ["sps", "eval_return"] + (["seconds_to_solve", "solved_at_step"] if algo == "ppo" else [])
    medians = {side: {k: median([r[k] for r in rs]) for k in keys} for side, rs in runs.items()}
    out = {"settings": s, "runs": runs, "medians": medians}
    if "sb3" in runs and "rlforge" in runs:
        out["ratios"] = {"sps": ratio(medians["rlforge"]["sps"], medians["sb3"]["sps"])}
        # the median of per-repeat ratios too: each pair ran back to back under similar load
        pairs = [ratio(a["sps"], b["sps"]) for a, b in zip(runs["rlforge"], runs["sb3"])]
        out["ratios"]["sps_median_of_pairs"] = median(pairs)
        if algo == "ppo":
            out["ratios"]["time_to_solve"] = ratio(medians["rlforge"]["seconds_to_solve"],
                                                   medians["sb3"]["seconds_to_solve"])
    return out


TARGETS = {"sac": ("sps", ">=", 1.8), "dqn": ("sps", ">=", 2.0), "ppo": ("time_to_solve", "<=", 0.5)}


def print_table(results: dict) -> None:
    print("\nalgo  measure          rlforge      SB3      ratio   target")
    for algo, r in results.items():
        if algo.startswith("_"):
            continue
        m, ratios = r["medians"], r.get("ratios", {})
        rows = [("env steps/s", "sps", "sps"), ("eval return", "eval_return", None)]
        if algo == "ppo":
            rows.insert(0, ("s to solve", "seconds_to_solve", "time_to_solve"))
        for label, key, ratio_key in rows:
            sb3 = m.get("sb3", {}).get(key)
            target = TARGETS[algo]
            goal = f"{target[1]} {target[2]}" if ratio_key == target[0] else ""
            print(f"{algo:<5} {label:<14} {_fmt(m.get('rlforge', {}).get(key)):>9} {_fmt(sb3):>9} "
                  f"{_fmt(ratios.get(ratio_key)) if ratio_key else '':>9}   {goal}")


def _fmt(v):
    return "-" if v is None else f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"


def parse_steps(text: str | None) -> dict:
    """--steps sac=3000,dqn=20000,ppo=51200"""
    out = {}
    for part in filter(None, (text or "").split(",")):
        algo, _, value = part.partition("=")
        out[algo.strip()] = int(value)
    return out


def parse_sets(pairs: list[str], algo: str) -> dict:
    """--set dqn.train_freq=4 --set sac.batch_size=512: the ones for `algo`, values as JSON."""
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        owner, _, key = name.partition(".")
        if owner == algo:
            if key not in SETTINGS[algo]:
                raise SystemExit(f"error: {algo} has no setting {key!r}; settings: {', '.join(SETTINGS[algo])}")
            out[key] = json.loads(value)
    return out


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("rlforge", "rlforge-sac", "rlforge-pg", "rlforge-dqn", "stable-baselines3", "torch", "gymnasium"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", default="sac,ppo,dqn")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", help="timed env steps per algorithm, e.g. sac=3000,dqn=20000,ppo=51200 "
                                        "(after learning starts for sac and dqn; the whole budget for ppo)")
    parser.add_argument("--set", action="append", default=[], dest="sets", metavar="ALGO.KEY=VALUE",
                        help="change a shared setting on both sides, e.g. dqn.train_freq=4 (a JSON value)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--sides", default="rlforge,sb3", help="rlforge,sb3 or one of them")
    parser.add_argument("--tiny", action="store_true", help="a tiny budget that only checks the harness works")
    parser.add_argument("--cuda-updates", type=int, default=5000, help="with --device cuda: SAC updates timed")
    parser.add_argument("--sb3-matmul-precision", choices=["highest", "high", "medium"], default="highest",
                        help="torch's float32 matmul precision in the SB3 runs (default: torch's own, as SB3 ships)")
    parser.add_argument("--vary-seeds", action="store_true",
                        help="repeat i runs seed i on both sides (default: seed 1 every time); PPO's time to "
                             "solve depends on the seed's luck as much as on speed, so its median over seeds is the fairer figure")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--sb3-worker", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.sb3_worker:
        sb3_worker(args.sb3_worker, json.loads(args.settings), args.threads, args.device, args.sb3_matmul_precision)
        return 0
    sides = [x.strip() for x in args.sides.split(",") if x.strip()]
    algos = [x.strip() for x in args.algos.split(",") if x.strip()]
    unknown = [a for a in algos if a not in SETTINGS] + [x for x in sides if x not in ("rlforge", "sb3")]
    if unknown:
        print(f"error: unknown algorithm or side {', '.join(unknown)}", file=sys.stderr)
        return 2
    if "sb3" in sides and not _has_sb3():
        print("error: stable-baselines3 is not installed: install the bench extra "
              "(pip install -e \".[bench]\") or run with --sides rlforge", file=sys.stderr)
        return 2
    if args.device == "cuda" and not _has_cuda():
        print("error: no CUDA device: torch sees none, so there are no GPU figures to measure here", file=sys.stderr)
        return 2

    steps = parse_steps(args.steps)
    workdir = Path(tempfile.mkdtemp(prefix="rlforge-speed-"))
    results = {"_meta": {
        "command": "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": f"{platform.node()} ({os.cpu_count()} cores), "
        f"{platform.processor() or platform.machine()}", "threads": args.threads, "device": args.device,
        "sb3_matmul_precision": args.sb3_matmul_precision,
        "versions": versions(), "load_average_before": list(os.getloadavg())}}
    for algo in algos:
        s = {**SETTINGS[algo], **(TINY[algo] if args.tiny else {})}
        if algo in steps:
            s["steps"] = steps[algo]
        s.update(parse_sets(args.sets, algo))
        results[algo] = bench(algo, s, args.repeats, sides, args.threads, args.device, workdir,
                              args.sb3_matmul_precision, args.vary_seeds)
        results[algo]["load_average_after"] = list(os.getloadavg())
        if algo == "sac" and args.device == "cuda":
            results[algo]["cuda_updates"] = cuda_updates(s, 200 if args.tiny else args.cuda_updates)
        write(results, args.out)  # after each algorithm: a long run stopped later keeps what it measured
    results["_meta"]["load_average_after"] = list(os.getloadavg())
    print_table(results)
    write(results, args.out)
    if args.out:
        print(f"\nwrote {args.out}")
    return 0


def write(results: dict, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")


def _has_sb3() -> bool:
    import importlib.util

    return importlib.util.find_spec("stable_baselines3") is not None


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


if __name__ == "__main__":
    sys.exit(main())
