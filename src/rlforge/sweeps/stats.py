"""Statistics over seeds: the interquartile mean, percentile-bootstrap confidence intervals
(seeded, so a table reads the same twice) and smoothing of curves. NumPy only."""

from __future__ import annotations

import numpy as np


def iqm(values, axis: int = -1):
    """The interquartile mean: the mean of the middle half of the values (a quarter of them
    dropped from each end), robust to one lucky or unlucky seed yet using more than the median."""
    data = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = data.shape[axis]
    cut = n // 4
    return np.take(data, np.arange(cut, n - cut), axis=axis).mean(axis=axis)


STATISTICS = {"iqm": iqm, "mean": lambda values, axis=-1: np.mean(values, axis=axis)}


def bootstrap_ci(values, statistic=iqm, confidence: float = 0.95, resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of `statistic` over the values (seeds resampled with
    replacement). With one value the interval is that value."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return (float(data[0]), float(data[0])) if data.size else (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    picks = data[rng.integers(0, data.size, size=(resamples, data.size))]
    estimates = statistic(picks, axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(estimates, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_band(curves: np.ndarray, confidence: float = 0.95, resamples: int = 1000,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bootstrap interval of the mean of curves [seeds, points]."""
    curves = np.asarray(curves, dtype=float)
    if curves.shape[0] < 2:
        return curves[0], curves[0]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, curves.shape[0], size=(resamples, curves.shape[0]))
    means = curves[picks].mean(axis=1)  # [resamples, points]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail], axis=0)
    return low, high


def smooth(values, weight: float) -> np.ndarray:
    """Exponential moving average with the start-up bias removed (weight 0: unchanged)."""
    values = np.asarray(values, dtype=float)
    if weight <= 0 or values.size == 0:
        return values
    result, average, norm = np.empty_like(values), 0.0, 0.0
    for i, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        result[i] = average / norm
    return result
