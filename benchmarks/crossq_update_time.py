"""CrossQ's time per update (one critic step, and an actor step every `policy_delay`-th) on
HalfCheetah-v4's spaces for several critic widths, with one torch thread: what picks the
default `critic_hidden` that trains 100k steps on a 2-core machine within about an hour.

    python benchmarks/crossq_update_time.py [--widths 256,512,1024,2048] [--updates 30] [--out FILE.json]

Builds the agent with CrossQ's defaults but the width, fills the replay buffer with 10,000
random transitions, warms up with 3 updates, then times `--updates` updates (each through
`agent.update`, as the engine calls it, under the update's matmul precision) and reports the
median and mean milliseconds per update. An env step and acting come on top in a run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

from rlforge.agent import Progress, Transitions
from rlforge.precision import matmul_precision, update_precision
from rlforge_sac.crossq import CrossQAgent
from rlforge_sac.crossq_config import CrossQConfig


def time_width(width: int, updates: int, env) -> dict:
    torch.manual_seed(0)
    config = CrossQConfig(critic_hidden=[width, width], buffer_size=20_000, learning_starts=0, random_steps=0)
    agent = CrossQAgent(config, env.observation_space, env.action_space)
    rng = np.random.default_rng(0)
    shape = (10_000, 1)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    agent.observe(Transitions(obs=rng.normal(size=(*shape, obs_dim)).astype(np.float32),
                              actions=rng.uniform(-1, 1, (*shape, act_dim)).astype(np.float32),
                              rewards=rng.normal(size=shape).astype(np.float32),
                              next_obs=rng.normal(size=(*shape, obs_dim)).astype(np.float32),
                              terminated=np.zeros(shape, dtype=bool), truncated=np.zeros(shape, dtype=bool)))
    precision = update_precision("auto", agent.device, agent.update_matmul_precision)
    progress = Progress(step=10_000, total_steps=100_000, iteration=1, metrics_due=False)
    seconds = []
    with matmul_precision(precision):
        for i in range(3 + updates):
            start = time.perf_counter()
            agent.update(progress)
            if i >= 3:
                seconds.append(time.perf_counter() - start)
    median_ms = 1e3 * statistics.median(seconds)
    return {"width": width, "precision": precision, "updates": updates, "median_ms": round(median_ms, 2),
            "mean_ms": round(1e3 * statistics.fmean(seconds), 2),
            "hours_per_100k_updates": round(median_ms * 100_000 / 3.6e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="256,512,1024,2048")
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = gym.make("HalfCheetah-v4")
    rows = []
    for width in (int(w) for w in args.widths.split(",")):
        rows.append(time_width(width, args.updates, env))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"torch": torch.__version__, "threads": 1, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
