"""Minari datasets: rlforge's own writer and reader against each other and against minari."""

import json

import numpy as np
import pytest
from gymnasium import spaces

from dataset_helpers import collect_with_minari, make_dataset, minari_episodes_as_flat, write_minari_folder
from rlforge.datasets import FIELDS, Dataset, load_dataset, read_minari, save_minari
from rlforge.errors import RLForgeError

OBS3 = spaces.Box(-np.inf, np.inf, (3,), np.float32)


@pytest.fixture
def minari_root(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def assert_same(loaded: Dataset, original: Dataset):
    for key in FIELDS:
        got, want = getattr(loaded, key), getattr(original, key)
        assert got.dtype == want.dtype, (key, got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want, err_msg=key)


@pytest.mark.parametrize("n_actions", [4, None], ids=["discrete", "box"])
def test_round_trip_keeps_every_field(tmp_path, n_actions):
    data = make_dataset(np.random.default_rng(0), n_actions=n_actions)
    action_space = spaces.Discrete(4) if n_actions else spaces.Box(-1, 1, (2,), np.float32)
    folder = save_minari(data, tmp_path / "set", OBS3, action_space, env_id="CartPole-v1",
                         metadata={"command": "rlforge test", "algorithm_name": "random"})
    loaded = load_dataset(str(folder))
    assert_same(loaded, data)
    assert loaded.actions.dtype == (np.int64 if n_actions else np.float32)
    assert loaded.metadata["algo"] == "test" and loaded.metadata["seed"] == 7  # rlforge's metadata comes back
    assert loaded.metadata["command"] == "rlforge test" and loaded.metadata["env"] == "CartPole-v1"
    assert loaded.metadata["source_format"] == "minari" and loaded.metadata["dataset_id"] == "set-v0"
    assert [len(e) for e in loaded.episodes()] == [4, 6, 3]
    body = json.loads((folder / "data" / "metadata.json").read_text())
    assert body["total_episodes"] == 3 and body["total_steps"] == 13 and body["data_format"] == "hdf5"
    assert body["algorithm_name"] == "random" and body["rlforge"]["command"] == "rlforge test"
    assert json.loads(body["env_spec"])["id"] == "CartPole-v1"
    assert load_dataset(str(folder / "data")).obs.shape == data.obs.shape  # data/ itself names it too


def test_an_unfinished_last_episode_is_written_as_truncated(tmp_path):
    data = make_dataset(np.random.default_rng(1), lengths=(3,), unfinished=4, n_actions=2)
    assert not (data.terminated[-1] or data.truncated[-1])
    loaded = read_minari(save_minari(data, tmp_path / "d", OBS3, spaces.Discrete(2)))
    expected = data.truncated.copy()
    expected[-1] = True
    np.testing.assert_array_equal(loaded.truncated, expected)
    np.testing.assert_array_equal(loaded.next_obs, data.next_obs)
    assert [len(e) for e in loaded.episodes()] == [3, 4]


def test_minari_opens_what_rlforge_writes(minari_root):
    import minari

    data = make_dataset(np.random.default_rng(2), n_actions=3)
    save_minari(data, minari_root / "tests" / "walk-v1", OBS3, spaces.Discrete(3), env_id="CartPole-v1",
                metadata={"algorithm_name": "random", "author": "rlforge tests"})
    by_id = minari.load_dataset("tests/walk-v1")
    by_path = minari.MinariDataset(minari_root / "tests" / "walk-v1" / "data")
    for opened in (by_id, by_path):
        assert opened.total_episodes == 3 and opened.total_steps == len(data)
        assert opened.observation_space == OBS3 and opened.action_space == spaces.Discrete(3)
        flat = minari_episodes_as_flat(opened)
        for key in FIELDS:
            np.testing.assert_array_equal(flat[key], getattr(data, key), err_msg=key)
    assert by_id.spec.dataset_id == "tests/walk-v1" and by_id.env_spec.id == "CartPole-v1"
    assert by_id.storage.metadata["algorithm_name"] == "random"
    assert by_id.storage.metadata["author"] == {"rlforge tests"}
    assert "tests/walk-v1" in minari.list_local_datasets()


@pytest.mark.parametrize("env_id, max_steps", [("CartPole-v1", None), ("Pendulum-v1", 15)])
def test_rlforge_reads_what_minaris_data_collector_writes(minari_root, env_id, max_steps):
    recorded = collect_with_minari("collector/test-v0", env_id, episodes=3, max_episode_steps=max_steps)
    loaded = load_dataset("collector/test-v0")  # an id, resolved under MINARI_DATASETS_PATH
    flat = minari_episodes_as_flat(recorded)
    assert len(loaded) == recorded.total_steps
    for key in FIELDS:
        np.testing.assert_allclose(getattr(loaded, key), flat[key], rtol=1e-6, err_msg=key)  # rewards: f8 -> f4
    assert loaded.obs.dtype == np.float32 and loaded.rewards.dtype == np.float32
    assert loaded.actions.dtype == (np.int64 if env_id == "CartPole-v1" else np.float32)
    assert loaded.metadata["env"] == env_id and loaded.metadata["minari"]["algorithm_name"] == "random"
    assert loaded.metadata["episodes"] == 3 and len(loaded.episode_bounds()) == 3


def test_an_episode_stored_unfinished_keeps_its_end(tmp_path):
    folder = write_minari_folder(tmp_path / "odd-v0", [
        {"observations": np.zeros((3, 3), np.float32), "actions": np.zeros((2, 1), np.float32),
         "rewards": np.ones(2), "terminations": np.zeros(2, bool), "truncations": np.zeros(2, bool)},
        {"observations": np.ones((4, 3), np.float32), "actions": np.zeros((3, 1), np.float32),
         "rewards": np.ones(3), "terminations": np.array([0, 0, 1], bool), "truncations": np.zeros(3, bool)}])
    loaded = read_minari(folder)
    assert loaded.truncated.tolist() == [False, True, False, False, False]
    assert loaded.episode_returns() == [2.0, 3.0] and loaded.metadata["unfinished_episodes_marked_truncated"] == 1


def test_take_first_and_episodes():
    data = make_dataset(np.random.default_rng(3), lengths=(4, 6, 3), n_actions=2)
    first = data.take_first(7)
    assert len(first) == 7 and first.metadata["transitions"] == 7 and data.metadata.get("transitions") is None
    np.testing.assert_array_equal(first.obs, data.obs[:7])
    assert [len(e) for e in first.episodes()] == [4, 3]  # the second episode cut short, left unfinished
    assert first.episode_returns() == pytest.approx([float(data.rewards[:4].sum())])
    assert data.take_first(0) is data and data.take_first(100) is data
    episodes = data.episodes()
    assert [len(e) for e in episodes] == [4, 6, 3] and episodes[1].truncated[-1] and episodes[0].terminated[-1]
    np.testing.assert_array_equal(np.concatenate([e.actions for e in episodes]), data.actions)
    assert data.episode_lengths() == [4, 6, 3] and len(data.first_episodes(2)) == 10


def test_the_writer_refuses_to_overwrite_and_to_split_observation_sequences(tmp_path):
    data = make_dataset(np.random.default_rng(4), n_actions=2)
    save_minari(data, tmp_path / "d", OBS3, spaces.Discrete(2))
    with pytest.raises(RLForgeError, match="already exists"):
        save_minari(data, tmp_path / "d", OBS3, spaces.Discrete(2))
    interleaved = make_dataset(np.random.default_rng(4), n_actions=2)
    interleaved.next_obs[1] += 1.0  # step 1's next observation is not step 2's observation
    with pytest.raises(RLForgeError, match="next_obs at transition 1 differs"):
        save_minari(interleaved, tmp_path / "e", OBS3, spaces.Discrete(2))
    with pytest.raises(RLForgeError, match="not a Minari dataset id"):
        save_minari(data, tmp_path / "f", OBS3, spaces.Discrete(2), dataset_id="no version")
    with pytest.raises(RLForgeError, match=r"actions from 0 to 1, outside the env's Discrete\(1\)"):
        save_minari(data, tmp_path / "g", OBS3, spaces.Discrete(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # nothing half-written is left
