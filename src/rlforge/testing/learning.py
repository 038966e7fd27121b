"""Check `trains[ENV]`: a short run through the core engine finishes, `update` reports
metrics, every logged value is finite, the engine evaluated, and the policy's parameters changed."""

from __future__ import annotations

import math

from rlforge.testing.context import TrainedRun
from rlforge.testing.outcomes import CheckFailed

ENGINE_TAGS = ("charts/episode_return", "charts/episode_length", "charts/sps")  # written by the engine


def check_trains(trained: TrainedRun) -> None:
    from rlforge.testing.state import diff_states, snapshot

    for row in trained.rows:
        if not math.isfinite(float(row["value"])):
            raise CheckFailed(f"{row['tag']} is {row['value']} at step {row['step']}")
    algorithm_rows = [r for r in trained.rows if r["tag"] not in ENGINE_TAGS and not r["tag"].startswith("eval/")]
    if not algorithm_rows:
        raise CheckFailed(f"update() reported no metrics in {trained.run.step} steps; return losses from update() "
                          "(or pass overrides= so that it learns within the kit's budget)")
    if not any(r["tag"].startswith("eval/") for r in trained.rows):
        raise CheckFailed("the engine logged no evaluation")
    policy = snapshot(trained.engine.agent.policy.state_dict())
    if trained.initial_policy and not diff_states(trained.initial_policy, policy, "policy", limit=1):
        raise CheckFailed(f"the policy's parameters did not change in {trained.run.step} steps "
                          "(pass overrides= so that it learns within the kit's budget)")
