"""Obstacles-v0: a point mass on the unit square must reach a goal around rectangular obstacles.

Observation: the position (x, y). Action: a velocity in [-1, 1]^2; each step moves the point
by 0.05 * action, clipped to the square. The point starts near (0.1, 0.1) and the goal is at
(0.9, 0.9); a block in the middle covers the straight line between them.

Reward of a step: minus the distance from the new position to the goal, and -100 more when
the new position is inside an obstacle. The episode ends (terminated) on reaching the goal
(distance below 0.05) or on hitting an obstacle; the time limit is 100 steps. Hitting costs more
than any path that stays clear (at most 100 steps of at most sqrt(2) each), so a planner learns
to go around. `reward` and `terminated` are the known functions, batched in torch.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

GOAL = (0.9, 0.9)
START = (0.1, 0.1)
START_NOISE = 0.05
STEP_SIZE = 0.05
GOAL_RADIUS = 0.05
COLLISION_PENALTY = 100.0
# (x_min, y_min, x_max, y_max)
OBSTACLES = ((0.35, 0.35, 0.65, 0.65), (0.10, 0.45, 0.25, 0.55), (0.45, 0.10, 0.55, 0.25))


def _inside(xy, box) -> "np.ndarray | torch.Tensor":
    x, y = xy[..., 0], xy[..., 1]
    return (x > box[0]) & (x < box[2]) & (y > box[1]) & (y < box[3])


def _hits(xy):
    hit = _inside(xy, OBSTACLES[0])
    for box in OBSTACLES[1:]:
        hit = hit | _inside(xy, box)
    return hit


def _goal_distance(xy):
    goal = torch.tensor(GOAL, dtype=xy.dtype, device=xy.device) if isinstance(xy, torch.Tensor) else np.array(GOAL)
    diff = xy[..., :2] - goal
    return (diff * diff).sum(-1) ** 0.5


def reward(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    """[...] rewards of transitions [..., 2]."""
    return -_goal_distance(next_obs) - COLLISION_PENALTY * _hits(next_obs).to(next_obs.dtype)


def terminated(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    return _hits(next_obs) | (_goal_distance(next_obs) < GOAL_RADIUS)


class ObstaclesEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, render_mode: str | None = None):
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.render_mode = render_mode
        self.position = np.array(START, dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        noise = self.np_random.uniform(-START_NOISE, START_NOISE, size=2)
        self.position = (np.array(START) + noise).astype(np.float32)
        return self.position.copy(), {}

    def step(self, action):
        previous = self.position.copy()
        move = STEP_SIZE * np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)
        self.position = np.clip(previous + move, 0.0, 1.0).astype(np.float32)
        t = lambda a: torch.as_tensor(a[None])  # noqa: E731  (the known functions are the env's rules)
        r = float(reward(t(previous), t(move), t(self.position))[0])
        hit = bool(_hits(self.position))
        reached = bool(_goal_distance(self.position) < GOAL_RADIUS)
        return self.position.copy(), r, hit or reached, False, {"reached_goal": reached, "collided": hit}

    def render(self):
        """A 200x200 image: obstacles grey, goal green, the point red."""
        size = 200
        image = np.full((size, size, 3), 255, dtype=np.uint8)
        for x0, y0, x1, y1 in OBSTACLES:
            image[size - int(y1 * size): size - int(y0 * size), int(x0 * size): int(x1 * size)] = 128
        for (x, y), colour in ((GOAL, (0, 160, 0)), (tuple(self.position), (220, 0, 0))):
            cx, cy = int(x * (size - 1)), size - 1 - int(y * (size - 1))
            image[max(cy - 3, 0): cy + 4, max(cx - 3, 0): cx + 4] = colour
        return image
