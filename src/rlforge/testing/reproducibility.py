"""Checks that compare whole runs' metrics.csv (wall time and charts/sps aside).

  same_seed_same_metrics[ENV]  a second run with the same seed writes the same metrics
  resume_continues_run[ENV]    that second run, resumed from its halfway checkpoint in a fresh
                               engine (as `rlforge train --resume` does), writes the same
                               metrics as the uninterrupted first run
"""

from __future__ import annotations

import traceback

from rlforge.testing.context import TrainedRun, read_metrics, slug, train_and_read_metrics
from rlforge.testing.outcomes import CheckFailed, CheckSkipped, describe

NONDETERMINISTIC_TAGS = ("charts/sps",)


def second_run(kit, first: TrainedRun) -> TrainedRun:
    """The run again with the same seed, checkpointing halfway (for the resume check)."""
    half = max(1, kit.steps // 2)
    return kit.train(first.env_id, "b", {"checkpoint_every": half, "keep_checkpoints": 2})


def check_same_seed(kit, first: TrainedRun, second: TrainedRun) -> None:
    problem = first_difference(first.rows, second.rows)
    if problem:
        raise CheckFailed(f"two runs with seed {kit.seed} differ: {problem} (is an RNG not seeded from the engine's seed?)")


def check_resume(kit, first: TrainedRun, second: TrainedRun) -> None:
    """Continue the second run from its halfway checkpoint in a fresh engine and compare its
    metrics with the uninterrupted first run's."""
    from rlforge import checkpoint

    saved = sorted(p for p in second.run.checkpoints.glob("step_*") if p.is_dir())
    if len(saved) < 2:
        raise CheckFailed(f"the run wrote no checkpoint before its end (checkpoint_every={kit.steps // 2})")
    state, metadata = checkpoint.load(saved[0])
    spec, resolved, engine = kit.build(first.env_id)
    engine.check_compatible(metadata)
    run = kit.new_run(spec, resolved, f"{slug(first.env_id)}-resumed")
    try:
        exact = engine.load_state_dict(state, run)
    except Exception as exc:
        raise CheckFailed(f"the engine cannot resume from {saved[0].name}: {describe(exc)}",
                          traceback.format_exc()) from None
    if not exact:
        raise CheckSkipped(f"{first.env_id} cannot restore its exact state, so a resumed run starts fresh episodes")
    resumed_at = run.step
    train_and_read_metrics(engine, run)
    problem = first_difference([r for r in first.rows if int(r["step"]) > resumed_at], read_metrics(run))
    if problem:
        raise CheckFailed(f"resumed at step {resumed_at}, the run differs from the uninterrupted one: {problem} "
                          "(does state_dict() hold everything: networks, optimisers, buffers, RNGs, counters?)")


def first_difference(expected: list[dict], actual: list[dict]) -> str | None:
    """The first metrics.csv row where two runs differ (wall time and charts/sps aside), or None."""
    def comparable(rows):
        return [(r["step"], r["tag"], r["value"]) for r in rows if r["tag"] not in NONDETERMINISTIC_TAGS]

    a, b = comparable(expected), comparable(actual)
    for row_a, row_b in zip(a, b):
        if row_a != row_b:
            return f"at step {row_a[0]} {row_a[1]} = {row_a[2]}, then {row_b[1]} = {row_b[2]} at step {row_b[0]}"
    if len(a) != len(b):
        return f"they wrote {len(a)} and {len(b)} metric rows"
    return None
