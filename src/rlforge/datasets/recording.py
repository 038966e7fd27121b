"""Recording a policy's steps on an env into a Dataset: what `rlforge collect` runs.

One env (rlforge.envs.EnvAdapter, seeded with `seed`), stepped until `episodes` episodes have
finished or exactly `steps` transitions are recorded. With `steps`, the episode running when
the count is reached is cut there and its last step marked truncated (D4RL's `timeouts`), so
every episode boundary in the data is marked. Rows go into preallocated arrays (grown by
doubling when the number of steps is not known in advance): a million steps cost the env's
and the policy's time, not the recorder's.

`RandomPolicy` acts uniformly at random (the action space's own `sample()`, from a generator
seeded by the recording's seed): D4RL's `random` datasets.
"""

from __future__ import annotations

import copy

import numpy as np
from gymnasium import spaces

from rlforge.datasets.dataset import FIELDS, Dataset

RANDOM_STREAM, NOISE_STREAM = 11, 7  # seed-sequence keys apart from the env's and the policy's streams
MAX_LISTED_EPISODES = 1000  # episode returns and lengths kept as lists in the metadata up to this many


class RandomPolicy:
    """Uniformly random actions: `action_space.sample()` from its own seeded generator."""

    name = "random"

    def __init__(self, action_space, seed: int):
        self.space = copy.deepcopy(action_space)
        self.space.seed(int(np.random.SeedSequence([seed, RANDOM_STREAM]).generate_state(1)[0]))

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        return np.stack([self.space.sample() for _ in range(len(obs))])


class _Columns:
    """The Dataset's arrays, preallocated for `capacity` rows, doubled when full."""

    def __init__(self, obs: np.ndarray, action: np.ndarray, capacity: int, box: bool):
        self.n = 0
        action_dtype = np.float32 if box else np.int64
        self.arrays = {"obs": np.empty((capacity, *obs.shape), np.float32),
                       "actions": np.empty((capacity, *np.shape(action)), action_dtype),
                       "rewards": np.empty(capacity, np.float32),
                       "next_obs": np.empty((capacity, *obs.shape), np.float32),
                       "terminated": np.zeros(capacity, bool), "truncated": np.zeros(capacity, bool)}

    def add(self, obs, action, reward, next_obs, terminated, truncated) -> None:
        if self.n == len(self.arrays["rewards"]):
            self.arrays = {k: np.concatenate([a, np.zeros_like(a)]) for k, a in self.arrays.items()}
        a, i = self.arrays, self.n
        a["obs"][i], a["actions"][i], a["rewards"][i] = obs, action, reward
        a["next_obs"][i], a["terminated"][i], a["truncated"][i] = next_obs, terminated, truncated
        self.n = i + 1

    def dataset(self, metadata: dict) -> Dataset:
        full = self.n == len(self.arrays["rewards"])
        return Dataset(*(self.arrays[k] if full else self.arrays[k][:self.n].copy() for k in FIELDS), metadata=metadata)


def record(policy, env_id: str, *, episodes: int | None = None, steps: int | None = None, seed: int = 0,
           deterministic: bool = True, action_noise: float = 0.0, plugin_spec=None) -> Dataset:
    """`episodes` whole episodes, or exactly `steps` transitions, of `policy` on one copy of
    `env_id` seeded from `seed`, episode after episode. With `action_noise` > 0 (Box actions),
    Gaussian noise of that standard deviation is added to each action and clipped to the
    action bounds; the noisy action is the one taken and recorded."""
    from rlforge.envs import EnvAdapter

    if (episodes is None) == (steps is None):
        raise ValueError("record: give one of episodes and steps")
    env = EnvAdapter(env_id, 1, seed, "sync", plugin_spec)
    box = isinstance(env.action_space, spaces.Box)
    low, high = (env.action_space.low, env.action_space.high) if box else (None, None)
    noise_rng = np.random.default_rng([seed, NOISE_STREAM])
    returns, lengths, columns = [], [], None

    def more() -> bool:
        return len(returns) < episodes if steps is None else columns is None or columns.n < steps

    try:
        obs = env.reset(seed=seed)
        while more():
            actions = np.asarray(policy.act(obs, deterministic=deterministic))
            if action_noise > 0:
                noisy = actions + action_noise * noise_rng.standard_normal(actions.shape)
                actions = np.clip(noisy, low, high).astype(actions.dtype)
            step = env.step(actions)
            if columns is None:
                columns = _Columns(obs[0], actions[0], steps if steps is not None else 4096, box)
            columns.add(obs[0], actions[0], step.rewards[0], step.final_obs[0], step.terminated[0], step.truncated[0])
            if step.episode_returns:
                returns += step.episode_returns
                lengths += step.episode_lengths
            obs = step.obs
    finally:
        env.close()
    metadata = {"env": env_id, "seed": seed, "action_noise": action_noise, **_return_summary(returns, lengths)}
    metadata["episodes" if steps is None else "steps"] = episodes if steps is None else steps
    dataset = columns.dataset(metadata)
    if steps is not None and not (dataset.terminated[-1] or dataset.truncated[-1]):
        dataset.truncated[-1] = True  # the episode running at the N-th step is cut there, as a time limit
        dataset.metadata["last_episode_cut"] = True
    return dataset


def _return_summary(returns: list, lengths: list) -> dict:
    """The finished episodes' returns and lengths: as lists up to MAX_LISTED_EPISODES
    episodes, always as statistics."""
    summary = {"finished_episodes": len(returns)}
    if returns:
        r = np.asarray(returns, dtype=np.float64)
        summary["return_statistics"] = {"mean": float(r.mean()), "std": float(r.std()), "min": float(r.min()),
                                        "max": float(r.max()), "mean_length": float(np.mean(lengths))}
    if len(returns) <= MAX_LISTED_EPISODES:
        summary["episode_returns"] = [float(r) for r in returns]
        summary["episode_lengths"] = [int(n) for n in lengths]
    return summary
