"""The numbers behind `rlforge compare`: per setting, each seed's final and best value of a
metric, summarised over seeds by the interquartile mean and a bootstrap interval."""

from __future__ import annotations

import math

from rlforge.errors import RLForgeError
from rlforge.sweeps import stats


def seed_values(run, tag: str, last: int) -> tuple[float, float, int] | None:
    """(final, best, last step) of one run: final is the mean of its last `last` values."""
    rows = run.points.get(tag, [])
    if not rows:
        return None
    values = [v for _, _, v in rows]
    tail = values[-last:]
    return sum(tail) / len(tail), max(values), rows[-1][0]


def summarise(groups: dict, tag: str, last: int = 1, confidence: float = 0.95) -> list[dict]:
    rows = []
    for label, runs in groups.items():
        per_seed = [v for v in (seed_values(r, tag, last) for r in runs) if v is not None]
        row = {"setting": label, "seeds": len(per_seed), "runs": [str(r.path) for r in runs],
               # a stopped or running seed's "final" value is its last one so far: say how many
               "unfinished": sum(r.status != "finished" for r in runs)}
        if per_seed:
            finals, bests = [f for f, _, _ in per_seed], [b for _, b, _ in per_seed]
            row.update(final_iqm=float(stats.iqm(finals)), final_ci=stats.bootstrap_ci(finals, confidence=confidence),
                       best_iqm=float(stats.iqm(bests)), best_ci=stats.bootstrap_ci(bests, confidence=confidence),
                       final_values=finals, steps=min(s for _, _, s in per_seed))
        rows.append(row)
    if not any(r["seeds"] for r in rows):
        raise RLForgeError(f"no run has metric {tag!r} (see the tags in a run's metrics.csv)")
    return sorted(rows, key=lambda r: -r["final_iqm"] if r["seeds"] and not math.isnan(r["final_iqm"]) else math.inf)
