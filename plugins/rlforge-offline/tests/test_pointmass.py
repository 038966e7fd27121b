"""The Pointmass envs: the course's maps, moves and walls, the goal test and rewards, termination
against truncation, seeding, Gymnasium's env checker, rendering and exact resume."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlforge import envstate
from rlforge.envs import make_env
from rlforge.errors import RLForgeError
from rlforge.plugins import get_host
from rlforge_offline.maze import FOUR_ROOMS, GOAL_COLOUR, POINT_COLOUR, WALL_COLOUR, default_cell_px, maze_for

IDS = ("PointmassEasy-v0", "PointmassMedium-v0", "PointmassHard-v0")
RIGHT, LEFT, UP, DOWN, STAY = 2, 1, 3, 4, 0


def make(env_id, **kwargs):
    """gym.make of a plugin id, with keyword arguments rlforge's make_env does not pass."""
    make_env(env_id, get_host().registry.envs[env_id]).close()  # registers the id with Gymnasium
    return gym.make(env_id, **kwargs)


def at(env, row, col):
    """Put the point at (row, col) (cells)."""
    env.unwrapped.position = np.array([row, col], dtype=np.float64)


def position(env):
    return env.unwrapped.position


class FixedNoise:
    """Stands in for np_random: the noise added to every move is `offset`."""

    def __init__(self, offset):
        self.offset = np.asarray(offset, dtype=np.float64)

    def normal(self, loc, scale):
        return np.asarray(loc, dtype=np.float64) + self.offset


def test_the_plugin_registers_the_three_mazes_with_the_course_step_limits():
    for env_id, steps in zip(IDS, (50, 150, 100)):
        assert get_host().registry.envs[env_id].max_episode_steps == steps
        env = make(env_id)
        assert env.spec.max_episode_steps == steps
        assert env.observation_space == gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        assert env.action_space == gym.spaces.Discrete(5)


def test_the_maps_are_the_course_maps_doubled_where_it_doubles_them():
    easy, medium, hard = (maze_for(i) for i in IDS)
    assert easy.walls.shape == (10, 10) and medium.walls.shape == (6, 6) and hard.walls.shape == (22, 22)
    assert not easy.walls[:2].any() and not easy.walls[:, 8:].any() and easy.walls[2:, :8].all()
    assert medium.walls[0].tolist() == [False, False, True, False, False, False]
    assert medium.walls[:, 0].tolist() == [False, True, False, False, False, True]
    four_rooms = np.array([[ch == "1" for ch in row] for row in FOUR_ROOMS])
    np.testing.assert_array_equal(hard.walls[::2, ::2], four_rooms)
    np.testing.assert_array_equal(hard.walls[1::2, 1::2], four_rooms)
    assert hard.walls[0, 10] and hard.walls[1, 11] and not hard.walls[0, 9] and not hard.walls[4, 10]
    assert (easy.start.tolist(), easy.goal.tolist(), easy.epsilon) == ([1, 1], [9, 9], 2)
    assert (medium.start.tolist(), medium.goal.tolist(), medium.epsilon) == ([0.5, 0.5], [1.5, 5.5], 1)
    assert (hard.start.tolist(), hard.goal.tolist(), hard.epsilon) == ([2, 2], [20, 20], 2)


def test_the_observation_is_the_position_over_the_maze_size_row_first():
    env = make("PointmassMedium-v0", action_noise=0.0)
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs, [0.5 / 6, 0.5 / 6])
    obs, *_ = env.step(RIGHT)  # one cell to the right: the column grows
    assert obs.dtype == np.float32
    np.testing.assert_allclose(obs, [0.5 / 6, 1.5 / 6], atol=1e-6)


def test_noise_free_moves_go_one_cell_in_their_direction():
    env = make("PointmassHard-v0", action_noise=0.0)
    for action, (d_row, d_col) in ((RIGHT, (0, 1)), (LEFT, (0, -1)), (UP, (-1, 0)), (DOWN, (1, 0)), (STAY, (0, 0))):
        env.reset(seed=0)
        at(env, 4.0, 4.0)
        env.step(action)
        np.testing.assert_allclose(position(env), [4.0 + d_row, 4.0 + d_col], atol=1e-9)


def test_a_push_into_a_wall_stops_the_point_at_the_last_free_sub_step():
    env = make("PointmassEasy-v0", action_noise=0.0)
    env.reset(seed=0)  # (1, 1); the rows below 2 are walls under columns 0-7
    env.step(DOWN)
    assert 1.9 - 1e-9 <= position(env)[0] < 2.0 and position(env)[1] == 1.0
    env.step(DOWN)  # pushing again gets no further
    assert 1.9 - 1e-9 <= position(env)[0] < 2.0
    medium = make("PointmassMedium-v0", action_noise=0.0)
    medium.reset(seed=0)  # (0.5, 0.5) with a wall at cell (1, 0) below
    medium.step(DOWN)  # 0.5 + 5 x 0.1 rounds to just under 1.0: still the free cell (as in the course)
    assert 0.9 - 1e-9 <= position(medium)[0] < 1.0 and position(medium)[1] == 0.5


def test_the_border_holds_the_point_inside_the_maze():
    env = make("PointmassEasy-v0", action_noise=0.0)
    env.reset(seed=0)
    for action in (UP, UP, LEFT, LEFT):
        obs, *_ = env.step(action)
    assert 0.0 <= position(env)[0] < 0.1 and 0.0 <= position(env)[1] < 0.1
    assert env.observation_space.contains(obs)
    at(env, 1.0, 9.5)
    for _ in range(3):
        obs, *_ = env.step(RIGHT)
    assert 9.9 <= position(env)[1] <= 10.0 and env.observation_space.contains(obs)


def test_sub_steps_take_each_axis_in_turn_so_a_diagonal_push_slides_along_a_wall():
    env = make("PointmassEasy-v0")
    env.reset(seed=0)
    env.unwrapped.np_random = FixedNoise([1.5, 0.5])  # STAY + noise = a move of (1.5, 0.5)
    env.step(STAY)
    # rows: 1.15, 1.3, ..., 1.9, then 2.05 is in the wall and every later row sub-step too;
    # columns: all ten sub-steps of 0.05 go through.
    np.testing.assert_allclose(position(env), [1.9, 1.5], atol=1e-9)


def test_the_noise_is_gaussian_with_std_one_half_on_each_axis():
    env = make("PointmassHard-v0")  # the start (2, 2) is 3 cells from any wall of its room
    env.reset(seed=0)
    moves = []
    for _ in range(400):
        env.reset()
        env.step(STAY)
        moves.append(position(env) - [2.0, 2.0])
    moves = np.array(moves)
    assert np.all(np.abs(moves.mean(axis=0)) < 0.08)
    assert np.all((moves.std(axis=0) > 0.44) & (moves.std(axis=0) < 0.56))


def test_the_goal_is_reached_strictly_within_epsilon_with_sparse_reward_zero_there():
    env = make("PointmassEasy-v0", action_noise=0.0)  # goal (9, 9), epsilon 2; columns 8-9 are free
    env.reset(seed=0)
    for row, reached in ((6.95, False), (7.0, False), (7.05, True)):
        at(env, row, 9.0)
        _, reward, terminated, truncated, info = env.step(STAY)
        expected = (0.0 if reached else -1.0, reached, False, reached)
        assert (reward, terminated, truncated, info["reached_goal"]) == expected


def test_the_dense_reward_is_minus_the_distance_to_the_goal_in_cells():
    env = make("PointmassEasy-v0", dense_reward=True, action_noise=0.0)
    env.reset(seed=0)
    at(env, 5.0, 9.0)
    assert env.step(STAY)[1] == pytest.approx(-4.0)
    assert env.step(DOWN)[1] == pytest.approx(-3.0)
    at(env, 1.0, 3.0)  # 8 rows and 6 columns away: Euclidean, not along the corridor
    assert env.step(STAY)[1] == pytest.approx(-10.0)


def test_an_episode_terminates_at_the_goal_and_is_truncated_at_the_step_limit():
    env = make("PointmassEasy-v0", action_noise=0.0)
    env.reset(seed=0)
    at(env, 1.0, 8.5)
    rewards = []
    for step in range(1, 8):
        _, reward, terminated, truncated, _ = env.step(DOWN)
        rewards.append(reward)
        assert not truncated and terminated == (step == 7)  # (8, 8.5): 1.12 from the goal; (7, 8.5): 2.06
    assert rewards == [-1.0] * 6 + [0.0]

    env.reset(seed=0)
    for step in range(1, 51):
        _, reward, terminated, truncated, _ = env.step(STAY)
        assert reward == -1.0 and not terminated and truncated == (step == 50)


def test_seeded_episodes_repeat_and_other_seeds_differ():
    def episode(seed):
        env = make("PointmassHard-v0")
        observations = [env.reset(seed=seed)[0]]
        for action in [RIGHT, DOWN, RIGHT, DOWN, STAY, LEFT, UP, DOWN] * 3:
            observations.append(env.step(action)[0])
        return np.array(observations)

    np.testing.assert_array_equal(episode(3), episode(3))
    assert not np.array_equal(episode(3), episode(4))


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("render_mode", [None, "rgb_array"])
def test_gymnasiums_env_checker_passes_without_a_warning(env_id, render_mode):
    env = make(env_id, render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=render_mode is None)


def test_bad_actions_and_settings_are_one_line_errors():
    env = make("PointmassMedium-v0")
    env.reset(seed=0)
    with pytest.raises(RLForgeError, match="actions are 0..4"):
        env.unwrapped.step(5)
    with pytest.raises(RLForgeError, match="action_noise"):
        make("PointmassMedium-v0", action_noise=-1.0)


def test_the_picture_shows_walls_goal_and_the_point_where_it_is():
    env = make("PointmassHard-v0", render_mode="rgb_array", action_noise=0.0)
    env.reset(seed=0)
    px = default_cell_px(maze_for("PointmassHard-v0"))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (22 * px, 22 * px, 3)

    def pixel(row, col):  # the pixel at a position in cells
        return tuple(frame[int(row * px), int(col * px)])

    assert pixel(0.5, 10.5) == WALL_COLOUR and pixel(11.5, 0.5) == WALL_COLOUR
    assert pixel(20.0, 20.0) == GOAL_COLOUR
    assert pixel(2.0, 2.0) == POINT_COLOUR
    assert pixel(19.0, 19.0) not in (GOAL_COLOUR, (255, 255, 255))  # inside the shaded epsilon disk
    assert pixel(5.5, 5.5) == (255, 255, 255)
    env.step(RIGHT)
    frame = env.render()
    assert pixel(2.0, 3.0) == POINT_COLOUR and pixel(2.0, 2.0) == (255, 255, 255)
    silent = make("PointmassHard-v0")
    silent.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the env checker warns that no render_mode was given
        assert silent.render() is None


def continuation(env, actions):
    return [(tuple(obs), reward, terminated, truncated)
            for obs, reward, terminated, truncated, _ in (env.step(a) for a in actions)]


def test_rlforge_envstate_continues_an_episode_exactly():
    env = make("PointmassMedium-v0")
    env.reset(seed=1)
    actions = [RIGHT, DOWN, DOWN, RIGHT, UP, STAY, LEFT, DOWN] * 4
    continuation(env, actions[:5])
    saved = envstate.capture(env)
    assert saved is not None
    expected = continuation(env, actions[5:])
    other = make("PointmassMedium-v0")
    other.reset(seed=2)
    envstate.restore(other, saved)
    assert continuation(other, actions[5:]) == expected
