"""How good bc-sac's cloned actor is before SAC touches it, with and without `normalize_obs`.

Builds a BCSACAgent with the HalfCheetah-v4 preset's networks (2x256 relu SAC actor), runs its
`bc_steps` behaviour-cloning steps exactly as the agent does at its first update, and evaluates
the cloned actor's deterministic action for --episodes episodes (env seeds 1000, 1001, ...).
Writes benchmarks/results/imitation_bc_sac_clone.json.

  .venv/bin/python plugins/rlforge-imitation/benchmarks/bc_sac_clone.py --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import json
import platform
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from rlforge_imitation.bc_sac import BCSACAgent
from rlforge_imitation.config import BCSACConfig

ROOT = Path(__file__).resolve().parents[3]


def clone_and_evaluate(env_id: str, seed: int, episodes: int, **values) -> dict:
    torch.manual_seed(seed)
    np.random.seed(seed)
    env = gym.make(env_id)
    config = BCSACConfig(dataset=env_id, actor_hidden=[256, 256], critic_hidden=[256, 256], **values)
    agent = BCSACAgent(config, env.observation_space, env.action_space)
    for _ in range(config.bc_steps):
        agent.bc_step()
    with torch.no_grad():
        mse = float(agent.bc_error(with_log_std=False))
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=1000 + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.policy.act(obs[None], deterministic=True)[0])
            total += float(reward)
            done = terminated or truncated
        returns.append(round(total, 1))
    return {"bc_mse": mse, "return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)),
            "returns": returns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v4")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "imitation_bc_sac_clone.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    result = {"command": "python plugins/rlforge-imitation/benchmarks/bc_sac_clone.py --seeds " + args.seeds,
              "machine": f"{platform.node()} ({os.cpu_count()} cores)", "date": time.strftime("%Y-%m-%d"),
              "env": args.env, "bc_steps": 2000, "episodes": args.episodes, "runs": {}}
    for normalize in (False, True):
        name = f"normalize_obs={str(normalize).lower()}"
        result["runs"][name] = {}
        for seed in seeds:
            run = clone_and_evaluate(args.env, seed, args.episodes, normalize_obs=normalize)
            result["runs"][name][seed] = run
            print(f"{name} seed {seed}: bc_mse {run['bc_mse']:.4f} return {run['return_mean']:.0f} ± {run['return_std']:.0f}",
                  flush=True)
        result["runs"][name]["mean_return"] = float(np.mean([result["runs"][name][s]["return_mean"] for s in seeds]))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
