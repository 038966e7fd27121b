"""Time per planned action of `mpc`: one MPCPolicy.act call for one observation, with the
dynamics ensemble of the homework runs (3 members of 2x250), for random shooting and CEM on
HalfCheetah-v4 (17-D observations, 6-D actions) and Reacher-v4, on one torch thread.
The model is untrained (timing does not depend on the weights).

    .venv/bin/python benchmarks/mbrl_plan_time.py --out benchmarks/results/mbrl_plan_time.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import gymnasium as gym
import numpy as np
import torch

from rlforge_mbrl.config import MPCConfig
from rlforge_mbrl.mpc import MPCAgent

CASES = [
    ("HalfCheetah-v4", {"planner": "random", "num_sequences": 1000, "horizon": 15}),
    ("HalfCheetah-v4", {"planner": "cem", "num_sequences": 1000, "horizon": 15, "cem_iterations": 4, "cem_elites": 5}),
    ("HalfCheetah-v4", {"planner": "random", "num_sequences": 4000, "horizon": 15}),
    ("Reacher-v4", {"planner": "random", "num_sequences": 1000, "horizon": 10}),
    ("Reacher-v4", {"planner": "random", "num_sequences": 1000, "horizon": 30}),
    ("Obstacles-v0", {"planner": "random", "num_sequences": 1000, "horizon": 10}),
]


def time_case(env_id: str, values: dict, repeats: int) -> dict:
    torch.manual_seed(0)
    if env_id == "Obstacles-v0":
        from rlforge_mbrl.obstacles import ObstaclesEnv
        env = ObstaclesEnv()
    else:
        env = gym.make(env_id)
    cfg = MPCConfig(**{"model_hidden": [250, 250], "ensemble_size": 3, **values})
    agent = MPCAgent(cfg, env.observation_space, env.action_space, env_id=env_id)
    obs = env.reset(seed=0)[0][None].astype(np.float32)
    agent.policy.act(obs)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        agent.policy.act(obs)
        times.append(time.perf_counter() - start)
    return {"env": env_id, **values, "ms_per_action_median": round(1000 * float(np.median(times)), 2),
            "ms_per_action_min": round(1000 * min(times), 2), "repeats": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [time_case(env_id, values, args.repeats) for env_id, values in CASES]
    for r in results:
        print(r)
    with open(args.out, "w") as handle:
        json.dump({"torch_threads": 1, "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
                   "cases": results}, handle, indent=1)


if __name__ == "__main__":
    main()
