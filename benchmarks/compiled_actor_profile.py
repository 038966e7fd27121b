"""Where SAC's compiled actor step (`compile_update: true`) spends its time: torch.profiler's
table of 20 actor steps on HalfCheetah-v4 (batch 256, one thread) with Inductor's per-kernel
profiling on, so each generated C++ kernel is a row of its own.

    python benchmarks/compiled_actor_profile.py [--steps 20] [--rows 25]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch._inductor.config as inductor_config

sys.path.insert(0, str(Path(__file__).parent))
from speed_profile import build_engine, fill  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    if args.steps < 1 or args.rows < 1:
        parser.error("--steps and --rows must be at least 1")
    inductor_config.cpp.enable_kernel_profile = True
    engine = build_engine("HalfCheetah-v4", 1, ["compile_update=true"], total=1 << 40)
    fill(engine)
    agent = engine.agent
    batch = agent.buffer.sample(agent.config.batch_size)
    for _ in range(30):  # compilation and warm-up
        agent._update_critic(batch)
        agent._update_actor(batch["obs"])
    with torch.profiler.profile() as profile:
        for _ in range(args.steps):
            agent._update_actor(batch["obs"])
    print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
