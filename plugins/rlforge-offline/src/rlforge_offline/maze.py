"""The Pointmass maps and what agents measure and draw on them, in NumPy only (no torch, no
matplotlib): observations to cells, the cells reachable from the start, coverage, the
observation at every cell centre, and pictures as uint8 [H, W, 3] arrays.

Positions are (row, column) in cells of the (doubled) map, row 0 at the top; an observation is
the position divided by the map's (rows, columns). Pictures keep that orientation: image row =
maze row. Save one with `rlforge.video.write_png`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlforge.errors import RLForgeError

# The course's maps (hw5/cs285/envs/pointmass), 1 = wall, rows top to bottom.
MAZE_5X5 = ("00000", "11110", "11110", "11110", "11110")
MAZE_6X6 = ("001000", "101010", "001011", "011001", "001101", "100001")
FOUR_ROOMS = ("00000100000", "00000100000", "00000000000", "00000100000", "00000100000", "10111100000",
              "00000111011", "00000100000", "00000100000", "00000000000", "00000100000")

# env id -> (map, doubling factor, start, goal, epsilon); start and goal in cells of the doubled map
MAZES = {
    "PointmassEasy-v0": (MAZE_5X5, 2, (1.0, 1.0), (9.0, 9.0), 2.0),
    "PointmassMedium-v0": (MAZE_6X6, 1, (0.5, 0.5), (1.5, 5.5), 1.0),
    "PointmassHard-v0": (FOUR_ROOMS, 2, (2.0, 2.0), (20.0, 20.0), 2.0),
}

WALL_COLOUR = (70, 70, 70)
FLOOR_COLOUR = (255, 255, 255)
UNKNOWN_COLOUR = (200, 200, 200)  # heat map: a free cell without a (finite) value
GOAL_COLOUR = (0, 150, 60)
POINT_COLOUR = (220, 30, 30)
VISIT_COLOUR = (30, 80, 200)
MARKER_COLOUR = (230, 20, 20)  # start and goal over a heat map, where green could be a value
# A viridis-like ramp: dark purple (low) through blue and green to yellow (high).
RAMP = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=np.float64)


@dataclass
class Maze:
    walls: np.ndarray  # bool [rows, cols]
    start: np.ndarray  # float64 (row, col) in cells
    goal: np.ndarray
    epsilon: float  # the goal is reached strictly within this distance (cells)

    def __post_init__(self):
        self.walls = np.asarray(self.walls, dtype=bool)
        if self.walls.ndim != 2 or self.walls.size == 0:
            raise RLForgeError(f"maze walls must be a non-empty 2-D array, got shape {self.walls.shape}")
        self.start = np.asarray(self.start, dtype=np.float64)
        self.goal = np.asarray(self.goal, dtype=np.float64)
        for name, point in (("start", self.start), ("goal", self.goal)):
            if point.shape != (2,) or not self.is_free(point[0], point[1]):
                raise RLForgeError(f"maze {name} {point.tolist()} is not a free position of the {self.shape} map")

    @property
    def shape(self) -> tuple[int, int]:
        return self.walls.shape

    @property
    def obs_scale(self) -> np.ndarray:
        """Position = observation * obs_scale."""
        return np.array(self.shape, dtype=np.float64)

    def is_free(self, row: float, col: float) -> bool:
        """Inside the maze (its far border included) and not in a wall."""
        rows, cols = self.walls.shape
        if not (0.0 <= row <= rows and 0.0 <= col <= cols):
            return False
        return not self.walls[min(int(row), rows - 1), min(int(col), cols - 1)]

    def cells_of(self, obs: np.ndarray, resolution: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) int arrays: the cell of each observation [N, 2] (the far border counts
        as the last cell, as in the env); with `resolution` r, the cell of an r x r grid of
        sub-cells in each maze cell."""
        obs = np.asarray(obs, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[1] != 2:
            raise RLForgeError(f"maze observations must be [N, 2], got shape {obs.shape}")
        cells = np.floor(obs * self.obs_scale * resolution).astype(np.int64)
        rows, cols = self.shape
        return np.clip(cells[:, 0], 0, rows * resolution - 1), np.clip(cells[:, 1], 0, cols * resolution - 1)

    def visit_mask(self, obs: np.ndarray, resolution: int = 1) -> np.ndarray:
        """bool [rows * resolution, cols * resolution]: the (sub-)cells holding at least one
        of the observations."""
        rows, cols = self.shape
        mask = np.zeros((rows * resolution, cols * resolution), dtype=bool)
        mask[self.cells_of(obs, resolution)] = True
        return mask

    def reachable_cells(self) -> np.ndarray:
        """bool [rows, cols]: the free cells connected to the start's cell through free cells
        sharing a side (the point moves one axis at a time, so it cannot slip between corners)."""
        rows, cols = self.shape
        reachable = np.zeros(self.shape, dtype=bool)
        start = (min(int(self.start[0]), rows - 1), min(int(self.start[1]), cols - 1))
        reachable[start] = True
        frontier = [start]
        while frontier:
            row, col = frontier.pop()
            for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
                if 0 <= r < rows and 0 <= c < cols and not self.walls[r, c] and not reachable[r, c]:
                    reachable[r, c] = True
                    frontier.append((r, c))
        return reachable

    def coverage(self, visited: np.ndarray) -> float:
        """The fraction of reachable cells that `visited` (bool [rows, cols], or a visit_mask
        of sub-cells [rows * r, cols * r]) marks."""
        visited = np.asarray(visited, dtype=bool)
        resolution = visited.shape[0] // self.shape[0] if visited.ndim == 2 else 0
        if resolution < 1 or visited.shape != (self.shape[0] * resolution, self.shape[1] * resolution):
            raise RLForgeError(f"visited cells must have the maze's shape {self.shape} (or a multiple), got {visited.shape}")
        reachable = np.kron(self.reachable_cells(), np.ones((resolution, resolution), dtype=bool))
        return float((visited & reachable).sum() / reachable.sum())

    def cell_centres_obs(self) -> np.ndarray:
        """float32 [rows * cols, 2]: the observation at every cell centre, row-major, so values
        computed on it reshape to [rows, cols] (wall cells included; pictures ignore them)."""
        rows, cols = self.shape
        r, c = np.meshgrid(np.arange(rows) + 0.5, np.arange(cols) + 0.5, indexing="ij")
        return (np.stack([r.ravel(), c.ravel()], axis=1) / self.obs_scale).astype(np.float32)


def maze_for(env_id: str) -> Maze | None:
    """The maze of a Pointmass env id (a fresh copy), or None for any other env."""
    if env_id not in MAZES:
        return None
    rows, factor, start, goal, epsilon = MAZES[env_id]
    walls = np.array([[ch == "1" for ch in row] for row in rows], dtype=bool)
    walls = np.repeat(np.repeat(walls, factor, axis=0), factor, axis=1)  # each cell becomes factor x factor
    return Maze(walls=walls, start=start, goal=goal, epsilon=epsilon)


# --- pictures ---------------------------------------------------------------------------------

def default_cell_px(maze: Maze) -> int:
    """Pixels per cell: pictures about 350 px on their long side, 8 to 24 px a cell."""
    return int(np.clip(352 // max(maze.shape), 8, 24))


def colour_ramp(t: np.ndarray) -> np.ndarray:
    """uint8 [..., 3] colours of `t` in [0, 1] (clipped) on the viridis-like RAMP."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    anchors = np.linspace(0.0, 1.0, len(RAMP))
    return np.stack([np.interp(t, anchors, RAMP[:, k]) for k in range(3)], axis=-1).round().astype(np.uint8)


def _upscale(cell_colours: np.ndarray, px: int) -> np.ndarray:
    return np.repeat(np.repeat(cell_colours, px, axis=0), px, axis=1)


def _distance_px(image: np.ndarray, position, px: int) -> np.ndarray:
    """[H, W] distance (pixels) of each pixel centre from a position in cells."""
    ys = np.arange(image.shape[0]) + 0.5
    xs = np.arange(image.shape[1]) + 0.5
    return np.hypot(ys[:, None] - position[0] * px, xs[None, :] - position[1] * px)


def _paint(image: np.ndarray, mask: np.ndarray, colour, alpha=1.0) -> None:
    """Blend `colour` over the masked pixels (alpha a scalar or an [H, W] array)."""
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), mask.shape)[mask][:, None]
    image[mask] = (image[mask] * (1.0 - alpha) + np.asarray(colour, dtype=np.float64) * alpha).round().astype(np.uint8)


def maze_image(maze: Maze, cell_px: int | None = None) -> np.ndarray:
    """The bare maze: walls dark grey, free cells white."""
    px = cell_px or default_cell_px(maze)
    cells = np.where(maze.walls[..., None], np.array(WALL_COLOUR, np.uint8), np.array(FLOOR_COLOUR, np.uint8))
    return _upscale(cells, px)


def _free_pixels(maze: Maze, px: int) -> np.ndarray:
    return _upscale(~maze.walls, px)


def _mark_start_and_goal(image: np.ndarray, maze: Maze, px: int, colour) -> None:
    """The goal as a dot inside a ring of radius epsilon, the start as a ring."""
    to_goal = _distance_px(image, maze.goal, px)
    ring = max(1.0, px / 8)
    _paint(image, np.abs(to_goal - maze.epsilon * px) <= ring / 2, colour)
    _paint(image, to_goal <= max(2.0, px / 4), colour)
    to_start = _distance_px(image, maze.start, px)
    _paint(image, np.abs(to_start - max(3.0, px / 3)) <= ring / 2, colour)


def render_frame(maze: Maze, position, cell_px: int | None = None) -> np.ndarray:
    """What the env shows: the maze, the goal's epsilon disk shaded green with a green dot at
    the goal, and the point as a red dot."""
    px = cell_px or default_cell_px(maze)
    image = maze_image(maze, px)
    to_goal = _distance_px(image, maze.goal, px)
    _paint(image, (to_goal < maze.epsilon * px) & _free_pixels(maze, px), GOAL_COLOUR, 0.25)
    _paint(image, to_goal <= max(2.0, px / 4), GOAL_COLOUR)
    _paint(image, _distance_px(image, position, px) <= max(2.0, px / 3), POINT_COLOUR)
    return image


def visits_image(maze: Maze, obs: np.ndarray, cell_px: int | None = None) -> np.ndarray:
    """Visited states [N, 2] (observations) as blue dots over the maze, darker where many
    overlap; start (ring) and goal (dot in its epsilon ring) in green."""
    px = cell_px or default_cell_px(maze)
    image = maze_image(maze, px)
    obs = np.asarray(obs, dtype=np.float64).reshape(-1, 2)
    height, width = image.shape[:2]
    counts = np.zeros((height + 2, width + 2))  # one pixel of margin so dots are 3x3 at the border
    ys = np.clip((obs[:, 0] * maze.obs_scale[0] * px).astype(np.int64), 0, height - 1)
    xs = np.clip((obs[:, 1] * maze.obs_scale[1] * px).astype(np.int64), 0, width - 1)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            np.add.at(counts, (ys + dy, xs + dx), 1.0)
    counts = counts[1:-1, 1:-1]
    _paint(image, counts > 0, VISIT_COLOUR, 1.0 - 0.7 ** counts)  # one visit: faint; tens: solid
    _mark_start_and_goal(image, maze, px, GOAL_COLOUR)
    return image


def heatmap_image(maze: Maze, values_per_cell: np.ndarray, vmin: float | None = None, vmax: float | None = None,
                  cell_px: int | None = None) -> np.ndarray:
    """One value per cell ([rows, cols], or [rows * cols] as from `cell_centres_obs`) as colours
    over the free cells, dark purple at vmin to yellow at vmax (by default the free cells'
    range); walls dark grey, free cells without a finite value light grey; start and goal red."""
    values = np.asarray(values_per_cell, dtype=np.float64)
    if values.size != maze.walls.size:
        raise RLForgeError(f"a heat map needs one value per cell of the {maze.shape} maze, got shape {values.shape}")
    values = values.reshape(maze.shape)
    known = ~maze.walls & np.isfinite(values)
    low = vmin if vmin is not None else (values[known].min() if known.any() else 0.0)
    high = vmax if vmax is not None else (values[known].max() if known.any() else 1.0)
    t = (values - low) / (high - low) if high > low else np.full(maze.shape, 0.5)
    cells = colour_ramp(np.nan_to_num(t))
    cells[~known] = UNKNOWN_COLOUR
    cells[maze.walls] = WALL_COLOUR
    px = cell_px or default_cell_px(maze)
    image = _upscale(cells, px)
    _mark_start_and_goal(image, maze, px, MARKER_COLOUR)
    return image
