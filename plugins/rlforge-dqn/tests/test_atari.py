"""The Atari ids and their preprocessing: stacked 84x84 grayscale uint8 frames, raw game
scores as rewards, whole games (all lives) as episodes with `life_lost` in the step info,
ALE's v5 ids without double frame skipping whichever registration wins, and the replay
buffer rebuilding exactly the stacks the real env produced."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rlforge.envs import EnvAdapter, make_env
from rlforge.plugins import get_host
from rlforge_dqn.atari import area_weights
from rlforge_dqn.frame_buffer import FrameReplayBuffer

PACMAN = "MsPacmanNoFrameskip-v4"


def spec(env_id):
    return get_host().registry.envs[env_id]


def test_the_plugin_registers_the_atari_ids():
    ids = set(get_host().registry.envs)
    assert {"MsPacmanNoFrameskip-v4", "ALE/MsPacman-v5", "PongNoFrameskip-v4", "ALE/Pong-v5",
            "BreakoutNoFrameskip-v4", "ALE/Breakout-v5"} <= ids


def test_observations_are_four_stacked_84x84_grayscale_frames():
    env = make_env(PACMAN, spec(PACMAN))
    assert env.observation_space.shape == (4, 84, 84) and env.observation_space.dtype == np.uint8
    obs, info = env.reset(seed=3)
    assert obs.dtype == np.uint8 and (obs == obs[-1]).all()  # the first observation repeats its frame
    assert info["lives"] == 3 and info["life_lost"] is False
    previous = obs
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
        np.testing.assert_array_equal(obs[:-1], previous[1:])
        previous = obs
    assert obs.std() > 0
    env.close()


def test_an_episode_is_the_whole_game_with_raw_scores():
    env = EnvAdapter(PACMAN, num_envs=1, seed=0, plugin_spec=spec(PACMAN))
    env.reset()
    rewards, lives = [], []
    while True:
        result = env.step(env.random_actions())
        rewards.append(float(result.rewards[0]))
        if result.terminated[0] or result.truncated[0]:
            break
        lives.append(env.vec.envs[0].unwrapped.ale.lives())
        assert len(rewards) < 20_000
    assert result.terminated[0] and lives[0] == 3 and lives[-1] == 1  # lost two lives; the third ended it
    assert result.episode_returns == [pytest.approx(sum(rewards))]
    assert max(rewards) >= 10 and sum(rewards) > 100  # game points, not clipped to 1
    env.close()


def test_life_lost_is_reported_in_the_step_info():
    env = make_env(PACMAN, spec(PACMAN))
    env.reset(seed=1)
    flags = []
    while True:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        flags.append(info["life_lost"])
        if term or trunc:
            break
    assert sum(flags) == 3  # the last one together with the end of the game
    env.close()


def test_v5_ids_keep_sticky_actions_and_skip_frames_once():
    env = make_env("ALE/MsPacman-v5", spec("ALE/MsPacman-v5"))
    ale_env = env.unwrapped
    assert ale_env._frameskip == 1
    assert ale_env.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84)
    env.close()
    v4 = make_env(PACMAN, spec(PACMAN)).unwrapped
    assert v4._frameskip == 1 and v4.ale.getFloat("repeat_action_probability") == 0.0


ORDER_SCRIPT = """
import sys
import numpy as np
if sys.argv[1] == "ale-first":
    import ale_py  # registers ALE's own ids before rlforge does
from rlforge.envs import make_env
from rlforge.plugins import get_host
env_id = sys.argv[2]
observations = []
for _ in range(2):  # the first make registers the plugin's factory, the second finds ALE's ids
    env = make_env(env_id, get_host().registry.envs[env_id])
    obs, _ = env.reset(seed=7)
    for a in [1, 2, 3, 4] * 10:
        obs, *_ = env.step(a)
    observations.append(obs)
    assert env.unwrapped._frameskip == 1
np.save(sys.argv[3], np.stack(observations))
"""


@pytest.mark.parametrize("env_id", [PACMAN, "ALE/MsPacman-v5"])
def test_the_same_env_whichever_registration_wins(tmp_path, env_id):
    results = []
    for order in ("plugin-first", "ale-first"):
        out = tmp_path / f"{order}.npy"
        done = subprocess.run([sys.executable, "-c", ORDER_SCRIPT, order, env_id, str(out)], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "RLFORGE_LOAD_PLUGINS": "dqn"})
        assert done.returncode == 0, done.stderr
        assert "Overriding environment" not in done.stderr
        results.append(np.load(out))
    for stacks in results:
        np.testing.assert_array_equal(stacks[0], stacks[1])
    np.testing.assert_array_equal(results[0], results[1])


def test_area_resampling_weights():
    w = area_weights(210, 84)
    assert w.shape == (84, 210)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(area_weights(8, 4), np.kron(np.eye(4), [[0.5, 0.5]]))  # 2x: block means


def test_the_buffer_rebuilds_the_real_env_stacks_across_episode_boundaries():
    # short episodes (a 40-step time limit) and two envs: many boundaries, some by game over
    env = EnvAdapter(PACMAN, num_envs=2, seed=5, plugin_spec=spec(PACMAN), max_episode_steps=40)
    obs = env.reset()
    buffer = FrameReplayBuffer(10_000, (4, 84, 84), np.uint8, 2, 4, 0.99, 1, seed=1)
    recorded, ends = {}, 0
    from rlforge.agent import Transitions

    for _ in range(150):
        actions = env.random_actions()
        step = env.step(actions)
        batch = Transitions(obs[None], actions[None], step.rewards[None], step.final_obs[None],
                            step.terminated[None], step.truncated[None])
        buffer.add(batch)
        for e in range(2):
            recorded.setdefault((obs[e].tobytes(), int(actions[e])), set()).add(step.final_obs[e].tobytes())
        ends += int((step.terminated | step.truncated).sum())
        obs = step.obs
    assert ends >= 6
    starts = 0
    for _ in range(10):
        sample = buffer.sample(64)
        for o, a, n in zip(sample["obs"].numpy(), sample["actions"].tolist(), sample["next_obs"].numpy()):
            assert n.tobytes() in recorded[(o.tobytes(), a)]  # (the intro screens repeat)
            starts += bool((o == o[-1]).all())
    assert starts > 0
    env.close()


def test_the_engine_passes_life_losses_to_the_agent_as_terminals_for_learning():
    from rlforge.training import build_engine, prepare

    engine = build_engine(*prepare("dqn", PACMAN, None, ["buffer_size=5000", "learning_starts=100000"], {}))
    try:
        assert engine.env.info_keys == ("life_lost",)
        games_over = 0
        while games_over == 0:
            batch = engine.collector.collect(lambda obs: engine.env.random_actions(), 100)
            engine.agent.observe(batch)
            games_over += int(batch.terminated.sum())
            assert len(engine.agent.buffer) < 5000, "a random game of MsPacman should end well before 5,000 steps"
        # two lives lost mid-game plus the end of the game itself, all terminal for learning
        assert int(engine.agent.buffer.terminal.sum()) == 3
        assert int(engine.agent.buffer.end.sum()) == 1  # one episode (the whole game) for the statistics
    finally:
        engine.close()
