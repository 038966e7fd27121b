"""Why the env step costs more inside a SAC iteration than in a tight loop: a HalfCheetah-v4
step timed alone, right after a 256x256 matrix product, and right after writing 32 MB (what
an update does to the CPU caches, roughly). One torch thread; mean of 1,000 steps each.

    python benchmarks/cache_effect.py
"""

import json
import time

import gymnasium as gym
import numpy as np
import torch


def mean_step_us(env, actions, before) -> float:
    total = 0.0
    for action in actions:
        before()
        start = time.perf_counter()
        env.step(action)
        total += time.perf_counter() - start
    return 1e6 * total / len(actions)


def main() -> None:
    torch.set_num_threads(1)
    env = gym.make("HalfCheetah-v4")
    env.reset(seed=0)
    actions = [env.action_space.sample() for _ in range(1000)]
    a = torch.randn(256, 256)
    memory = np.zeros(4_000_000)  # 32 MB
    result = {"alone_us": mean_step_us(env, actions, lambda: None),
              "after_256x256_product_us": mean_step_us(env, actions, lambda: a @ a),
              "after_writing_32MB_us": mean_step_us(env, actions, lambda: memory.__iadd__(1.0))}
    print(json.dumps({k: round(v, 1) for k, v in result.items()}))


if __name__ == "__main__":
    main()
