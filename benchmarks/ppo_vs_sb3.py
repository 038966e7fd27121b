"""PPO on CartPole-v1: wall time to solve (first deterministic evaluation >= 475), rlforge vs
Stable-Baselines3 with the same settings, and the return reached at the same step budget.

    python benchmarks/ppo_vs_sb3.py --repeats 3 --out benchmarks/results/ppo_vs_sb3_cartpole.json

Settings (rlforge's preset configs/ppo/CartPole-v1.yaml, the rl-baselines3-zoo ones): 8 sync
envs x 32 steps, one minibatch of 256, 20 epochs, Adam lr 1e-3 annealed linearly to 0, gamma
0.98, GAE lambda 0.8, clip 0.2 (constant in both), no value clipping (SB3's default), no
entropy bonus, value coefficient 0.5, gradient norm 0.5, 2x64 tanh networks, one torch thread.
Both evaluate 10 deterministic episodes every 2,048 env steps (evaluation time counts in
both), for at most 100,352 env steps (392 iterations). Time is measured from the launch of
each run's process (imports included) to the end of the first evaluation at or above 475;
the two libraries alternate run by run so that background load hits both alike.

Needs stable-baselines3 (`pip install -e ".[bench]"`).
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

THRESHOLD, EVAL_EVERY, EVAL_EPISODES, TOTAL = 475.0, 2048, 10, 100_352
RLFORGE_SETTINGS = {"num_envs": "8", "n_steps": "32", "num_minibatches": "1", "update_epochs": "20", "lr": "1e-3",
                    "anneal_lr": "true", "gamma": "0.98", "gae_lambda": "0.8", "clip_coef": "0.2",
                    "clip_value_loss": "false", "ent_coef": "0.0", "vf_coef": "0.5", "max_grad_norm": "0.5",
                    "hidden": "[64,64]", "activation": "tanh", "normalize_advantages": "true",
                    "eval_every": str(EVAL_EVERY), "eval_episodes": str(EVAL_EPISODES), "log_every": "2048",
                    "torch_threads": "1", "device": "cpu"}

SB3_SCRIPT = """
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

threshold, every, episodes, total = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

class Evaluate(BaseCallback):
    def __init__(self):
        super().__init__()
        self.env, self.next, self.evals = gym.make("CartPole-v1"), every, []
    def _on_step(self):
        if self.num_timesteps >= self.next:
            self.next += every
            returns = []
            for episode in range(episodes):
                obs, _ = self.env.reset(seed=1_000_003 + episode)
                done, total_return = False, 0.0
                while not done:
                    action, _ = self.model.predict(obs, deterministic=True)
                    obs, reward, terminated, truncated, _ = self.env.step(action)
                    total_return += reward
                    done = terminated or truncated
                returns.append(total_return)
            self.evals.append([self.num_timesteps, float(np.mean(returns)), time.time()])
        return True

env = make_vec_env("CartPole-v1", n_envs=8, seed=1)
model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, n_epochs=20, learning_rate=lambda f: f * 1e-3,
            gamma=0.98, gae_lambda=0.8, clip_range=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
            policy_kwargs={"net_arch": [64, 64]}, seed=1, device="cpu", verbose=0)
callback = Evaluate()
model.learn(total_timesteps=total, callback=callback)
print(json.dumps(callback.evals))
"""


def summarise(evals: list, launched: float) -> dict:
    """evals: [step, mean return, unix time]; the first at the threshold and the last."""
    solved = next(([s, t] for s, r, t in evals if r >= THRESHOLD), None)
    return {"solved_at_step": solved[0] if solved else None,
            "seconds_to_solve": round(solved[1] - launched, 2) if solved else None,
            "final_eval_return": evals[-1][1] if evals else None, "final_step": evals[-1][0] if evals else None}


def run_rlforge(workdir: Path, index: int) -> dict:
    run_dir = workdir / f"rlforge-{index}"
    args = [sys.executable, "-m", "rlforge.cli", "train", "--algo", "ppo", "--env", "CartPole-v1", "--seed", "1",
            "--steps", str(TOTAL), "--run-dir", str(run_dir)]
    for key, value in RLFORGE_SETTINGS.items():
        args += ["--set", f"{key}={value}"]
    launched = time.time()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "RLFORGE_LOAD_PLUGINS": "pg"})
    evals = [[int(r["step"]), float(r["value"]), float(r["wall_time"])]
             for r in csv.DictReader(open(run_dir / "metrics.csv")) if r["tag"] == "eval/return_mean"]
    return summarise(evals, launched)


def run_sb3() -> dict:
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", SB3_SCRIPT, str(THRESHOLD), str(EVAL_EVERY), str(EVAL_EPISODES),
                           str(TOTAL)], check=True, capture_output=True, text=True)
    return summarise(json.loads(done.stdout.strip().splitlines()[-1]), launched)


def main() -> None:
    from importlib.metadata import version

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="rlforge-ppo-vs-sb3-"))
    runs = {"rlforge": [], "sb3": []}
    for i in range(args.repeats):
        runs["rlforge"].append(run_rlforge(workdir, i))
        print(f"repeat {i + 1}: rlforge {runs['rlforge'][-1]}", flush=True)
        runs["sb3"].append(run_sb3())
        print(f"repeat {i + 1}: SB3     {runs['sb3'][-1]}", flush=True)
    medians = {k: statistics.median(r["seconds_to_solve"] for r in v if r["seconds_to_solve"] is not None)
               if any(r["seconds_to_solve"] is not None for r in v) else None for k, v in runs.items()}
    summary = {"command": f"python benchmarks/ppo_vs_sb3.py --repeats {args.repeats} --out {args.out}",
               "machine": f"{platform.node()} ({os.cpu_count()} cores)", "date": time.strftime("%Y-%m-%d"),
               "settings": RLFORGE_SETTINGS, "total_steps": TOTAL, "threshold": THRESHOLD,
               "versions": {n: version(n) for n in ("rlforge", "rlforge-pg", "stable-baselines3", "torch")},
               "runs": runs, "median_seconds_to_solve": medians}
    if all(medians.values()):
        summary["ratio_rlforge_over_sb3"] = round(medians["rlforge"] / medians["sb3"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary.get(k) for k in ("median_seconds_to_solve", "ratio_rlforge_over_sb3")}, indent=2))


if __name__ == "__main__":
    main()
