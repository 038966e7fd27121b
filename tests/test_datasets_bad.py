"""Datasets rlforge must refuse, each with a one-line RLForgeError naming the problem."""

import json

import numpy as np
import pytest
from gymnasium import spaces

from dataset_helpers import BOX3, make_dataset, write_minari_folder
from rlforge.datasets import FIELDS, Dataset, check_dataset, load_dataset, save_dataset
from rlforge.datasets import minari_files
from rlforge.errors import RLForgeError


def refused(name, match):
    with pytest.raises(RLForgeError, match=match) as info:
        load_dataset(str(name))
    assert "\n" not in str(info.value)
    return str(info.value)


def test_missing_paths_and_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    refused(tmp_path / "nothing.npz", "does not exist")
    message = refused("nobody/nothing-v0", "does not exist")
    assert str(tmp_path / "minari") in message  # says where Minari ids are looked up
    (tmp_path / "empty_folder").mkdir()
    refused(tmp_path / "empty_folder", "neither a Minari dataset")
    with pytest.raises(RLForgeError, match="no dataset given"):
        load_dataset("")


def test_empty_datasets(tmp_path):
    empty = Dataset(*(np.zeros((0, 3), np.float32) for _ in range(2)), np.zeros(0, np.float32),
                    np.zeros((0, 3), np.float32), np.zeros(0, bool), np.zeros(0, bool))
    empty.obs, empty.actions = np.zeros((0, 3), np.float32), np.zeros((0, 1), np.float32)
    refused(save_dataset(empty, tmp_path / "empty.npz"), "holds no transitions")
    refused(write_minari_folder(tmp_path / "none-v0", episodes=[]), "holds no transitions")
    with pytest.raises(RLForgeError, match="holds no transitions"):
        check_dataset(empty, spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (1,)), "empty")


@pytest.mark.parametrize("bad, match", [(np.nan, "obs holds NaN"), (np.inf, "obs holds inf")])
def test_nan_and_inf_in_any_format(tmp_path, bad, match):
    data = make_dataset(np.random.default_rng(0), n_actions=2)
    data.obs[5, 1] = bad
    message = refused(save_dataset(data, tmp_path / "d.npz"), match)
    assert "first at transition 5" in message
    folder = write_minari_folder(tmp_path / "nan-v0")
    import h5py

    with h5py.File(folder / "data" / "main_data.hdf5", "a") as file:
        file["episode_1/rewards"][2] = bad
    refused(folder, f"rewards holds {'NaN' if np.isnan(bad) else 'inf'}")


def test_check_dataset_against_the_env(tmp_path):
    data = make_dataset(np.random.default_rng(1), n_actions=3)
    obs3, obs4 = spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (4,))
    check_dataset(data, obs3, spaces.Discrete(3), "ok")  # fits
    cases = [
        (obs4, spaces.Discrete(3), r"observations of shape \(3,\); the env's observation space is Box"),
        (obs3, spaces.Discrete(2), r"actions from 0 to 2, outside the env's Discrete\(2\)"),
        (obs3, spaces.Box(-1, 1, (2,)), r"actions of shape \(\); the env's action space is Box"),
    ]
    for observation_space, action_space, match in cases:
        with pytest.raises(RLForgeError, match=match):
            check_dataset(data, observation_space, action_space, "d")
    float_actions = make_dataset(np.random.default_rng(1), act_dim=1)
    with pytest.raises(RLForgeError, match="dtype float32; the env's Discrete"):
        check_dataset(float_actions, obs3, spaces.Discrete(3), "d")
    uneven = make_dataset(np.random.default_rng(1), n_actions=3)
    uneven.rewards = uneven.rewards[:-1]
    with pytest.raises(RLForgeError, match="arrays of different lengths: .*rewards 12"):
        check_dataset(uneven, obs3, spaces.Discrete(3), "d")


def test_an_object_array_in_an_npz_is_refused(tmp_path):
    data = make_dataset(np.random.default_rng(2), n_actions=2)
    arrays = {k: getattr(data, k) for k in FIELDS}
    arrays["actions"] = np.array([{"x": 1}] * len(data), dtype=object)
    np.savez(tmp_path / "obj.npz", **arrays, metadata=np.array("{}"))
    refused(tmp_path / "obj.npz", "holds an object .pickled. array; refusing")
    (tmp_path / "junk.npz").write_bytes(b"\x80\x04not an archive")
    refused(tmp_path / "junk.npz", "not an .npz archive")


def test_corrupt_and_truncated_hdf5_files(tmp_path):
    folder = write_minari_folder(tmp_path / "cut-v0")
    main = folder / "data" / "main_data.hdf5"
    whole = main.read_bytes()
    main.write_bytes(whole[: len(whole) // 2])
    refused(folder, r"cannot read main_data.hdf5 \(")
    main.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200)
    refused(folder, "cannot read main_data.hdf5")
    (folder / "data" / "metadata.json").write_text("{not json")
    refused(folder, "cannot read .*metadata.json")


def test_files_claiming_huge_datasets_are_refused_before_reading(tmp_path):
    import h5py

    def huge(group):  # chunked and never written: the file stays tiny
        group.create_dataset("observations", shape=(2**40 + 1, 3), dtype="f4", chunks=(1024, 3))

    n = 2**40
    folder = write_minari_folder(tmp_path / "huge-v0", [
        {"observations": huge, "actions": lambda g: g.create_dataset("actions", shape=(n, 1), dtype="f4", chunks=(1024, 1)),
         "rewards": lambda g: g.create_dataset("rewards", shape=(n,), dtype="f8", chunks=(1024,)),
         "terminations": lambda g: g.create_dataset("terminations", shape=(n,), dtype="bool", chunks=(1024,)),
         "truncations": lambda g: g.create_dataset("truncations", shape=(n,), dtype="bool", chunks=(1024,))}])
    assert (folder / "data" / "main_data.hdf5").stat().st_size < 100_000
    refused(folder, "more than 200,000,000 steps")  # the metadata says 0 steps; the shapes say otherwise
    body = json.loads((folder / "data" / "metadata.json").read_text())
    (folder / "data" / "metadata.json").write_text(json.dumps({**body, "total_steps": n}))
    refused(folder, "claims 1,099,511,627,776 steps")
    (folder / "data" / "metadata.json").write_text(json.dumps({**body, "total_episodes": 10**9}))
    refused(folder, "claims 1,000,000,000 episodes")
    with h5py.File(folder / "data" / "main_data.hdf5", "r") as file:
        assert file["episode_0/observations"].shape[0] == n + 1


def test_size_and_memory_limits(tmp_path, monkeypatch):
    folder = write_minari_folder(tmp_path / "small-v0")
    assert len(load_dataset(str(folder))) == 9
    monkeypatch.setattr(minari_files, "_available_memory", lambda: 100)
    refused(folder, r"needs about 558 bytes of memory \(9 steps\); only 100 bytes is available")
    monkeypatch.undo()
    monkeypatch.setattr(minari_files.Limits, "max_file_bytes", 100)
    refused(folder, "more than the 100 bytes rlforge reads")


def test_arrays_rlforge_does_not_read(tmp_path):
    import h5py

    rng = np.random.default_rng(3)

    def episode(**replace):
        base = {"observations": rng.normal(size=(3, 3)).astype(np.float32), "actions": np.zeros((2, 1), np.float32),
                "rewards": np.ones(2), "terminations": np.zeros(2, bool), "truncations": np.array([0, 1], bool)}
        return {**base, **replace}

    strings = lambda g: g.create_dataset("actions", data=np.array([b"a", b"b"]), dtype=h5py.string_dtype())
    vlen = lambda g: g.create_dataset("actions", shape=(2,), dtype=h5py.vlen_dtype(np.float32))
    nested = lambda g: g.create_group("observations").create_dataset("x", data=np.zeros((3, 3)))
    soft = lambda g: g.__setitem__("rewards", h5py.SoftLink("/elsewhere"))
    external = lambda g: g.__setitem__("rewards", h5py.ExternalLink("/etc/passwd", "/x"))
    cases = [(episode(actions=strings), "dtype .*only numeric arrays"),
             (episode(actions=vlen), "dtype .*only numeric arrays"),
             (episode(observations=nested), "is a group .a Dict or Tuple space."),
             (episode(rewards=soft), "rewards is a SoftLink; rlforge follows no links"),
             (episode(rewards=external), "rewards is a ExternalLink; rlforge follows no links"),
             (episode(observations=np.zeros((2, 3), np.float32)), "observations has 2 rows; an episode of 2 steps needs 3"),
             (episode(rewards=np.ones((2, 2))), r"rewards has shape \(2, 2\)")]
    for i, (bad, match) in enumerate(cases):
        steps = 2 if not callable(bad["rewards"]) else 0
        refused(write_minari_folder(tmp_path / f"bad{i}-v0", [bad], total_steps=steps), match)


def test_metadata_rlforge_does_not_read(tmp_path):
    refused(write_minari_folder(tmp_path / "arrow-v0", data_format="arrow"),
            "stored in the 'arrow' format; rlforge reads only 'hdf5'")
    dict_space = json.dumps({"type": "Dict", "subspaces": {"a": json.loads(BOX3)}})
    refused(write_minari_folder(tmp_path / "dict-v0", observation_space=dict_space),
            "observation space is a Dict space; rlforge reads datasets with Box, Discrete")
    refused(write_minari_folder(tmp_path / "count-v0", total_episodes=3), "metadata says 3 episodes, main_data.hdf5 holds 2")
    refused(write_minari_folder(tmp_path / "steps-v0", total_steps="9"), "metadata total_steps is '9', not a count")
    image = json.dumps({"type": "Box", "dtype": "uint8", "shape": [64, 64, 3], "low": np.zeros((64, 64, 3)).tolist(),
                        "high": np.full((64, 64, 3), 255).tolist()})
    refused(write_minari_folder(tmp_path / "jpeg-v0", observation_space=image, jpeg_encoding=True),
            "JPEG-encoded images")
    refused(write_minari_folder(tmp_path / "wrong-v0", observation_space=BOX3.replace("[3]", "[5]")
                                .replace("[-1.0, -1.0, -1.0]", "[-1.0, -1.0, -1.0, -1.0, -1.0]")
                                .replace("[1.0, 1.0, 1.0]", "[1.0, 1.0, 1.0, 1.0, 1.0]")),
            r"observations of shape \(3,\); the env's observation space is Box\(-1.0, 1.0, \(5,\)")
