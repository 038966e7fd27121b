"""Monte-Carlo returns-to-go of a dataset's transitions, per episode.

Cal-QL (Nakamoto et al. 2023) bounds the conservative Q-values from below by the discounted
return the data's own behaviour collected from each state on:

    G_t = r_t + gamma * (1 - terminated_t) * G_{t+1},   G after the episode's last step = 0

summed backwards within each episode. An episode ends where `terminated` or `truncated` is set
(and at the end of the data). A truncated episode's return stops at the cut (nothing is
bootstrapped after it), as the authors compute it: near a time limit G_t is a sum over fewer
steps. Computed in float64, returned as float32.
"""

from __future__ import annotations

import numpy as np


def returns_to_go(rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, gamma: float) -> np.ndarray:
    """G_t for every transition of flat arrays laid out episode after episode (a trailing
    unfinished episode counts as cut there)."""
    rewards = np.asarray(rewards, dtype=np.float64).reshape(-1)
    terminated = np.asarray(terminated, dtype=bool).reshape(-1)
    ends = terminated | np.asarray(truncated, dtype=bool).reshape(-1)
    out = np.empty(len(rewards), dtype=np.float64)
    following = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        if ends[t]:
            following = 0.0
        following = rewards[t] + gamma * following * (not terminated[t])
        out[t] = following
    return out.astype(np.float32)


def episode_returns_to_go(rewards: np.ndarray, terminated: np.ndarray, gamma: float) -> np.ndarray:
    """G_t of one finished episode's steps (its last step ends it, terminated or cut)."""
    truncated = np.zeros(len(rewards), dtype=bool)
    if len(rewards):
        truncated[-1] = True
    return returns_to_go(rewards, terminated, truncated, gamma)
