"""Minari datasets of many short episodes (D4RL's random ones: about 50,000 in 1M steps), which
read_minari reads with h5py's low-level API: the arrays come back exactly as written."""

import numpy as np
import pytest
from gymnasium import spaces

from dataset_helpers import make_dataset, write_minari_folder
from rlforge.datasets import FIELDS, read_minari, save_minari
from rlforge.errors import RLForgeError

OBS3 = spaces.Box(-np.inf, np.inf, (3,), np.float32)


def test_two_thousand_tiny_episodes_read_back_identically(tmp_path):
    rng = np.random.default_rng(11)
    lengths = tuple(int(n) for n in rng.integers(1, 4, size=2000))
    data = make_dataset(rng, lengths=lengths, unfinished=2)  # float32 Box actions, the last episode cut
    folder = save_minari(data, tmp_path / "tiny", OBS3, spaces.Box(-1, 1, (2,), np.float32))
    loaded = read_minari(folder)
    expected_truncated = data.truncated.copy()
    expected_truncated[-1] = True  # the cut episode is written truncated
    for key in FIELDS:
        want = expected_truncated if key == "truncated" else getattr(data, key)
        got = getattr(loaded, key)
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=key)
    assert loaded.episode_lengths() == [*lengths, 2] and loaded.metadata["episodes"] == 2001


def test_episodes_of_mixed_storage_and_dtypes_read_back_identically(tmp_path):
    """Chunked (as minari writes) and contiguous datasets, float64, big-endian and float32
    observations and rewards, int8 and bool flags, alternating from episode to episode."""
    rng = np.random.default_rng(12)
    episodes, flat = [], {k: [] for k in FIELDS}
    for i in range(300):
        n = int(rng.integers(1, 4))
        obs_dtype = ("<f8", ">f4", "<f4")[i % 3]
        observations = rng.normal(size=(n + 1, 3)).astype(obs_dtype)
        actions = rng.uniform(-2, 2, size=(n, 1)).astype(np.float32)
        rewards = rng.normal(size=n).astype(("<f8", "<f4")[i % 2])
        ends = np.arange(n) == n - 1
        terminations, truncations = (ends.astype(np.int8), np.zeros(n, bool)) if i % 2 else (np.zeros(n, bool), ends)
        chunks = i % 2 == 0

        def dataset(key, array, chunks=chunks):
            return lambda g: g.create_dataset(key, data=array, chunks=True if chunks else None,
                                              maxshape=(None, *array.shape[1:]) if chunks else None)

        episodes.append({"observations": dataset("observations", observations), "actions": dataset("actions", actions),
                         "rewards": dataset("rewards", rewards), "terminations": dataset("terminations", terminations),
                         "truncations": dataset("truncations", truncations)})
        flat["obs"].append(observations[:-1].astype(np.float32))
        flat["next_obs"].append(observations[1:].astype(np.float32))
        flat["actions"].append(actions)
        flat["rewards"].append(rewards.astype(np.float32))
        flat["terminated"].append(terminations != 0)
        flat["truncated"].append(truncations != 0)
    steps = sum(len(r) for r in flat["rewards"])
    loaded = read_minari(write_minari_folder(tmp_path / "mixed-v0", episodes, total_steps=steps))
    for key in FIELDS:
        want = np.concatenate(flat[key])
        got = getattr(loaded, key)
        assert got.dtype == want.dtype, key
        np.testing.assert_array_equal(got, want, err_msg=key)


def test_a_named_datatype_in_place_of_an_array_is_refused(tmp_path):
    def named_type(group):
        group["rewards"] = np.dtype("f4")  # a committed datatype, not a dataset

    episode = {"observations": np.zeros((3, 3), np.float32), "actions": np.zeros((2, 1), np.float32),
               "rewards": named_type, "terminations": np.zeros(2, bool), "truncations": np.array([0, 1], bool)}
    with pytest.raises(RLForgeError, match="episode_0/rewards is not an HDF5 dataset"):
        read_minari(write_minari_folder(tmp_path / "named-v0", [episode], total_steps=0))
