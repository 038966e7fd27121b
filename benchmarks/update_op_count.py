"""How many torch operator calls one eager SAC update makes (HalfCheetah-v4 preset, batch
256): torch.profiler over 10 updates; "outermost" counts the calls made from rlforge's code,
"all" adds the ones those make inside torch.

    python benchmarks/update_op_count.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from speed_profile import build_engine, fill  # noqa: E402

UPDATES = 10


def main() -> None:
    engine = build_engine("HalfCheetah-v4", 1, [], total=1 << 40)
    fill(engine)
    agent = engine.agent
    batch = agent.buffer.sample(agent.config.batch_size)
    for _ in range(5):  # warm-up
        agent._update_critic(batch)
        agent._update_actor(batch["obs"])
    with torch.profiler.profile() as profile:
        for _ in range(UPDATES):
            agent._update_critic(batch)
            agent._update_actor(batch["obs"])
    calls = [event for event in profile.events() if event.name.startswith("aten::")]
    outermost = [event for event in calls
                 if event.cpu_parent is None or not event.cpu_parent.name.startswith("aten::")]
    print(f"torch operator calls per update: {len(outermost) / UPDATES:.0f} outermost, {len(calls) / UPDATES:.0f} in all")


if __name__ == "__main__":
    main()
