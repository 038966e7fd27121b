"""Random transitions for an agent's unit tests: fill a replay buffer without running an env, then
run updates on it."""

from __future__ import annotations

import numpy as np


def random_transitions(observation_space, action_space, steps: int, num_envs: int = 1, seed: int = 0,
                       terminated_fraction: float = 0.2):
    """`steps` x `num_envs` transitions with observations and actions drawn uniformly inside the
    spaces' bounds (Box spaces; unbounded observation dims are drawn from a standard normal),
    normal rewards, and about `terminated_fraction` of the rows terminated (none truncated)."""
    from rlforge.agent import Transitions  # here, not at import: rlforge.testing stays light

    rng = np.random.default_rng(seed)
    shape = (steps, num_envs)

    def draw(space) -> np.ndarray:
        low = np.broadcast_to(space.low, space.shape)
        high = np.broadcast_to(space.high, space.shape)
        bounded = np.isfinite(low) & np.isfinite(high)
        values = rng.standard_normal((*shape, *space.shape))
        uniform = rng.uniform(np.where(bounded, low, 0.0), np.where(bounded, high, 1.0), (*shape, *space.shape))
        return np.where(bounded, uniform, values).astype(space.dtype)

    return Transitions(obs=draw(observation_space), actions=draw(action_space),
                       rewards=rng.normal(size=shape).astype(np.float32), next_obs=draw(observation_space),
                       terminated=rng.random(shape) < terminated_fraction, truncated=np.zeros(shape, dtype=bool))


def run_updates(agent, updates: int, first_step: int = 100, seed: int = 3) -> list[dict]:
    """`updates` calls of agent.update (one per engine iteration, metrics due) from env step
    `first_step` on, torch's generator seeded first: two agents given the same calls draw alike."""
    import torch

    from rlforge.agent import Progress

    torch.manual_seed(seed)
    return [agent.update(Progress(step=first_step + i, total_steps=first_step + updates, iteration=i))
            for i in range(updates)]
