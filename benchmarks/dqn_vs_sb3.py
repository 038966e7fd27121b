"""DQN env steps per second on CartPole-v1: rlforge vs Stable-Baselines3, same settings.

    python benchmarks/dqn_vs_sb3.py --repeats 3 --out benchmarks/results/dqn_vs_sb3_cartpole.json

Both train the same DQN (2x64 ReLU MLP, Adam 1e-3, batch 128, replay 100,000, discount 0.99,
one gradient step per env step, Huber loss, gradient norm clipped at 10, a hard target copy
every 1,000 env steps, epsilon 1 -> 0.02 over the first 10% of the steps, learning from step
1,000) for `learning_starts + steps` env steps with one env, one torch thread, on the CPU, and
no evaluation. The figure is the env steps per second from learning_starts to the end (the
part that trains), each run in a fresh process; the two libraries alternate (rlforge, SB3,
rlforge, SB3, ...) so that background load hits both alike. rlforge runs through its CLI
(`rlforge train`, as a user would) and is timed from the wall times of its metrics.csv rows;
SB3 runs `DQN.learn` with a callback that records the time at learning_starts and at the end.

Needs stable-baselines3 (`pip install stable-baselines3`).
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

LEARNING_STARTS = 1000
SETTINGS = {  # rlforge config key: value (the SB3 equivalents are spelled out in SB3_SCRIPT)
    "hidden": "[64,64]", "activation": "relu", "lr": "1e-3", "batch_size": "128", "buffer_size": "100000",
    "gamma": "0.99", "train_frequency": "1", "updates_per_step": "1", "loss": "huber", "max_grad_norm": "10",
    "target_update": "hard", "target_period": "1000", "epsilon_start": "1.0", "epsilon_end": "0.02",
    "epsilon_fraction": "0.1", "learning_starts": str(LEARNING_STARTS), "double_q": "false", "n_step": "1",
    "eval_every": "0", "eval_episodes": "1", "log_every": "1000", "torch_threads": "1", "device": "cpu",
}

SB3_SCRIPT = """
import json, sys, time
import torch
torch.set_num_threads(1)
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

total, starts = int(sys.argv[1]), int(sys.argv[2])

class Clock(BaseCallback):
    def __init__(self):
        super().__init__()
        self.marks = {}
    def _on_step(self):
        if self.num_timesteps == starts:
            self.marks["start"] = time.perf_counter()
        return True
    def _on_training_end(self):
        self.marks["end"] = time.perf_counter()

model = DQN("MlpPolicy", "CartPole-v1", learning_rate=1e-3, buffer_size=100_000, learning_starts=starts,
            batch_size=128, tau=1.0, gamma=0.99, train_freq=1, gradient_steps=1, target_update_interval=1000,
            exploration_fraction=0.1, exploration_initial_eps=1.0, exploration_final_eps=0.02,
            max_grad_norm=10, policy_kwargs={"net_arch": [64, 64]}, seed=1, device="cpu", verbose=0)
clock = Clock()
model.learn(total_timesteps=total, callback=clock)
print(json.dumps({"sps": (total - starts) / (clock.marks["end"] - clock.marks["start"])}))
"""


def run_rlforge(total: int, workdir: Path, index: int) -> float:
    run_dir = workdir / f"rlforge-{index}"
    args = [sys.executable, "-m", "rlforge.cli", "train", "--algo", "dqn", "--env", "CartPole-v1", "--seed", "1",
            "--steps", str(total), "--run-dir", str(run_dir)]
    for key, value in SETTINGS.items():
        args += ["--set", f"{key}={value}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "RLFORGE_LOAD_PLUGINS": "dqn"})
    rows = [r for r in csv.DictReader(open(run_dir / "metrics.csv")) if r["tag"] == "charts/sps"]
    times = {int(r["step"]): float(r["wall_time"]) for r in rows}
    return (total - LEARNING_STARTS) / (times[total] - times[LEARNING_STARTS])


def run_sb3(total: int) -> float:
    done = subprocess.run([sys.executable, "-c", SB3_SCRIPT, str(total), str(LEARNING_STARTS)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["sps"]


def versions() -> dict:
    from importlib.metadata import version

    return {name: version(name) for name in ("rlforge", "rlforge-dqn", "stable-baselines3", "torch", "gymnasium")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps after learning starts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    total = LEARNING_STARTS + args.steps
    workdir = Path(tempfile.mkdtemp(prefix="rlforge-dqn-vs-sb3-"))
    results = {"rlforge": [], "sb3": []}
    for i in range(args.repeats):
        results["rlforge"].append(round(run_rlforge(total, workdir, i), 1))
        print(f"repeat {i + 1}: rlforge {results['rlforge'][-1]} steps/s", flush=True)
        results["sb3"].append(round(run_sb3(total), 1))
        print(f"repeat {i + 1}: SB3     {results['sb3'][-1]} steps/s", flush=True)
    summary = {
        "command": f"python benchmarks/dqn_vs_sb3.py --steps {args.steps} --repeats {args.repeats} --out {args.out}",
        "machine": f"{platform.node()} ({os.cpu_count()} cores)", "date": time.strftime("%Y-%m-%d"),
        "env": "CartPole-v1", "env_steps_timed": args.steps, "learning_starts": LEARNING_STARTS, "torch_threads": 1,
        "settings": SETTINGS, "versions": versions(), "sps": results,
        "median_sps": {k: statistics.median(v) for k, v in results.items()},
    }
    summary["ratio_rlforge_over_sb3"] = round(summary["median_sps"]["rlforge"] / summary["median_sps"]["sb3"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("median_sps", "ratio_rlforge_over_sb3")}, indent=2))


if __name__ == "__main__":
    main()
