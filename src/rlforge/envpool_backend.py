"""EnvPool as an env backend: `vector_mode: envpool` (docs/envpool.md).

EnvPool steps a batch of envs in C++ threads, with no Python per env and no subprocesses.
`EnvpoolAdapter` puts it behind the EnvAdapter contract, so agents and the engine cannot tell
it from Gymnasium's sync and async vector envs:

  spaces        Gymnasium's own spaces of the id (EnvPool's MuJoCo action spaces are float64,
                Gymnasium's float32), checked against EnvPool's shapes and bounds
  autoreset     EnvPool resets an env that ended on the *next* step, ignoring that step's
                action. The adapter resets the ended envs at once (a partial reset), so the
                step gives the true final observation and the new episode's first one, as
                Gymnasium's same-step autoreset does
  statistics    episode returns and lengths counted here, as EnvAdapter counts them
  seeding       EnvPool seeds its envs when it is made (env i with seed + i) and ignores
                reset(seed=...): a reset with another seed makes the pool again
  Atari         rlforge's own preprocessing (rlforge_dqn.atari) expressed in EnvPool's options;
                `life_lost` computed from `lives`, as that wrapper reports it

Only ids whose EnvPool twin behaves like rlforge's env are supported; anything else is refused
in one line before a run exists (`check`), as are env_kwargs EnvPool cannot pass.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings

import numpy as np

from rlforge.errors import RLForgeError

# MuJoCo v4 ids EnvPool builds from the same model files as Gymnasium (Pusher-v4 is left out:
# Gymnasium makes it only with mujoco<3, so rlforge cannot make it either).
MUJOCO_V4 = ("Ant", "HalfCheetah", "Hopper", "Humanoid", "HumanoidStandup", "InvertedDoublePendulum",
             "InvertedPendulum", "Reacher", "Swimmer", "Walker2d")
CLASSIC_CONTROL = ("CartPole-v1", "Pendulum-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Acrobot-v1")
SUPPORTED_IDS = tuple(f"{name}-v4" for name in MUJOCO_V4) + CLASSIC_CONTROL

# env_kwargs that mean the same in Gymnasium's MuJoCo v4 constructors and EnvPool's options;
# each passes only to the ids whose EnvPool options have it. Anything else is refused.
MUJOCO_KWARGS = ("ctrl_cost_weight", "forward_reward_weight", "contact_cost_weight", "healthy_reward",
                 "terminate_when_unhealthy", "reset_noise_scale", "exclude_current_positions_from_observation")

# rlforge's Atari ids (the rlforge-dqn plugin) and their preprocessing in EnvPool's terms: no-op
# starts of 1 to 30 frames, 4 frames per step max-pooled over the last two, 84x84 grayscale by
# area averaging, 4 stacked frames, raw game score, the whole game as one episode (no fire on
# reset, no reward clipping, no episodic life: the agent does those for learning), minimal
# action set, 27,000 steps (108,000 frames) at most. Sticky actions: none for NoFrameskip-v4,
# 0.25 for ALE/...-v5.
ATARI_WRAPPER = "rlforge_dqn.atari:AtariPreprocessing"
ATARI_IDS = (re.compile(r"(?P<game>[A-Za-z]+)NoFrameskip-v4"), re.compile(r"ALE/(?P<game>[A-Za-z]+)-v5"))
ATARI_OPTIONS = dict(noop_max=30, frame_skip=4, stack_num=4, img_height=84, img_width=84, gray_scale=True,
                     use_inter_area_resize=True, episodic_life=False, reward_clip=False, use_fire_reset=False,
                     zero_discount_on_life_loss=False, full_action_space=False, max_episode_steps=27_000)

INSTALL_HINT = "pip install 'rlforge[envpool]'"


def import_envpool():
    """The envpool module, or a one-line RLForgeError. EnvPool imports jax where it is installed
    (for its optional XLA interface, unused here): hiding jax saves ~2 s on every start."""
    if importlib.util.find_spec("envpool") is None:
        raise RLForgeError(f"vector_mode envpool needs the envpool package: {INSTALL_HINT}")
    if "envpool" in sys.modules:
        return sys.modules["envpool"]
    hide_jax = "jax" not in sys.modules
    if hide_jax:
        sys.modules["jax"] = None  # makes `import jax` raise ImportError inside envpool only
    try:
        import envpool
    except ImportError:
        if not hide_jax:
            raise
        sys.modules.pop("jax", None)
        for name in [m for m in sys.modules if m == "envpool" or m.startswith("envpool.")]:
            del sys.modules[name]
        import envpool
    finally:
        if hide_jax and sys.modules.get("jax", 0) is None:
            del sys.modules["jax"]
    return envpool


def task_of(env_id: str, plugin_spec=None) -> tuple[str, dict]:
    """(EnvPool task id, EnvPool options) standing for `env_id`, or a one-line RLForgeError."""
    # a plugin may register a Gymnasium id again (rlforge-mbrl adds known reward functions):
    # the core still makes Gymnasium's own env then, so only wrappers would make it differ
    if env_id in SUPPORTED_IDS and not (plugin_spec is not None and plugin_spec.wrappers):
        return env_id, {}
    if plugin_spec is not None and list(plugin_spec.wrappers) == [ATARI_WRAPPER]:
        for pattern in ATARI_IDS:
            match = pattern.fullmatch(env_id)
            if match:
                sticky = 0.0 if env_id.endswith("NoFrameskip-v4") else 0.25
                return f"{match['game']}-v5", {**ATARI_OPTIONS, "repeat_action_probability": sticky}
    raise RLForgeError(f"vector_mode envpool does not support {env_id}; it supports the MuJoCo v4 ids, "
                       f"{', '.join(CLASSIC_CONTROL)} and rlforge's Atari ids (use vector_mode sync or async)")


def check(env_id: str, plugin_spec, env_kwargs: dict | None, max_episode_steps: int | None) -> tuple[str, dict]:
    """What `vector_mode: envpool` will make for this run, checked before the run exists:
    (task id, EnvPool options); a one-line RLForgeError for what EnvPool cannot do."""
    task, options = task_of(env_id, plugin_spec)
    if options and max_episode_steps is not None:  # an Atari id
        raise RLForgeError(f"vector_mode envpool cannot cap {env_id} at max_episode_steps: rlforge's Atari ids "
                           "count it in emulator frames, EnvPool in agent steps (leave it null)")
    envpool = import_envpool()
    if task not in envpool.list_all_envs():
        raise RLForgeError(f"vector_mode envpool does not support {env_id}: envpool {envpool.__version__} has no {task}")
    if env_kwargs:
        known = envpool.make_spec(task).config._fields if env_id in SUPPORTED_IDS else ()
        passable = [key for key in MUJOCO_KWARGS if key in known]
        refused = sorted(key for key in env_kwargs if key not in passable)
        if refused:
            takes = f"it passes only {', '.join(passable)}" if passable else "it passes none"
            raise RLForgeError(f"vector_mode envpool cannot pass env_kwargs {refused[0]!r} to {env_id} ({takes})")
        options = {**options, **env_kwargs}
    if max_episode_steps is not None:
        options = {**options, "max_episode_steps": int(max_episode_steps)}
    return task, options


class EnvpoolAdapter:
    """`num_envs` EnvPool envs behind the EnvAdapter interface (see the module docstring)."""

    def __init__(self, env_id: str, num_envs: int = 1, seed: int = 0, plugin_spec=None,
                 max_episode_steps: int | None = None, info_keys: tuple[str, ...] = (),
                 env_kwargs: dict | None = None):
        from rlforge.envs import env_spaces  # not at import time: envs imports gymnasium

        self.env_id, self.num_envs, self.seed = env_id, num_envs, seed
        self._task, self._options = check(env_id, plugin_spec, env_kwargs, max_episode_steps)
        self._envpool = import_envpool()
        self.observation_space, self.action_space = env_spaces(env_id, plugin_spec, env_kwargs)
        self.action_space.seed(seed)  # random actions are reproducible too
        self._obs_dtype = np.float32 if np.issubdtype(self.observation_space.dtype, np.floating) else self.observation_space.dtype
        self._atari = "stack_num" in self._options
        self.pool = None
        self._make(seed)
        self._check_spaces()
        self.info_keys = info_keys
        self.episode_returns = np.zeros(num_envs, dtype=np.float64)
        self.episode_lengths = np.zeros(num_envs, dtype=np.int64)
        self._lives = np.zeros(num_envs, dtype=np.int64)
        self._all = np.arange(num_envs, dtype=np.int32)

    def _make(self, seed: int) -> None:
        if self.pool is not None:
            self.pool.close()
        # one seed per env, as Gymnasium's vector envs seed them (EnvPool takes int32 seeds)
        seeds = [(seed + i) % 2**31 for i in range(self.num_envs)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # float64 Box bounds cast to float32, and the like
            try:
                self.pool = self._envpool.make_gymnasium(self._task, num_envs=self.num_envs, seed=seeds,
                                                         **self._options)
            except (AssertionError, RuntimeError, TypeError, ValueError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise RLForgeError(f"envpool cannot make {self._task} for {self.env_id}: {reason}") from None
        self._made_with = seed

    def _check_spaces(self) -> None:
        """EnvPool's spaces must be Gymnasium's up to dtype (an agent is built from Gymnasium's)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EnvPool builds its spaces on first use: float64 bounds cast to float32
            theirs = self.pool.observation_space, self.pool.action_space
        ours = self.observation_space, self.action_space
        for mine, pool in zip(ours, theirs):
            same = type(mine) is type(pool) and getattr(mine, "shape", None) == getattr(pool, "shape", None)
            if same and hasattr(mine, "low"):
                same = np.array_equal(mine.low, pool.low.astype(mine.dtype)) and np.array_equal(mine.high, pool.high.astype(mine.dtype))
            if same and hasattr(mine, "n"):
                same = int(mine.n) == int(pool.n)
            if not same:
                raise RLForgeError(f"envpool's {self._task} has the space {pool}, Gymnasium's {self.env_id} {mine}")

    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None and seed != self._made_with:
            self._make(seed)
        obs, info = self.pool.reset()
        obs, info = self._in_env_order(obs, info, self._all)
        self.episode_returns[:] = 0
        self.episode_lengths[:] = 0
        if self._atari:
            self._lives[:] = info["lives"]
        return obs.astype(self._obs_dtype, copy=False)

    def random_actions(self) -> np.ndarray:
        return np.stack([self.action_space.sample() for _ in range(self.num_envs)])

    def step(self, actions: np.ndarray):
        from rlforge.envs import Step

        obs, rewards, terminated, truncated, info = self.pool.step(np.asarray(actions))
        obs, info, rewards, terminated, truncated = self._step_in_env_order(obs, info, rewards, terminated, truncated)
        obs = obs.astype(self._obs_dtype, copy=False)  # a fresh array where it casts (MuJoCo's float64)
        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        done = terminated | truncated
        wanted = self._step_info(info) if self._info_keys else {}
        if self._atari:
            self._lives[:] = info["lives"]
        self.episode_returns += rewards
        self.episode_lengths += 1
        final_obs, returns, lengths = obs, [], []
        if done.any():
            ended = np.flatnonzero(done).astype(np.int32)
            returns = [float(r) for r in self.episode_returns[ended]]
            lengths = [int(n) for n in self.episode_lengths[ended]]
            self.episode_returns[ended] = 0
            self.episode_lengths[ended] = 0
            # this step's observation is the true final one; the next to act on is the reset's
            first, reset_info = self.pool.reset(ended)
            first, reset_info = self._in_env_order(first, reset_info, ended)
            final_obs = obs
            obs = obs.copy()
            obs[ended] = first
            if self._atari:
                self._lives[ended] = reset_info["lives"]
        return Step(obs, rewards.astype(np.float32, copy=False), terminated, truncated, final_obs, returns, lengths,
                    wanted)

    @staticmethod
    def _in_env_order(obs, info, expected):
        """Sync EnvPool answers in env order; should it not, the rows are put in that order."""
        ids = info["env_id"]
        if np.array_equal(ids, expected):
            return obs, info
        order = np.argsort(ids)
        return obs[order], {key: (value[order] if isinstance(value, np.ndarray) and len(value) == len(ids) else value)
                            for key, value in info.items()}

    def _step_in_env_order(self, obs, info, rewards, terminated, truncated):
        ids = info["env_id"]
        if np.array_equal(ids, self._all):
            return obs, info, np.asarray(rewards), terminated, truncated
        order = np.argsort(ids)
        obs, info = self._in_env_order(obs, info, self._all)
        return obs, info, np.asarray(rewards)[order], np.asarray(terminated)[order], np.asarray(truncated)[order]

    @property
    def info_keys(self) -> tuple[str, ...]:
        return self._info_keys

    @info_keys.setter
    def info_keys(self, keys) -> None:
        self._info_keys = tuple(keys)

    def _step_info(self, info: dict) -> dict[str, np.ndarray]:
        """The wanted entries of this step's info, [num_envs] each; zeros where EnvPool has none.
        Where an episode ended, EnvPool's info is still that episode's last step's."""
        wanted = {}
        for key in self._info_keys:
            if key == "life_lost" and self._atari:
                wanted[key] = np.asarray(info["lives"]) < self._lives
            elif key in info and np.ndim(info[key]) == 1:
                wanted[key] = np.asarray(info[key])
            else:
                wanted[key] = np.zeros(self.num_envs)
        return wanted

    def get_state(self) -> None:
        return None  # EnvPool's envs cannot be saved: a resume starts fresh episodes

    def set_state(self, states) -> None:
        raise RuntimeError("EnvPool envs have no state to restore")

    def render(self):
        return None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None
