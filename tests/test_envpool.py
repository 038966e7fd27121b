"""`vector_mode: envpool`: the EnvPool adapter keeps the EnvAdapter contract, behaves like
Gymnasium (and rlforge's Atari preprocessing) where the two can be compared step for step, and
what it cannot do is refused in one line before a run exists."""

import csv
import importlib.util
import json
import math
import sys

import gymnasium as gym
import numpy as np
import pytest
from cli_helpers import run_cli

from rlforge import envpool_backend
from rlforge.envs import env_spaces, vector_env
from rlforge.errors import RLForgeError
from rlforge.plugins import get_host
from rlforge.training import build_engine, prepare

needs_envpool = pytest.mark.skipif(importlib.util.find_spec("envpool") is None,
                                   reason="envpool is not installed (pip install 'rlforge[envpool]')")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def adapter(env_id, num_envs=1, seed=0, **kwargs):
    return vector_env(env_id, num_envs, seed, "envpool", get_host().registry.envs.get(env_id), **kwargs)


def atari_reference(game: str, noop_max: int):
    """rlforge's own Atari env (the rlforge-dqn plugin's wrapper over ale-py)."""
    from rlforge_dqn.atari import AtariPreprocessing, make_ale_env

    return AtariPreprocessing(make_ale_env(game, 0.0), noop_max=noop_max)


# ----------------------------------------------------------------------------- the contract


@needs_envpool
@pytest.mark.parametrize("env_id", ["HalfCheetah-v4", "Hopper-v4", "CartPole-v1", "Pendulum-v1",
                                    "PongNoFrameskip-v4", "ALE/Breakout-v5"])
def test_the_spaces_are_gymnasiums(env_id):
    env = adapter(env_id, 2)
    try:
        observation_space, action_space = env_spaces(env_id, get_host().registry.envs.get(env_id))
        assert env.observation_space == observation_space and env.action_space == action_space
        obs = env.reset()
        assert obs.shape == (2, *observation_space.shape)
        assert obs.dtype == (np.float32 if observation_space.dtype.kind == "f" else observation_space.dtype)
    finally:
        env.close()


@needs_envpool
def test_the_step_gives_the_true_final_observation_and_the_next_episodes_first():
    env = adapter("CartPole-v1", 4, seed=3)
    try:
        env.reset()
        ended = 0
        for _ in range(100):
            step = env.step(np.ones(4, dtype=np.int64))  # always push right: the pole falls in ~10 steps
            done = step.terminated | step.truncated
            assert np.array_equal(step.final_obs[~done], step.obs[~done])
            for i in np.flatnonzero(done):
                assert step.terminated[i] and not step.truncated[i]
                assert abs(step.final_obs[i][2]) > 12 * 2 * math.pi / 360  # fallen: past 12 degrees
                assert np.all(np.abs(step.obs[i]) <= 0.05)  # a new episode's first observation
                ended += 1
            if ended >= 8:
                break
        assert ended >= 8
    finally:
        env.close()


@needs_envpool
@pytest.mark.parametrize("env_id, limit", [("Pendulum-v1", None), ("Pendulum-v1", 7), ("HalfCheetah-v4", 5)])
def test_the_time_limit_truncates_and_the_statistics_count_the_episode(env_id, limit):
    env = adapter(env_id, 3, seed=1, max_episode_steps=limit)
    steps = limit or gym.spec(env_id).max_episode_steps
    try:
        env.reset()
        returns = np.zeros(3)
        for t in range(steps):
            step = env.step(np.stack([env.action_space.sample() for _ in range(3)]))
            returns += step.rewards
            assert not step.terminated.any()
            assert step.truncated.all() == (t == steps - 1)
        assert step.episode_lengths == [steps] * 3
        assert np.allclose(step.episode_returns, returns, rtol=1e-5)
        assert not np.array_equal(step.obs, step.final_obs)  # reset at once
        assert env.step(np.stack([env.action_space.sample() for _ in range(3)])).episode_lengths == []
    finally:
        env.close()


@needs_envpool
@pytest.mark.parametrize("env_id", ["CartPole-v1", "HalfCheetah-v4"])
def test_seeding_is_reproducible(env_id):
    def rollout(env, seed=None):
        rng = np.random.default_rng(0)
        observations = [env.reset(seed)]
        for _ in range(30):
            if isinstance(env.action_space, gym.spaces.Discrete):
                actions = rng.integers(env.action_space.n, size=env.num_envs)
            else:
                actions = rng.uniform(-1, 1, (env.num_envs, *env.action_space.shape)).astype(np.float32)
            observations.append(env.step(actions).obs)
        return np.stack(observations)

    first, again, other = adapter(env_id, 2, seed=5), adapter(env_id, 2, seed=5), adapter(env_id, 2, seed=6)
    try:
        a = rollout(first)
        assert np.array_equal(a, rollout(again))
        assert not np.array_equal(a, rollout(other))
        assert np.array_equal(rollout(other, seed=5), a)  # reset(seed) reseeds: the pool is made again
        assert not np.array_equal(a[0, 0], a[0, 1])  # envs of one pool get different seeds
    finally:
        for env in (first, again, other):
            env.close()


# ----------------------------------------------------------------------------- next to Gymnasium


@needs_envpool
@pytest.mark.parametrize("env_id", ["HalfCheetah-v4", "Hopper-v4"])
def test_mujoco_dynamics_match_gymnasium_from_the_same_state(env_id):
    """Without reset noise both start from the model's initial state; the same actions then
    give the same observations and rewards (to float rounding: EnvPool bundles another MuJoCo
    build, and the cheetah's dynamics amplify rounding after ~50 steps, so 20 are compared)."""
    env = adapter(env_id, 1, env_kwargs={"reset_noise_scale": 0.0})
    reference = gym.make(env_id, reset_noise_scale=0.0)
    try:
        obs, (ref_obs, _) = env.reset(), reference.reset(seed=0)
        assert np.allclose(obs[0], ref_obs, atol=1e-6)
        rng = np.random.default_rng(0)
        for _ in range(20):
            action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
            step = env.step(action[None])
            ref_obs, ref_reward, ref_terminated, ref_truncated, _ = reference.step(action)
            assert np.allclose(step.final_obs[0], ref_obs, atol=1e-5)
            assert step.rewards[0] == pytest.approx(ref_reward, abs=1e-5)
            assert step.terminated[0] == ref_terminated and step.truncated[0] == ref_truncated
            if ref_terminated:
                break
    finally:
        env.close()
        reference.close()


@needs_envpool
def test_cartpole_and_pendulum_dynamics_match_gymnasium_from_the_same_state():
    """Their reset states come from different generators; Gymnasium's env is put in EnvPool's
    state and both are stepped with the same actions, across an episode's end."""
    def put(reference, obs):
        if reference.spec.id == "CartPole-v1":
            reference.unwrapped.state = np.asarray(obs, np.float64)
            reference.unwrapped.steps_beyond_terminated = None  # a fresh episode's rewards
        else:  # Pendulum's observation is (cos, sin, angular velocity)
            reference.unwrapped.state = np.array([math.atan2(obs[1], obs[0]), obs[2]])

    for env_id in ("CartPole-v1", "Pendulum-v1"):
        env, reference = adapter(env_id, 1, seed=2), gym.make(env_id)
        try:
            obs = env.reset()
            reference.reset(seed=0)
            put(reference, obs[0])
            rng = np.random.default_rng(1)
            for _ in range(60):
                action = env.action_space.sample() if env_id == "Pendulum-v1" else int(rng.integers(2))
                step = env.step(np.asarray([action]))
                ref_obs, ref_reward, ref_terminated, _, _ = reference.step(action)
                assert np.allclose(step.final_obs[0], ref_obs, atol=1e-4), env_id
                assert step.rewards[0] == pytest.approx(ref_reward, abs=1e-4)
                assert step.terminated[0] == ref_terminated
                if ref_terminated:  # carry on from EnvPool's next episode
                    put(reference, step.obs[0])
        finally:
            env.close()
            reference.close()


@needs_envpool
def test_atari_matches_rlforges_preprocessing_frame_for_frame(monkeypatch):
    """With one no-op at each reset (the only random draw without sticky actions) EnvPool
    plays the same game as rlforge's own wrapper: the same rewards, lives lost and game end
    (the emulators' RAM agree throughout), and frames equal but for area-resampling rounding
    (a grey level on a few pixels). The last frame of a game that ends within the 4 frames of
    a step differs more: rlforge takes the last screen, EnvPool pools it with an older one
    (a terminal observation, never bootstrapped from)."""
    monkeypatch.setitem(envpool_backend.ATARI_OPTIONS, "noop_max", 1)
    env = adapter("BreakoutNoFrameskip-v4", 1)
    env.info_keys = ("life_lost",)  # as the engine sets it for the DQN agent
    reference = atari_reference("breakout", noop_max=1)
    try:
        obs, (ref_obs, _) = env.reset(), reference.reset(seed=0)
        assert np.array_equal(obs[0], ref_obs)
        rng = np.random.default_rng(0)
        score, lives_lost, pixels_off = 0.0, 0, 0
        for t in range(5000):
            action = int(rng.integers(env.action_space.n))
            step = env.step(np.asarray([action]))
            ref_obs, ref_reward, ref_terminated, ref_truncated, ref_info = reference.step(action)
            if not ref_terminated:
                off = np.abs(step.final_obs[0].astype(int) - ref_obs)
                assert off.max() <= 1, t
                pixels_off += int(np.count_nonzero(off[-1]))
            assert step.rewards[0] == ref_reward and step.terminated[0] == ref_terminated
            assert bool(step.info["life_lost"][0]) == ref_info["life_lost"]
            score, lives_lost = score + ref_reward, lives_lost + ref_info["life_lost"]
            if ref_terminated:
                break
        assert ref_terminated and lives_lost == 5
        assert pixels_off < 1e-3 * t * 84 * 84
        assert step.episode_returns == [score] and step.episode_lengths == [t + 1]
        ref_first, _ = reference.reset(seed=0)  # the next game starts alike too
        assert np.abs(step.obs[0].astype(int) - ref_first).max() <= 1
    finally:
        env.close()
        reference.close()


@needs_envpool
def test_atari_no_op_starts_are_1_to_30_frames_as_rlforges():
    """The emulator's RAM after a reset tells how many no-op frames were played."""
    reference = atari_reference("pong", noop_max=0)
    reference.reset(seed=0)  # seeding reloads the game (slow); a reset without one starts it alike
    after = {}
    for noops in range(0, 32):
        reference.reset()
        for _ in range(noops):
            reference.env.step(0)
        after[reference.ale.getRAM().tobytes()] = noops
    envpool = envpool_backend.import_envpool()
    pool = envpool.make_gymnasium("Pong-v5", num_envs=12, seed=0, **envpool_backend.ATARI_OPTIONS)
    try:
        _, info = pool.reset()
        counts = [after.get(ram.tobytes()) for ram in info["ram"]]
        assert all(c is not None and 1 <= c <= 30 for c in counts), counts
        assert len(set(counts)) > 4
    finally:
        pool.close()
        reference.close()


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("algo, env_id, sets, message", [
    ("sac", "LunarLanderContinuous-v3", [], "vector_mode envpool does not support LunarLanderContinuous-v3; it supports"),
    ("sac", "PointmassEasy-v0", [], "vector_mode envpool does not support PointmassEasy-v0"),
    ("sac", "Pendulum-v1", ["env_kwargs={g: 3.0}"], "vector_mode envpool cannot pass env_kwargs 'g' to Pendulum-v1 (it passes none)"),
    ("sac", "Hopper-v4", ["env_kwargs={healthy_z_range: [0.5, 2.0]}"],
     "vector_mode envpool cannot pass env_kwargs 'healthy_z_range' to Hopper-v4 (it passes only ctrl_cost_weight"),
    ("dqn", "PongNoFrameskip-v4", ["max_episode_steps=100"], "vector_mode envpool cannot cap PongNoFrameskip-v4 at max_episode_steps"),
])
def test_what_envpool_cannot_do_is_refused_in_one_line(algo, env_id, sets, message):
    if "cannot pass" in message and importlib.util.find_spec("envpool") is None:
        pytest.skip("the env_kwargs check reads envpool's options")
    with pytest.raises(RLForgeError) as refused:
        prepare(algo, env_id, None, ["vector_mode=envpool", *sets], {})
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_without_envpool_installed_the_refusal_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "envpool", None)  # find_spec then finds nothing
    with pytest.raises(RLForgeError, match=r"vector_mode envpool needs the envpool package: pip install 'rlforge\[envpool\]'"):
        prepare("ppo", "CartPole-v1", None, ["vector_mode=envpool"], {})


def test_the_cli_refuses_with_exit_status_2_one_line_and_no_run_directory(tmp_path):
    result = run_cli(["train", "--algo", "ppo", "--env", "LunarLander-v3", "--steps", "100", "--run-dir", "r",
                      "--set", "vector_mode=envpool"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "vector_mode envpool does not support LunarLander-v3" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- runs


@needs_envpool
@pytest.mark.parametrize("algo, sets", [
    ("ppo", ["num_envs=4", "n_steps=64", "num_minibatches=4", "update_epochs=2"]),
    ("dqn", ["num_envs=2", "learning_starts=256", "buffer_size=2000", "batch_size=32", "hidden=[32, 32]"]),
])
def test_a_short_run_trains_end_to_end_on_envpool(tmp_path, algo, sets):
    result = run_cli(["train", "--algo", algo, "--env", "CartPole-v1", "--steps", "512", "--run-dir", "r",
                      "--set", "vector_mode=envpool", "--set", "eval_every=0", "--set", "eval_episodes=2",
                      *[arg for s in sets for arg in ("--set", s)]], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] >= 512
    tags = [row["tag"] for row in csv.DictReader(open(tmp_path / "r" / "metrics.csv"))]
    assert tags.count("charts/episode_return") > 5 and "eval/return_mean" in tags


@needs_envpool
def test_dqn_learns_from_envpool_atari_frames_with_lives_lost_as_terminals():
    spec, resolved, env_spec = prepare("dqn", "PongNoFrameskip-v4", None,
                                       ["vector_mode=envpool", "num_envs=2", "buffer_size=4000",
                                        "learning_starts=200", "batch_size=8"], {})
    engine = build_engine(spec, resolved, env_spec)
    try:
        assert engine.env.info_keys == ("life_lost",) and engine.env.observation_space.shape == (4, 84, 84)

        class Run:
            step = iteration = 0

        run, metrics = Run(), {}
        while run.step < 240:
            metrics = engine.iterate(run) or metrics
        assert metrics and all(math.isfinite(v) for v in metrics.values())
        assert len(engine.agent.buffer) >= 240
    finally:
        engine.close()
