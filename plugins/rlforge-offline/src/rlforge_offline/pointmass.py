"""The CS285 hw5 Pointmass mazes as Gymnasium envs (the maps are in `maze.py`).

A point at (row, col), in cells, observes its position divided by the maze's (rows, cols).
An action picks a move (stay, left, right, up, down); Gaussian noise from the env's own
`np_random` is added to it, and the move is applied in 10 sub-steps of a tenth, the row axis
then the column axis in each, a sub-step that would enter a wall or leave the maze skipped.
The goal is reached strictly within `epsilon` cells: reward 0 there and -1 elsewhere (dense:
minus the distance), and the episode terminates. The registration's TimeLimit truncates.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from rlforge.errors import RLForgeError
from rlforge_offline.maze import Maze, maze_for, render_frame

MOVES = np.array([(0.0, 0.0), (0.0, -1.0), (0.0, 1.0), (-1.0, 0.0), (1.0, 0.0)])  # (d row, d col)
SUBSTEPS = 10
ACTION_NOISE = 0.5


class PointmassEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, maze: Maze, render_mode: str | None = None, dense_reward: bool = False,
                 action_noise: float = ACTION_NOISE):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise RLForgeError(f"Pointmass renders only 'rgb_array', not {render_mode!r}")
        if not action_noise >= 0:
            raise RLForgeError(f"action_noise must be >= 0, got {action_noise}")
        self.maze = maze
        self.render_mode = render_mode
        self.dense_reward = bool(dense_reward)
        self.action_noise = float(action_noise)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self.position = maze.start.copy()

    # rlforge's exact resume (rlforge.envstate): the position continues an episode exactly, with
    # np_random and the TimeLimit's counter, which envstate saves itself.
    def get_rlforge_state(self) -> dict:
        return {"position": self.position.copy()}

    def set_rlforge_state(self, state: dict) -> None:
        position = np.asarray(state["position"], dtype=np.float64)
        if position.shape != (2,) or not np.all(np.isfinite(position)):
            raise ValueError(f"a Pointmass position is 2 finite numbers, got {position!r}")
        self.position = position.copy()

    def _observation(self) -> np.ndarray:
        return (self.position / self.maze.obs_scale).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.position = self.maze.start.copy()
        return self._observation(), {"reached_goal": False}

    def step(self, action):
        if not self.action_space.contains(action):
            raise RLForgeError(f"Pointmass actions are 0..{len(MOVES) - 1}, got {action!r}")
        move = self.np_random.normal(MOVES[int(action)], self.action_noise)
        self.position = self._slide(self.position, move)
        distance = math.hypot(*(self.position - self.maze.goal))
        reached = distance < self.maze.epsilon
        reward = -distance if self.dense_reward else (0.0 if reached else -1.0)
        return self._observation(), reward, reached, False, {"reached_goal": reached}

    def _slide(self, position: np.ndarray, move: np.ndarray) -> np.ndarray:
        """Where `move` takes the point: each axis's sub-step is taken only into free space."""
        row, col = float(position[0]), float(position[1])
        d_row, d_col = float(move[0]) / SUBSTEPS, float(move[1]) / SUBSTEPS
        is_free = self.maze.is_free
        for _ in range(SUBSTEPS):
            if is_free(row + d_row, col):
                row += d_row
            if is_free(row, col + d_col):
                col += d_col
        return np.array([row, col])

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return render_frame(self.maze, self.position)


def _make(env_id: str, render_mode: str | None, dense_reward: bool, action_noise: float) -> PointmassEnv:
    return PointmassEnv(maze_for(env_id), render_mode=render_mode, dense_reward=dense_reward,
                        action_noise=action_noise)


def easy(render_mode: str | None = None, dense_reward: bool = False,
         action_noise: float = ACTION_NOISE) -> PointmassEnv:
    return _make("PointmassEasy-v0", render_mode, dense_reward, action_noise)


def medium(render_mode: str | None = None, dense_reward: bool = False,
           action_noise: float = ACTION_NOISE) -> PointmassEnv:
    return _make("PointmassMedium-v0", render_mode, dense_reward, action_noise)


def hard(render_mode: str | None = None, dense_reward: bool = False,
         action_noise: float = ACTION_NOISE) -> PointmassEnv:
    return _make("PointmassHard-v0", render_mode, dense_reward, action_noise)
