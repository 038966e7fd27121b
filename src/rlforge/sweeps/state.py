"""What a trial's run directory says about it, and so what a (resumed) sweep does with it.

The run's own meta.json is the only record: a sweep that was killed at any moment reads the
truth back from its trials' folders, with no sweep-level state to go stale.
"""

from __future__ import annotations

from pathlib import Path

from rlforge.commands.runs import run_status
from rlforge.runs import try_read_meta

# What to do with a trial, by what its folder holds.
SKIP, RESUME, START, RESTART = "skip", "resume", "start", "restart"


def trial_status(run_dir: Path) -> str:
    """pending (no run yet), finished, stopped, crashed or running (by a live process)."""
    meta = try_read_meta(run_dir)
    return "pending" if meta is None else run_status(meta)


def has_checkpoint(run_dir: Path) -> bool:
    return (run_dir / "checkpoints" / "latest").is_file()


def action(run_dir: Path) -> str:
    """skip a finished trial; resume one that stopped or crashed after a checkpoint; start a new
    one; restart (from scratch) one that failed before its first checkpoint."""
    status = trial_status(run_dir)
    if status == "finished":
        return SKIP
    if status == "pending":
        return RESTART if run_dir.exists() and any(run_dir.iterdir()) else START
    return RESUME if has_checkpoint(run_dir) else RESTART


def last_eval(run_dir: Path) -> float | None:
    meta = try_read_meta(run_dir)
    return None if meta is None else (meta.get("last_eval") or {}).get("return_mean")
