"""Evaluation episodes of a policy, deterministic by default."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlforge.envs import EnvAdapter


@dataclass
class EvalResult:
    step: int
    returns: list[float]
    lengths: list[int]

    @property
    def summary(self) -> dict[str, float]:
        r, n = np.asarray(self.returns), np.asarray(self.lengths)
        return {"return_mean": float(r.mean()), "return_std": float(r.std()), "return_min": float(r.min()),
                "return_max": float(r.max()), "length_mean": float(n.mean())}


class EvaluationStopped(Exception):
    """`should_stop` said so: the evaluation was abandoned part-way."""


def evaluate(policy, env: EnvAdapter, episodes: int, deterministic: bool, seed: int, step: int = 0,
             should_stop=None) -> EvalResult:
    """`episodes` episodes over `env`'s copies, one episode per copy per round, seeded from `seed`.
    `should_stop` (a callable) is asked before every step; when it says yes, EvaluationStopped."""
    returns, lengths = [], []
    round_seed = seed
    while len(returns) < episodes:
        obs = env.reset(seed=round_seed)
        round_seed += env.num_envs
        finished = np.zeros(env.num_envs, dtype=bool)
        while not finished.all():
            if should_stop is not None and should_stop():
                raise EvaluationStopped
            result = env.step(policy.act(obs, deterministic=deterministic))
            obs = result.obs
            for i, ret, length in zip(np.flatnonzero(result.terminated | result.truncated),
                                      result.episode_returns, result.episode_lengths):
                if not finished[i]:
                    returns.append(ret)
                    lengths.append(length)
                    finished[i] = True
    return EvalResult(step, returns[:episodes], lengths[:episodes])
