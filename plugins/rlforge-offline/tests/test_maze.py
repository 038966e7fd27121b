"""Maze geometry (cells of observations, reachable cells, coverage, cell centres) on a
hand-made maze, and the pictures drawn from it."""

import sys

import numpy as np
import pytest

from rlforge.errors import RLForgeError
from rlforge_offline.maze import (RAMP, UNKNOWN_COLOUR, VISIT_COLOUR, WALL_COLOUR, Maze, colour_ramp, heatmap_image,
                                  maze_for, visits_image)

# 3 x 4; the right column is free but walled off from the start by column 2.
SMALL_WALLS = np.array([[0, 0, 1, 0],
                        [1, 0, 1, 0],
                        [0, 0, 1, 0]], dtype=bool)
PX = 10


def small_maze():
    return Maze(walls=SMALL_WALLS, start=(0.5, 0.5), goal=(2.5, 0.5), epsilon=0.5)


def test_the_module_imports_no_torch():
    import subprocess

    code = "import sys, rlforge_offline.maze; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_maze_for_knows_the_three_pointmass_ids_and_nothing_else():
    assert maze_for("CartPole-v1") is None and maze_for("PointmassEasy") is None
    first = maze_for("PointmassHard-v0")
    first.walls[:] = True  # a caller's change does not leak into the next maze
    assert not maze_for("PointmassHard-v0").walls[0, 0]


def test_cells_of_hand_computed_points():
    maze = small_maze()  # obs scale (3, 4)
    obs = np.array([[0.0, 0.0], [0.5, 0.5], [0.34, 0.24], [1.0, 1.0], [0.99, 0.74]])
    rows, cols = maze.cells_of(obs)
    assert rows.tolist() == [0, 1, 1, 2, 2]  # 0, 1.5, 1.02, 3 (the far border: last row), 2.97
    assert cols.tolist() == [0, 2, 0, 3, 2]  # 0, 2, 0.96, 4 (the far border: last column), 2.96
    assert rows.dtype.kind == "i" and cols.dtype.kind == "i"
    np.testing.assert_array_equal(maze.obs_scale, [3.0, 4.0])
    with pytest.raises(RLForgeError, match=r"\[N, 2\]"):
        maze.cells_of(np.zeros((4, 3)))


def test_free_positions_are_inside_the_maze_border_included_and_out_of_the_walls():
    maze = small_maze()
    assert maze.is_free(0.0, 0.0) and maze.is_free(3.0, 1.5) and maze.is_free(2.5, 4.0)  # the far border counts
    assert not maze.is_free(-0.01, 0.5) and not maze.is_free(3.01, 0.5) and not maze.is_free(0.5, 4.01)
    assert not maze.is_free(1.5, 0.5) and not maze.is_free(0.0, 2.0) and maze.is_free(0.0, 1.99)


def test_reachable_cells_are_the_free_cells_connected_to_the_start_by_sides():
    expected = np.array([[1, 1, 0, 0],
                         [0, 1, 0, 0],
                         [1, 1, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(small_maze().reachable_cells(), expected)
    # cells touching only at a corner are not connected
    corner = Maze(walls=[[0, 1], [1, 0]], start=(0.5, 0.5), goal=(0.5, 0.5), epsilon=0.5)
    np.testing.assert_array_equal(corner.reachable_cells(), [[True, False], [False, False]])


def test_coverage_is_the_fraction_of_reachable_cells_visited():
    maze = small_maze()
    obs = np.array([[0.1, 0.1], [0.1, 0.1], [0.5, 0.3], [0.1, 0.9]])  # cells (0, 0) twice, (1, 1), (0, 3)
    visited = maze.visit_mask(obs)
    assert visited.sum() == 3 and visited[0, 0] and visited[1, 1] and visited[0, 3]
    assert maze.coverage(visited) == pytest.approx(2 / 5)  # (0, 3) is not reachable
    assert maze.coverage(maze.reachable_cells()) == 1.0
    assert maze.coverage(np.zeros((3, 4), dtype=bool)) == 0.0
    with pytest.raises(RLForgeError, match="shape"):
        maze.coverage(np.zeros((4, 3), dtype=bool))


def test_every_pointmass_goal_is_reachable_and_the_four_rooms_are_connected():
    for env_id in ("PointmassEasy-v0", "PointmassMedium-v0", "PointmassHard-v0"):
        maze = maze_for(env_id)
        reachable = maze.reachable_cells()
        assert reachable[int(maze.goal[0]), int(maze.goal[1])], env_id
    hard = maze_for("PointmassHard-v0")
    np.testing.assert_array_equal(hard.reachable_cells(), ~hard.walls)


def test_cell_centres_are_row_major_observations_of_every_cell():
    maze = small_maze()
    centres = maze.cell_centres_obs()
    assert centres.dtype == np.float32 and centres.shape == (12, 2)
    np.testing.assert_allclose(centres[0], [0.5 / 3, 0.5 / 4])
    np.testing.assert_allclose(centres[6], [1.5 / 3, 2.5 / 4])  # row 1, column 2
    rows, cols = maze.cells_of(centres)
    assert rows.tolist() == [r for r in range(3) for _ in range(4)]
    assert cols.tolist() == list(range(4)) * 3


def test_a_start_or_goal_in_a_wall_is_refused():
    with pytest.raises(RLForgeError, match="start"):
        Maze(walls=SMALL_WALLS, start=(1.5, 0.5), goal=(0.5, 0.5), epsilon=1.0)
    with pytest.raises(RLForgeError, match="goal"):
        Maze(walls=SMALL_WALLS, start=(0.5, 0.5), goal=(0.5, 4.5), epsilon=1.0)


def test_the_colour_ramp_runs_from_dark_purple_to_yellow():
    colours = colour_ramp(np.array([-1.0, 0.0, 0.5, 1.0, 2.0]))
    assert colours.dtype == np.uint8 and colours.shape == (5, 3)
    assert tuple(colours[0]) == tuple(colours[1]) == tuple(RAMP[0].astype(int))
    assert tuple(colours[3]) == tuple(colours[4]) == tuple(RAMP[-1].astype(int))
    assert tuple(colours[2]) == tuple(RAMP[2].astype(int))


def test_the_visits_picture_draws_visited_states_over_the_maze():
    maze = small_maze()
    image = visits_image(maze, np.array([[2.5 / 3, 1.5 / 4]] * 20), cell_px=PX)  # 20 visits at (2.5, 1.5)
    assert image.dtype == np.uint8 and image.shape == (3 * PX, 4 * PX, 3)
    assert tuple(image[25, 15]) == VISIT_COLOUR  # many visits: solid
    assert tuple(image[5, 25]) == WALL_COLOUR  # cell (0, 2)
    assert tuple(image[15, 35]) == (255, 255, 255)  # cell (1, 3): never visited
    once = visits_image(maze, np.array([[2.5 / 3, 1.5 / 4]]), cell_px=PX)
    assert tuple(once[25, 15]) not in (VISIT_COLOUR, (255, 255, 255))  # one visit: faint
    assert visits_image(maze_for("PointmassHard-v0"), np.zeros((0, 2))).shape == (352, 352, 3)


def test_the_heatmap_colours_free_cells_by_value_and_keeps_the_walls():
    maze = small_maze()
    values = np.zeros((3, 4))
    values[1, 1], values[0, 3], values[1, 3] = 10.0, -5.0, np.nan
    values[SMALL_WALLS] = 1000.0  # ignored: walls take no part in the range
    image = heatmap_image(maze, values, cell_px=PX)
    assert image.dtype == np.uint8 and image.shape == (3 * PX, 4 * PX, 3)

    def centre(row, col):
        return tuple(image[row * PX + PX // 2, col * PX + PX // 2])

    assert centre(1, 1) == tuple(RAMP[-1].astype(int))  # the largest free value
    assert centre(0, 3) == tuple(RAMP[0].astype(int))  # the smallest
    assert centre(1, 3) == UNKNOWN_COLOUR
    assert centre(0, 2) == centre(1, 2) == WALL_COLOUR
    fixed = heatmap_image(maze, values.ravel(), vmin=-20.0, vmax=10.0, cell_px=PX)  # flat values, given range
    assert tuple(fixed[1 * PX + 5, 1 * PX + 5]) == tuple(RAMP[-1].astype(int))
    assert tuple(fixed[0 * PX + 5, 3 * PX + 5]) == tuple(colour_ramp(np.array(0.5)))
    with pytest.raises(RLForgeError, match="one value per cell"):
        heatmap_image(maze, np.zeros(5))


def test_coverage_on_a_grid_of_sub_cells():
    maze = maze_for("PointmassMedium-v0")
    rows, cols = maze.shape
    corner = np.array([[0.1 / rows, 0.1 / cols]])  # inside the first quarter of cell (0, 0)
    fine = maze.visit_mask(corner, resolution=4)
    assert fine.shape == (rows * 4, cols * 4) and fine.sum() == 1 and fine[0, 0]
    free = int(maze.reachable_cells().sum())
    assert maze.coverage(fine) == pytest.approx(1 / (16 * free))
    assert maze.coverage(maze.visit_mask(corner)) == pytest.approx(1 / free)
    with pytest.raises(RLForgeError):
        maze.coverage(np.zeros((rows * 4 + 1, cols * 4), dtype=bool))
