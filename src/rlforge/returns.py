"""Discounted returns, reward-to-go and GAE(lambda) over the engine's time-major batches.

NumPy only (no torch): on-policy algorithms call these on a rollout of `T` steps of
`num_envs` envs, arrays shaped [T, num_envs] (a 1-D array is taken as one env).

Conventions, those of `rlforge.agent.Transitions`:
  * row t of env i is the step obs[t, i] -> next_obs[t, i] with reward rewards[t, i];
  * an episode ends at row t where `terminated` or `truncated` is true, and row t + 1 starts
    the next episode of that env (several episodes may follow each other inside a batch);
  * the batch's last row ends a *segment*: that episode goes on in the next batch.

What follows the end of a segment:
  * `terminated` (the MDP ended): nothing; the return stops (value 0), whatever else is true;
  * `truncated` (a time limit) or the batch's last row: the episode would have gone on from
    the true next observation next_obs[t]. With `next_values` (V(next_obs), [T, num_envs])
    the return is bootstrapped: ... + gamma * V(next_obs[t]). Without values (REINFORCE with
    no baseline) there is nothing to bootstrap from and the return simply stops there.

All sums are computed in float64 and returned as float32.
"""

from __future__ import annotations

import numpy as np

__all__ = ["discounted_sum", "segment_ends", "reward_to_go", "trajectory_returns", "gae", "normalize"]


def discounted_sum(rewards, gamma: float) -> float:
    """sum_k gamma^k r_k of one sequence of rewards (one episode, no boundaries)."""
    total = 0.0
    for r in reversed(np.asarray(rewards, dtype=np.float64).reshape(-1)):
        total = r + gamma * total
    return float(total)


def _columns(*arrays):
    """Arrays as [T, N] (a 1-D array becomes [T, 1]); `squeeze` says to undo it on return."""
    squeeze = np.ndim(arrays[0]) == 1
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        a = np.asarray(a)
        out.append(a.reshape(-1, 1) if squeeze else a)
    shape = out[0].shape
    if len(shape) != 2:
        raise ValueError(f"expected arrays shaped [T, num_envs] (or [T]), got {shape}")
    for a in out[1:]:
        if a is not None and a.shape != shape:
            raise ValueError(f"arrays must share one shape [T, num_envs]: got {a.shape} and {shape}")
    return squeeze, out


def _result(array: np.ndarray, squeeze: bool) -> np.ndarray:
    array = array.astype(np.float32)
    return array.reshape(-1) if squeeze else array


def segment_ends(terminated, truncated) -> tuple[np.ndarray, np.ndarray]:
    """(ends, bootstrap): `ends` is true where a segment stops (terminated, truncated, or the
    batch's last row); `bootstrap` is true where the return goes on past the stop from
    V(next_obs) (truncated or last row, and not terminated)."""
    terminated = np.asarray(terminated, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool)
    cut = truncated.copy()
    cut[-1] = True
    ends = terminated | cut
    return ends, cut & ~terminated


def reward_to_go(rewards, terminated, truncated, gamma: float, next_values=None) -> np.ndarray:
    """G_t = r_t + gamma * G_{t+1} within an episode (the CS285 "reward-to-go" Q estimate).

    At a termination G_t = r_t. At a truncation and at the batch's last row
    G_t = r_t + gamma * V(next_obs[t]) when `next_values` is given, else G_t = r_t.
    With `next_values` this is also the n-step return of A2C (each row's return up to the
    end of the rollout, bootstrapped there).
    """
    squeeze, (rewards, terminated, truncated, next_values) = _columns(rewards, terminated, truncated, next_values)
    rewards = rewards.astype(np.float64)
    ends, bootstrap = segment_ends(terminated, truncated)
    tail = np.zeros_like(rewards) if next_values is None else np.where(bootstrap, next_values.astype(np.float64), 0.0)
    out = np.empty_like(rewards)
    following = np.zeros(rewards.shape[1])
    for t in range(rewards.shape[0] - 1, -1, -1):
        following = rewards[t] + gamma * np.where(ends[t], tail[t], following)
        out[t] = following
    return _result(out, squeeze)


def trajectory_returns(rewards, terminated, truncated, gamma: float, next_values=None) -> np.ndarray:
    """Every row gets the discounted return of its whole segment, sum_k gamma^k r_{start+k}
    (+ gamma^len * V(next_obs) at a truncation or the batch's end when `next_values` is given):
    the CS285 estimator without reward-to-go.

    A segment starts at the batch's first row or right after an episode ended; for an episode
    that began in an earlier batch this is the return of its part inside this batch.
    """
    squeeze, (rewards, terminated, truncated, next_values) = _columns(rewards, terminated, truncated, next_values)
    togo = reward_to_go(rewards, terminated, truncated, gamma, next_values).astype(np.float64)
    ends, _ = segment_ends(terminated, truncated)
    out = np.empty_like(togo)
    current = togo[0]
    for t in range(togo.shape[0]):
        if t > 0:
            current = np.where(ends[t - 1], togo[t], current)
        out[t] = current
    return _result(out, squeeze)


def gae(rewards, values, next_values, terminated, truncated, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation (Schulman et al. 2016): (advantages, returns).

        delta_t = r_t + gamma * (1 - terminated_t) * V(next_obs_t) - V(obs_t)
        A_t     = delta_t + gamma * lam * A_{t+1}     inside an episode of this batch
        A_t     = delta_t                             where the segment ends (any end)

    So a truncation and the batch's end bootstrap from V(next_obs) (the true final
    observation), a termination does not. returns = A + V (the lambda-returns, the usual
    value targets). lam = 1 gives the bootstrapped reward-to-go minus V; lam = 0 the one-step
    TD error.
    """
    squeeze, (rewards, values, next_values, terminated, truncated) = _columns(
        rewards, values, next_values, terminated, truncated)
    rewards = rewards.astype(np.float64)
    values = values.astype(np.float64)
    next_values = next_values.astype(np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    ends, _ = segment_ends(terminated, truncated)
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    advantages = np.empty_like(rewards)
    following = np.zeros(rewards.shape[1])
    for t in range(rewards.shape[0] - 1, -1, -1):
        following = deltas[t] + gamma * lam * np.where(ends[t], 0.0, following)
        advantages[t] = following
    return _result(advantages, squeeze), _result(advantages + values, squeeze)


def normalize(x, eps: float = 1e-8) -> np.ndarray:
    """(x - mean) / (std + eps) over all entries (the CS285 advantage normalisation)."""
    x = np.asarray(x, dtype=np.float64)
    return ((x - x.mean()) / (x.std() + eps)).astype(np.float32)
