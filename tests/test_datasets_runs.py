"""A run directory as a dataset: RUN_DIR/dataset/, else the replay buffer of its latest
checkpoint (ring order, interleaved envs, declared action transforms)."""

import json

import numpy as np
import pytest
from gymnasium import spaces

from dataset_helpers import make_dataset
from rlforge import checkpoint
from rlforge.buffers import ReplayBuffer
from rlforge.datasets import load_dataset, read_minari, save_minari
from rlforge.errors import RLForgeError

PENDULUM = (spaces.Box(-np.inf, np.inf, (3,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32))


def env_stream(rng, steps: int, episode_length: int, n_actions=None):
    """One env's rows: episodes of `episode_length` steps (truncated), next_obs following obs."""
    obs, next_obs = [], []
    for start in range(0, steps, episode_length):
        n = min(episode_length, steps - start)
        seq = rng.normal(size=(n + 1, 3)).astype(np.float32)
        obs.append(seq[:-1])
        next_obs.append(seq[1:])
    truncated = (np.arange(steps) % episode_length) == episode_length - 1
    actions = (rng.integers(0, n_actions, size=steps) if n_actions
               else rng.uniform(-2, 2, size=(steps, 1)).astype(np.float32))
    return {"obs": np.concatenate(obs), "actions": actions, "rewards": rng.normal(size=steps).astype(np.float32),
            "next_obs": np.concatenate(next_obs), "terminated": np.zeros(steps, bool), "truncated": truncated}


def write_run(run_dir, agent_state, env="Pendulum-v1", num_envs=1, algo="sac"):
    from rlforge.envs import env_spaces

    observation_space, action_space = env_spaces(env)
    metadata = {"algo": algo, "env": env, "observation_space": repr(observation_space),
                "action_space": repr(action_space), "counters": {"step": 99}, "config": {"num_envs": num_envs, "seed": 5}}
    checkpoint.save(run_dir / "checkpoints", "step_000000000099", {"agent": agent_state, "engine": {}}, metadata)
    (run_dir / "meta.json").write_text(json.dumps({"algo": algo, "command": "rlforge train --algo sac"}))
    return run_dir


def fill(buffer: ReplayBuffer, streams: list[dict]):
    """Add the envs' rows one step at a time, one row per env per step (as the engine does)."""
    for t in range(len(streams[0]["rewards"])):
        buffer.add_rows(*(np.stack([s[k][t] for s in streams]) for k in
                          ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")))


def test_a_wrapped_buffer_comes_back_oldest_first(tmp_path):
    stream = env_stream(np.random.default_rng(0), 14, 5)
    buffer = ReplayBuffer(10, (3,), (1,))
    fill(buffer, [stream])
    assert buffer.position == 4  # wrapped: the oldest row sits at position 4
    data = load_dataset(str(write_run(tmp_path / "run", {"buffer": buffer.state_dict(), "other": {"x": 1}})))
    for key in ("obs", "actions", "rewards", "next_obs", "truncated"):
        np.testing.assert_array_equal(getattr(data, key), stream[key][4:], err_msg=key)
    assert data.actions.dtype == np.float32 and data.terminated.dtype == bool
    assert data.metadata["algo"] == "sac" and data.metadata["seed"] == 5 and data.metadata["step"] == 99
    assert data.metadata["training_command"] == "rlforge train --algo sac"
    saved = read_minari(save_minari(data, tmp_path / "out", *PENDULUM))  # a partial first episode is fine
    assert [len(e) for e in saved.episodes()] == [1, 5, 4]  # the last one, unfinished, now ends truncated


@pytest.mark.parametrize("capacity", [8, 7])
def test_interleaved_envs_become_one_env_after_another(tmp_path, capacity):
    rng = np.random.default_rng(1)
    streams = [env_stream(rng, 6, 3, n_actions=2) for _ in range(2)]
    buffer = ReplayBuffer(capacity, (3,), (), action_dtype=np.int64)
    fill(buffer, streams)  # 12 rows into `capacity`: the oldest steps are gone
    state = buffer.state_dict()
    del state["truncated"]  # as in checkpoints written before buffers kept it
    data = load_dataset(str(write_run(tmp_path / "run", {"buffer": state}, env="CartPole-v1", num_envs=2)))
    kept = {0: 6 - capacity // 2, 1: 6 - (capacity + 1) // 2}  # first step kept per env
    expected_obs = np.concatenate([streams[e]["obs"][kept[e]:] for e in (0, 1)])
    np.testing.assert_array_equal(data.obs, expected_obs)
    np.testing.assert_array_equal(data.actions, np.concatenate([streams[e]["actions"][kept[e]:] for e in (0, 1)]))
    assert data.actions.dtype == np.int64
    # each env's episode ends come back although the buffer kept no truncation (the
    # observations do not follow on there), and each env's rows end its last episode
    expected = [streams[e]["truncated"][kept[e]:].copy() for e in (0, 1)]
    for flags in expected:
        flags[-1] = True
    np.testing.assert_array_equal(data.truncated, np.concatenate(expected))
    assert data.metadata["episode_ends_inferred"] == sum(int(f[:-1].sum()) for f in expected)
    save_minari(data, tmp_path / "out", spaces.Box(-np.inf, np.inf, (3,)), spaces.Discrete(2))  # sequences are whole


def test_declared_action_transforms_are_undone_and_others_refused(tmp_path):
    stream = env_stream(np.random.default_rng(2), 6, 3)
    buffer = ReplayBuffer(10, (3,), (1,))
    fill(buffer, [{**stream, "actions": stream["actions"] / 2.0}])  # stored in [-1, 1], as SAC does
    state = {**buffer.state_dict(), "action_scale": np.array([2.0], np.float32), "action_bias": np.zeros(1, np.float32)}
    data = load_dataset(str(write_run(tmp_path / "a", {"buffer": state})))
    np.testing.assert_allclose(data.actions, stream["actions"], rtol=1e-6)
    far = ReplayBuffer(10, (3,), (1,))
    fill(far, [{**stream, "actions": stream["actions"] * 3}])
    with pytest.raises(RLForgeError, match="actions outside Box.*without saying how"):
        load_dataset(str(write_run(tmp_path / "b", {"buffer": far.state_dict()})))


def test_runs_without_a_buffer_and_the_dataset_folder_first(tmp_path):
    with pytest.raises(RLForgeError, match="holds no replay buffer"):
        load_dataset(str(write_run(tmp_path / "dqn", {"q": {"w": np.zeros(2)}})))
    with pytest.raises(RLForgeError, match="no checkpoint found"):
        (tmp_path / "fresh" / "checkpoints").mkdir(parents=True)
        load_dataset(str(tmp_path / "fresh"))
    run = write_run(tmp_path / "rnd", {"q": {"w": np.zeros(2)}})  # no buffer, but a dataset/ folder
    written = make_dataset(np.random.default_rng(3), n_actions=2)
    save_minari(written, run / "dataset", spaces.Box(-np.inf, np.inf, (3,)), spaces.Discrete(2))
    np.testing.assert_array_equal(load_dataset(str(run)).obs, written.obs)
