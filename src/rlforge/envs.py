"""The env adapter: any Gymnasium id (or plugin env) as a seeded vector env.

Each step gives the observations to act on next, rewards, `terminated` and `truncated`
kept apart, the true final observation of each episode that ended (Gymnasium's same-step
autoreset), and the returns and lengths of the episodes that finished.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

if not os.environ.get("DISPLAY"):  # no screen: render offscreen (set before mujoco and pygame load)
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from rlforge import envstate
from rlforge.errors import RLForgeError
from rlforge.registry import EnvSpec, load
from rlforge.single_env import SingleEnv

# The MuJoCo v4 ids are the ones the CS285 homeworks and most published results use.
warnings.filterwarnings("ignore", message=r".*The environment .* is out of date", category=DeprecationWarning)


def gymnasium_env_ids() -> list[str]:
    return sorted(gym.registry.keys())


def space_kind(space: gym.Space) -> str:
    """"box" or "discrete" (the kinds an AlgorithmSpec claims), else the space's class name."""
    if isinstance(space, gym.spaces.Box):
        return "box"
    if isinstance(space, gym.spaces.Discrete):
        return "discrete"
    return type(space).__name__


def _ensure_registered(spec: EnvSpec | None) -> None:
    """Plugin envs become ordinary Gymnasium ids, so every env is made the same way."""
    if spec is not None and spec.id not in gym.registry:
        gym.register(spec.id, entry_point=spec.factory, max_episode_steps=spec.max_episode_steps)


def make_env(env_id: str, plugin_spec: EnvSpec | None = None, max_episode_steps: int | None = None,
             render_mode: str | None = None, env_kwargs: dict | None = None) -> gym.Env:
    """One env, with the plugin's preferred wrappers applied. `env_kwargs` go to the env's
    constructor; one it does not take is a one-line RLForgeError."""
    _ensure_registered(plugin_spec)
    kwargs = dict(env_kwargs or {})
    if render_mode:
        kwargs["render_mode"] = render_mode
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = max_episode_steps
    try:
        env = gym.make(env_id, **kwargs)
    except TypeError as exc:
        if not env_kwargs:
            raise
        reason = str(exc).splitlines()[0].split(" was raised from the environment creator")[0]
        raise RLForgeError(f"{env_id} does not take env_kwargs {dict(env_kwargs)}: {reason}") from None
    for wrapper in plugin_spec.wrappers if plugin_spec else []:
        env = load(wrapper)(env)
    return env


def env_spaces(env_id: str, plugin_spec: EnvSpec | None = None,
               env_kwargs: dict | None = None) -> tuple[gym.Space, gym.Space]:
    env = make_env(env_id, plugin_spec, env_kwargs=env_kwargs)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


@dataclass
class Step:
    obs: np.ndarray  # observations to act on next (first obs of a new episode where one ended)
    rewards: np.ndarray  # float32 [num_envs]
    terminated: np.ndarray  # bool [num_envs]
    truncated: np.ndarray  # bool [num_envs]
    final_obs: np.ndarray  # the true next observation of each env (differs from obs where done)
    episode_returns: list[float]  # returns of the episodes that ended this step
    episode_lengths: list[int]
    info: dict[str, np.ndarray]  # the `info_keys` entries of this step, [num_envs] each


def _info_entry(info: dict, key: str, num_envs: int) -> np.ndarray:
    """A vector env's info entry as an array over envs; zeros where an env did not report it."""
    values = info.get(key)
    if values is None:
        return np.zeros(num_envs)
    present = info.get("_" + key, np.ones(num_envs, dtype=bool))
    return np.where(present, values, np.zeros_like(values))


def vector_env(env_id: str, num_envs: int, seed: int, mode: str, plugin_spec: EnvSpec | None = None,
               max_episode_steps: int | None = None, env_kwargs: dict | None = None):
    """The training envs of a run: an EnvAdapter (sync or async), or for `vector_mode: envpool`
    the EnvPool adapter with the same interface (rlforge.envpool_backend)."""
    if mode == "envpool":
        from rlforge.envpool_backend import EnvpoolAdapter

        return EnvpoolAdapter(env_id, num_envs, seed, plugin_spec, max_episode_steps, env_kwargs=env_kwargs)
    return EnvAdapter(env_id, num_envs, seed, mode, plugin_spec, max_episode_steps, env_kwargs=env_kwargs)


class EnvAdapter:
    """`num_envs` copies of an env stepped together, seeded, with episode statistics."""

    def __init__(self, env_id: str, num_envs: int = 1, seed: int = 0, mode: str = "sync",
                 plugin_spec: EnvSpec | None = None, max_episode_steps: int | None = None,
                 render_mode: str | None = None, info_keys: tuple[str, ...] = (), env_kwargs: dict | None = None):
        self.env_id, self.num_envs, self.seed = env_id, num_envs, seed
        _ensure_registered(plugin_spec)

        def factory():
            return make_env(env_id, plugin_spec, max_episode_steps, render_mode, env_kwargs)

        if mode == "async":
            self.vec = gym.vector.AsyncVectorEnv([factory] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
        elif num_envs == 1:
            self.vec = SingleEnv(factory)  # SyncVectorEnv's semantics without its per-step overhead
        else:
            self.vec = gym.vector.SyncVectorEnv([factory] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
        self.info_keys = info_keys
        self.observation_space = self.vec.single_observation_space
        self.action_space = self.vec.single_action_space
        self.action_space.seed(seed)  # random actions are reproducible too
        self._obs_dtype = np.float32 if np.issubdtype(self.observation_space.dtype, np.floating) else self.observation_space.dtype
        self.episode_returns = np.zeros(num_envs, dtype=np.float64)
        self.episode_lengths = np.zeros(num_envs, dtype=np.int64)

    @property
    def info_keys(self) -> tuple[str, ...]:
        """The step-info entries each Step carries (set by the engine once the agent exists)."""
        return self._info_keys

    @info_keys.setter
    def info_keys(self, keys) -> None:
        self._info_keys = tuple(keys)
        if isinstance(self.vec, SingleEnv):
            self.vec.info_keys = self._info_keys  # it batches only these

    def reset(self, seed: int | None = None) -> np.ndarray:
        obs, _ = self.vec.reset(seed=self.seed if seed is None else seed)
        self.episode_returns[:] = 0
        self.episode_lengths[:] = 0
        return obs.astype(self._obs_dtype, copy=False)

    def random_actions(self) -> np.ndarray:
        return np.stack([self.action_space.sample() for _ in range(self.num_envs)])

    def step(self, actions: np.ndarray) -> Step:
        obs, rewards, terminated, truncated, info = self.vec.step(actions)
        obs = obs.astype(self._obs_dtype, copy=False)
        done = terminated | truncated
        final_obs = obs
        returns, lengths = [], []
        self.episode_returns += rewards
        self.episode_lengths += 1
        if done.any():
            final_obs = obs.copy()
            for i in np.flatnonzero(done):
                final_obs[i] = info["final_obs"][i]
                returns.append(float(self.episode_returns[i]))
                lengths.append(int(self.episode_lengths[i]))
            self.episode_returns[done] = 0
            self.episode_lengths[done] = 0
        wanted = self._step_info(info, done) if self._info_keys else {}
        return Step(obs, rewards.astype(np.float32, copy=False), terminated, truncated, final_obs, returns, lengths,
                    wanted)

    def _step_info(self, info: dict, done: np.ndarray) -> dict[str, np.ndarray]:
        """The wanted entries of this step's info. Where an env's episode ended, the vector env
        has already reset it: its entry then comes from the episode's last step (final_info)."""
        wanted = {}
        for key in self.info_keys:
            values = _info_entry(info, key, self.num_envs)
            if done.any() and "final_info" in info:
                final = _info_entry(info["final_info"], key, self.num_envs)
                values = np.where(done, final, values)
            wanted[key] = values
        return wanted

    def get_state(self) -> list | None:
        """Each env's exact internal state, or None where any env cannot provide one."""
        envs = getattr(self.vec, "envs", None)  # async envs live in subprocesses: not reachable
        if envs is None:
            return None
        states = [envstate.capture(env) for env in envs]
        return None if any(s is None for s in states) else states

    def set_state(self, states: list) -> None:
        for env, state in zip(self.vec.envs, states):
            envstate.restore(env, state)

    def render(self):
        return self.vec.envs[0].render() if hasattr(self.vec, "envs") else None

    def close(self) -> None:
        self.vec.close()
