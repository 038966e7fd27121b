"""Atari envs with the standard DQN preprocessing (Mnih et al. 2015; Machado et al. 2018).

`make_<id>` builds the raw emulator env of one registered id (the env ids and their
factories are listed in `games.py`); `AtariPreprocessing` is the one wrapper the plugin
applies to it (named in the ids' EnvSpec, so `rlforge.envs.make_env` applies it):

  no-op starts     1 to 30 NOOP actions after each reset (drawn from the env's seeded RNG)
  frame skip 4     each action repeated on 4 emulator frames; the observation is the pixelwise
                   maximum of the last two (flicker removal); rewards summed over the 4
  84x84 grayscale  ALE's luminance screen, resized by area averaging (the same weights as
                   OpenCV's INTER_AREA, computed here with two small matrix products)
  4-frame stack    observations are uint8 [4, 84, 84], oldest frame first; the first
                   observation of an episode repeats its frame 4 times

What the wrapper does NOT change, on purpose:
  rewards          the raw game score: the engine's episode returns (training and
                   evaluation) are therefore the game score. The agent clips rewards to
                   their sign for learning (`clip_rewards`).
  lives            an episode is the whole game, over all lives. Each step's info carries
                   `lives` and `life_lost`; the agent treats a lost life as terminal for
                   learning (`episodic_life`) where the engine passes that info through.

Resuming a run restarts Atari episodes (the engine cannot save the emulator's state).
"""

from __future__ import annotations

import warnings
from functools import partial

import gymnasium as gym
import numpy as np

from rlforge_dqn.games import GAMES, env_ids, factory_name

NOOP_MAX = 30
FRAME_SKIP = 4
SCREEN_SIZE = 84
STACK = 4
MAX_FRAMES_PER_EPISODE = 108_000  # 30 minutes of play, ALE's own default for these ids


def make_ale_env(game: str, sticky: float, render_mode: str | None = None, **kwargs) -> gym.Env:
    """The emulator for `game` with the settings ale-py registers for its ids (sticky actions
    `sticky`, minimal action set, 108,000 frames at most), without frame skipping: the
    preprocessing skips frames itself so that it can max-pool the last two."""
    with warnings.catch_warnings():
        # importing ale_py registers its own ids; over ours that is the same env, so the
        # "Overriding environment" warning is noise
        warnings.simplefilter("ignore")
        from ale_py.env import AtariEnv
    return AtariEnv(game=game, obs_type="rgb", frameskip=1, repeat_action_probability=sticky,
                    full_action_space=False, max_num_frames_per_episode=MAX_FRAMES_PER_EPISODE,
                    render_mode=render_mode, **kwargs)


for _name, _rom in GAMES.items():
    _v4, _v5 = env_ids(_name)
    globals()[factory_name(_v4)] = partial(make_ale_env, _rom, 0.0)
    globals()[factory_name(_v5)] = partial(make_ale_env, _rom, 0.25)


def area_weights(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in] weights of area-averaging resampling: output pixel i averages the
    input interval [i * s, (i + 1) * s) with s = size_in / size_out, each input pixel weighted by
    its overlap with that interval."""
    scale = size_in / size_out
    edges = np.arange(size_out + 1) * scale
    lo, hi = edges[:-1, None], edges[1:, None]
    pixels = np.arange(size_in)[None, :]
    overlap = np.clip(np.minimum(hi, pixels + 1) - np.maximum(lo, pixels), 0.0, None)
    return (overlap / scale).astype(np.float32)


class AtariPreprocessing(gym.Wrapper):
    """The standard DQN preprocessing over an ALE env; see the module docstring."""

    def __init__(self, env: gym.Env, noop_max: int = NOOP_MAX, frame_skip: int = FRAME_SKIP,
                 screen_size: int = SCREEN_SIZE, stack: int = STACK):
        super().__init__(env)
        ale_env = env.unwrapped
        if not hasattr(ale_env, "ale"):
            raise ValueError(f"AtariPreprocessing needs an ALE env, got {ale_env}")
        if getattr(ale_env, "_frameskip", 1) != 1:
            # ale-py's own registration of the ALE/...-v5 ids skips 4 frames inside the
            # emulator (it wins when ale_py was imported before the plugin's factory was
            # registered); this wrapper skips and max-pools itself, as
            # gym.make(id, frameskip=1) would. Sticky actions stay as registered.
            ale_env._frameskip = 1
        if ale_env.get_action_meanings()[0] != "NOOP":
            raise ValueError("no-op starts need action 0 to be NOOP")
        self.noop_max, self.frame_skip, self.stack = noop_max, frame_skip, stack
        height, width = ale_env.ale.getScreenDims()
        self._rows = area_weights(height, screen_size)  # [84, 210]
        self._cols = area_weights(width, screen_size).T.copy()  # [160, 84]
        self._screens = np.zeros((2, height, width), dtype=np.uint8)
        self._frames = np.zeros((stack, screen_size, screen_size), dtype=np.uint8)
        self.observation_space = gym.spaces.Box(0, 255, (stack, screen_size, screen_size), dtype=np.uint8)
        self.lives = 0

    @property
    def ale(self):
        return self.env.unwrapped.ale

    def _frame(self, pooled: np.ndarray) -> np.ndarray:
        resized = self._rows @ pooled.astype(np.float32) @ self._cols
        return np.rint(resized).astype(np.uint8)

    def _observation(self) -> np.ndarray:
        return self._frames.copy()

    def reset(self, *, seed=None, options=None):
        _, info = self.env.reset(seed=seed, options=options)
        noops = int(self.env.unwrapped.np_random.integers(1, self.noop_max + 1)) if self.noop_max > 0 else 0
        for _ in range(noops):
            _, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                _, info = self.env.reset(seed=seed, options=options)
        self.lives = self.ale.lives()
        self.ale.getScreenGrayscale(self._screens[0])
        self._frames[:] = self._frame(self._screens[0])
        return self._observation(), {**info, "lives": self.lives, "life_lost": False}

    def step(self, action):
        total, terminated, truncated, life_lost, info = 0.0, False, False, False, {}
        k = self.frame_skip
        for t in range(k):
            _, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            lives = self.ale.lives()
            life_lost = life_lost or lives < self.lives
            self.lives = lives
            if t >= k - 2:  # the last two frames, pooled below
                self.ale.getScreenGrayscale(self._screens[t - (k - 2)])
            if terminated or truncated:
                break
        if t == k - 1 and k > 1:
            pooled = np.maximum(self._screens[0], self._screens[1])
        else:  # one frame per step, or the game ended early: its last screen
            self.ale.getScreenGrayscale(self._screens[1])
            pooled = self._screens[1]
        self._frames[:-1] = self._frames[1:]
        self._frames[-1] = self._frame(pooled)
        return self._observation(), total, terminated, truncated, {**info, "lives": self.lives, "life_lost": life_lost}
