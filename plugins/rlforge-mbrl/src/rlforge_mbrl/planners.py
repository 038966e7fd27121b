"""Planners over action sequences, vectorised in torch: random shooting and CEM.

A planner sees the world only through `score(actions) -> returns`, where `actions` is
[n, N, H, A] (n observations planned for at once, N candidate sequences each, horizon H) and
the result is [n, N]. So one plan is a handful of batched calls, and the planners can be
tested on any known cost. Both return the plan [n, H, A]; MPC executes its first action.
"""

from __future__ import annotations

from typing import Callable

import torch

Score = Callable[[torch.Tensor], torch.Tensor]


def _uniform(n: int, count: int, horizon: int, low: torch.Tensor, high: torch.Tensor,
             generator: torch.Generator | None) -> torch.Tensor:
    u = torch.rand((n, count, horizon, low.numel()), generator=generator, device=low.device, dtype=low.dtype)
    return low + (high - low) * u


def random_shooting(score: Score, n: int, horizon: int, low: torch.Tensor, high: torch.Tensor,
                    num_sequences: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The best of `num_sequences` uniformly random sequences, for each of n observations."""
    candidates = _uniform(n, num_sequences, horizon, low, high, generator)
    best = score(candidates).argmax(1)  # [n]
    return candidates[torch.arange(n, device=low.device), best]


def cem(score: Score, n: int, horizon: int, low: torch.Tensor, high: torch.Tensor, num_sequences: int,
        iterations: int, elites: int, alpha: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Cross-entropy method: the first round samples uniformly (as random shooting does); each
    later round samples a Gaussian (clipped to the bounds) whose mean and std are moved, with
    weight `alpha`, to those of the previous round's `elites` best sequences. Returns the
    final mean (n, H, A)."""
    candidates = _uniform(n, num_sequences, horizon, low, high, generator)
    mean = std = None
    for i in range(iterations):
        if i > 0:
            noise = torch.randn(candidates.shape, generator=generator, device=low.device, dtype=low.dtype)
            candidates = torch.maximum(torch.minimum(mean.unsqueeze(1) + std.unsqueeze(1) * noise, high), low)
        top = score(candidates).topk(elites, dim=1).indices  # [n, elites]
        chosen = candidates.gather(1, top[..., None, None].expand(-1, -1, *candidates.shape[2:]))
        elite_mean, elite_std = chosen.mean(1), chosen.std(1, unbiased=False)
        if mean is None:
            mean, std = elite_mean, elite_std
        else:
            mean = alpha * elite_mean + (1 - alpha) * mean
            std = alpha * elite_std + (1 - alpha) * std
    return mean
