"""A near-optimal return on a Pointmass maze, to judge learned policies against.

The planner knows the map: it computes the geodesic distance to the goal disk on a grid of
quarter cells (8-connected, diagonal steps sqrt(2) long), and at each step takes the action
whose next position, averaged over 64 draws of the env's action noise, is nearest the goal.
No policy can average much better: a step moves the point at most about one cell in
expectation, so an episode lasts at least the start's geodesic distance to the goal disk.

    python benchmarks/pointmass_oracle.py PointmassHard-v0 --episodes 100
"""

from __future__ import annotations

import argparse
import heapq

import numpy as np

from rlforge.envs import make_env
from rlforge.plugins import get_registry
from rlforge_offline.pointmass import ACTION_NOISE, MOVES, PointmassEnv

RESOLUTION = 4  # grid cells per maze cell
NOISE_SAMPLES = 64


def geodesic_distances(maze) -> np.ndarray:
    """Distance (in cells) from each grid cell's centre to the goal disk, through free space."""
    rows, cols = maze.shape[0] * RESOLUTION, maze.shape[1] * RESOLUTION
    centre = lambda i: (i + 0.5) / RESOLUTION  # noqa: E731
    free = np.array([[maze.is_free(centre(i), centre(j)) for j in range(cols)] for i in range(rows)])
    dist = np.full((rows, cols), np.inf)
    queue = []
    for i, j in zip(*np.nonzero(free)):
        if np.hypot(centre(i) - maze.goal[0], centre(j) - maze.goal[1]) < maze.epsilon:
            dist[i, j] = 0.0
            queue.append((0.0, i, j))
    heapq.heapify(queue)
    while queue:
        d, i, j = heapq.heappop(queue)
        if d > dist[i, j]:
            continue
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                a, b = i + di, j + dj
                if (di or dj) and 0 <= a < rows and 0 <= b < cols and free[a, b]:
                    nd = d + np.hypot(di, dj) / RESOLUTION
                    if nd < dist[a, b]:
                        dist[a, b] = nd
                        heapq.heappush(queue, (nd, a, b))
    return dist


class Oracle:
    def __init__(self, env: PointmassEnv):
        self.env = env
        self.dist = geodesic_distances(env.maze)
        self.noise = np.random.default_rng(0).normal(0.0, ACTION_NOISE, (NOISE_SAMPLES, 2))

    def distance(self, position) -> float:
        i = min(int(position[0] * RESOLUTION), self.dist.shape[0] - 1)
        j = min(int(position[1] * RESOLUTION), self.dist.shape[1] - 1)
        return float(self.dist[i, j])

    def action(self) -> int:
        position = self.env.position
        expected = [np.mean([self.distance(self.env._slide(position, move + n)) for n in self.noise]) for move in MOVES]
        return int(np.argmin(expected))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env", choices=["PointmassEasy-v0", "PointmassMedium-v0", "PointmassHard-v0"])
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    env = make_env(args.env, get_registry().envs[args.env])  # the registered env, with its time limit
    base = env.unwrapped
    oracle = Oracle(base)
    returns = []
    for episode in range(args.episodes):
        env.reset(seed=episode)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(oracle.action())
            total, done = total + reward, terminated or truncated
        returns.append(total)
    returns = np.array(returns)
    print(f"{args.env}: oracle return mean {returns.mean():.1f}, median {np.median(returns):.1f}, "
          f"best {returns.max():.0f}, worst {returns.min():.0f} over {args.episodes} episodes; "
          f"geodesic distance from the start to the goal disk {oracle.distance(base.maze.start):.1f} cells")


if __name__ == "__main__":
    main()
