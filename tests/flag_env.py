"""A tiny env for tests of step-info handling and autoreset."""

import gymnasium as gym
import numpy as np


def make_flag_env(length: int) -> gym.Env:
    """Reports `flag` = the step count in its info and ends after `length` steps; the reset
    info reports flag = -1, so a passthrough taken after the autoreset would be caught.
    Observations are random: positive from steps, negative from resets."""

    class FlagEnv(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.full(1, -self.np_random.random(), np.float32), {"flag": -1}

        def step(self, action):
            self.t += 1
            return np.full(1, self.np_random.random(), np.float32), float(action), self.t == length, False, {"flag": self.t}

    return FlagEnv()
