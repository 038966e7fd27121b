"""Why a policy's episodes end early (issue 20: DAgger's jumping evaluations on Ant-v4): run a
policy deterministically for N episodes and record, for each terminated one, its length and
the torso height at the end (Ant-v4 and Hopper/Walker2d end an episode when the height leaves
the env's healthy range).

    python plugins/rlforge-imitation/benchmarks/episode_terminations.py POLICY --env Ant-v4 \\
        [--episodes 60] [--seed 2000] [--out benchmarks/results/FILE.json]

POLICY is anything rlforge takes as an expert: a shipped expert's name, an expert file, a run
directory (a DAgger or BC run acts with its final policy).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import gymnasium as gym
import numpy as np

from rlforge_imitation.experts import load_expert


def terminations(policy_name: str, env_id: str, episodes: int, seed: int) -> dict:
    env = gym.make(env_id)
    policy = load_expert(policy_name, env.observation_space, env.action_space)
    ended, returns = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total = 0.0
        for step in range(1, 1_000_001):
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs[None].astype(np.float32))[0])
            total += float(reward)
            if terminated:
                ended.append({"episode_seed": seed + episode, "length": step,
                              "torso_height": round(float(env.unwrapped.data.qpos[2]), 4)})
            if terminated or truncated:
                break
        returns.append(total)
    healthy = getattr(env.unwrapped, "_healthy_z_range", None)
    return {"policy": policy_name, "env": env_id, "episodes": episodes, "first_seed": seed,
            "healthy_z_range": list(healthy) if healthy is not None else None,
            "terminated": len(ended), "terminations": ended,
            "return_mean": float(np.mean(returns)), "return_min": float(np.min(returns))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy")
    parser.add_argument("--env", required=True)
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    record = {"command": " ".join(["python", *sys.argv]), "date": str(date.today()),
              **terminations(args.policy, args.env, args.episodes, args.seed)}
    print(json.dumps({k: v for k, v in record.items() if k != "terminations"}))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
