"""Learning curves of groups of runs: per setting, the mean over seeds with a bootstrap
confidence band, one panel per env, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError
from rlforge.sweeps import stats

GRID_POINTS = 200  # x positions a wall-time curve is resampled to
ONLINE_TAG = "charts/online"  # 1 from the step an offline-to-online run starts collecting


def aligned(runs, tag: str, x: str, weight: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, curves [seeds, points]): every seed's smoothed curve on common x positions, over the
    range all seeds cover (so the mean never mixes in a seed that has stopped)."""
    series = [(np.asarray(xs), stats.smooth(vs, weight)) for xs, vs in (r.series(tag, x) for r in runs) if len(xs)]
    if not series:
        return None
    low, high = max(xs[0] for xs, _ in series), min(xs[-1] for xs, _ in series)
    if high < low:
        return None
    if x == "steps":  # the steps the seeds logged at, within the common range
        grid = np.unique(np.concatenate([xs[(xs >= low) & (xs <= high)] for xs, _ in series]))
    else:
        grid = np.linspace(low, high, GRID_POINTS) if high > low else np.asarray([low])
    return grid, np.stack([np.interp(grid, xs, vs) for xs, vs in series])


def online_switch_step(run) -> int | None:
    """The step where an offline-to-online run started collecting (None: no offline phase)."""
    xs, values = run.series(ONLINE_TAG, "steps")
    switched = [x for x, v in zip(xs, values) if v >= 0.5]
    return int(switched[0]) if switched else None


def _mark_online_switch(axis, runs, color) -> None:
    """A dashed vertical line where the group's runs switched from offline to online."""
    steps = {s for s in (online_switch_step(r) for r in runs) if s is not None}
    for step in sorted(steps):
        axis.axvline(step, color=color, linestyle="--", linewidth=1, alpha=0.7)
        axis.annotate("online", (step, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                      textcoords="offset points", fontsize="small", color=color)


def plot(groups: dict, tag: str, out: Path, x: str = "steps", weight: float = 0.0,
         confidence: float = 0.95, title: str | None = None) -> int:
    """Draw every group's curve into `out`; returns the number of curves drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RLForgeError("plots need matplotlib: pip install 'rlforge[plots]'") from None
    envs = list(dict.fromkeys(str(runs[0].config.get("env")) for runs in groups.values()))
    figure, axes = plt.subplots(1, len(envs), figsize=(6.4 * len(envs), 4.2), squeeze=False)
    drawn = 0
    for label, runs in groups.items():
        curve = aligned(runs, tag, x, weight)
        if curve is None:
            continue
        grid, curves = curve
        axis = axes[0][envs.index(str(runs[0].config.get("env")))]
        line, = axis.plot(grid, curves.mean(axis=0), label=f"{label} (n={len(curves)})")
        if len(curves) > 1:
            low, high = stats.bootstrap_band(curves, confidence)
            axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        drawn += 1
        if x == "steps":
            _mark_online_switch(axis, runs, line.get_color())
    if not drawn:
        plt.close(figure)
        raise RLForgeError(f"no run has metric {tag!r} (see the tags in a run's metrics.csv)")
    for env, axis in zip(envs, axes[0]):
        axis.set_title(title or env if len(envs) == 1 else env)
        axis.set_xlabel("environment steps" if x == "steps" else "wall time (s)")
        axis.set_ylabel(tag)
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return drawn
