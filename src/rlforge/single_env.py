"""One env behind the part of Gymnasium's vector-env API that `EnvAdapter` uses.

With one env, `SyncVectorEnv` still iterates the action space, merges every info entry into
arrays with presence masks and copies the observations twice on each step: about 0.1 ms of
Python per step right after a SAC update has pushed it out of the CPU caches
(docs/performance.md). `SingleEnv` steps the env directly and keeps what the adapter relies
on: same-step autoreset (the step's observation and info under "final_obs" and "final_info",
then the reset's), `reset(seed=s)` seeding the env with s and autoresets unseeded, fresh
arrays with a leading env axis of 1, float64 rewards. Its infos hold only the entries named
in `info_keys` (the ones the adapter reads): batching the rest cost ~30 us per step.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np


class SingleEnv:
    num_envs = 1

    def __init__(self, make: Callable[[], gym.Env], info_keys: tuple[str, ...] = ()):
        env = make()
        self.info_keys = info_keys
        self.envs = [env]
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        self._obs_dtype = env.observation_space.dtype

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.envs[0].reset(seed=seed)
        return np.array([obs], dtype=self._obs_dtype), self._batched_info(info)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        env = self.envs[0]
        obs, reward, terminated, truncated, info = env.step(actions[0])
        infos = {}
        if terminated or truncated:
            infos = {"final_obs": [obs], "final_info": self._batched_info(info)}
            obs, info = env.reset()
        if self.info_keys:  # most agents want none: skip the call (this runs once per env step)
            infos.update(self._batched_info(info))
        return (np.array([obs], dtype=self._obs_dtype), np.array([reward], dtype=np.float64),
                np.array([terminated], dtype=bool), np.array([truncated], dtype=bool), infos)

    def _batched_info(self, info: dict[str, Any]) -> dict[str, np.ndarray]:
        """The wanted entries with a leading env axis of 1, as a vector env gives them."""
        return {key: np.asarray([info[key]]) for key in self.info_keys if key in info}

    def close(self) -> None:
        self.envs[0].close()
