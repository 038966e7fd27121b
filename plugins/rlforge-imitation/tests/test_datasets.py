"""rlforge's dataset format (no pickle) and the CS285 expert-data pickle."""

import pickle
import zipfile

import numpy as np
import pytest

from rlforge.errors import RLForgeError
from rlforge_imitation.datasets import FIELDS, Dataset, load_dataset, save_dataset


def make_dataset(rng, episodes=3, length=5, obs_dim=3, act_dim=1) -> Dataset:
    n = episodes * length
    ends = np.zeros(n, dtype=bool)
    ends[length - 1::length] = True
    return Dataset(rng.normal(size=(n, obs_dim)).astype(np.float32), rng.normal(size=(n, act_dim)).astype(np.float32),
                   rng.normal(size=n).astype(np.float32), rng.normal(size=(n, obs_dim)).astype(np.float32),
                   np.zeros(n, dtype=bool), ends, metadata={"env": "Pendulum-v1", "episodes": episodes})


def test_round_trip_without_pickle(tmp_path):
    data = make_dataset(np.random.default_rng(0))
    path = save_dataset(data, tmp_path / "data.npz")
    with zipfile.ZipFile(path) as archive:  # every member is a plain .npy array: nothing to unpickle
        assert sorted(archive.namelist()) == sorted(f"{k}.npy" for k in (*FIELDS, "metadata"))
    loaded = load_dataset(str(path))
    for key in FIELDS:
        np.testing.assert_array_equal(getattr(loaded, key), getattr(data, key))
        assert getattr(loaded, key).dtype == getattr(data, key).dtype
    assert loaded.metadata["env"] == "Pendulum-v1" and loaded.metadata["format"] == "rlforge-dataset"
    assert loaded.episode_returns() == pytest.approx(data.episode_returns())
    assert len(loaded.first_episodes(2)) == 10


def test_cs285_expert_data(tmp_path):
    rng = np.random.default_rng(1)
    paths = [{"observation": rng.normal(size=(4, 3)), "image_obs": np.array([]), "action": rng.normal(size=(4, 1)),
              "reward": rng.normal(size=4), "next_observation": rng.normal(size=(4, 3)),
              "terminal": np.array([0, 0, 0, 1])} for _ in range(2)]
    path = tmp_path / "expert_data_Pendulum.pkl"
    path.write_bytes(pickle.dumps(paths))
    data = load_dataset(str(path))
    assert len(data) == 8 and data.terminated.sum() == 2
    np.testing.assert_allclose(data.obs[4:], paths[1]["observation"].astype(np.float32))
    np.testing.assert_allclose(data.actions[:4], paths[0]["action"].astype(np.float32))
    assert data.episode_returns() == pytest.approx([p["reward"].sum() for p in paths], rel=1e-5)


def test_shipped_datasets_load_and_are_small():
    from rlforge_imitation.experts import shipped_dir

    files = sorted(shipped_dir().glob("*.npz"))
    assert {"Ant-v4", "HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"} <= {f.stem for f in files}
    for file in files:
        assert file.stat().st_size < 5_000_000
        data = load_dataset(file.stem)
        assert data.metadata["env"] == file.stem and len(data.episode_ends()) == data.metadata["episodes"]


def test_bad_datasets_are_one_line_errors(tmp_path):
    with pytest.raises(RLForgeError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(RLForgeError, match="cannot read dataset|is not an .npz archive"):
        load_dataset(str(tmp_path / "junk.npz"))
    with pytest.raises(RLForgeError, match="no dataset given"):
        load_dataset("")


def test_minari_datasets_load_through_the_plugin(tmp_path, monkeypatch):
    from gymnasium import spaces

    from rlforge.datasets import save_minari

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    rng = np.random.default_rng(3)
    seq = rng.normal(size=(6, 3)).astype(np.float32)
    data = Dataset(seq[:-1], rng.uniform(-2, 2, size=(5, 1)).astype(np.float32), np.ones(5, np.float32), seq[1:],
                   np.zeros(5, bool), np.arange(5) == 4)
    save_minari(data, tmp_path / "pendulum" / "tiny-v0", spaces.Box(-np.inf, np.inf, (3,), np.float32),
                spaces.Box(-2, 2, (1,), np.float32), env_id="Pendulum-v1")
    for name in ("pendulum/tiny-v0", str(tmp_path / "pendulum" / "tiny-v0")):
        loaded = load_dataset(name)
        np.testing.assert_array_equal(loaded.actions, data.actions)
        assert loaded.metadata["env"] == "Pendulum-v1"
    save_minari(data, tmp_path / "Hopper-v4", spaces.Box(-np.inf, np.inf, (3,), np.float32),
                spaces.Box(-2, 2, (1,), np.float32))
    assert load_dataset("Hopper-v4").obs.shape[1:] == (11,)  # the shipped dataset's name wins over the id
