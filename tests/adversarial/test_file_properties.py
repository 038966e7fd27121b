"""Property: every file rlforge reads, damaged in any way (bytes flipped, cut short, bytes
inserted, replaced by noise) or built from arbitrary values, is either read or refused with
one RLForgeError line; never another exception, never a hang.

Each loader starts from a valid file rlforge (or a CS285 pickle writer) made, and Hypothesis
mutates it. The examples are derandomised, so CI runs the same ones every time."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataset_helpers import make_dataset
from rlforge import checkpoint, safe_files
from rlforge.config import read_yaml
from rlforge.datasets.formats import load_cs285_data, load_npz, save_dataset
from rlforge.datasets.minari_files import read_minari, save_minari
from rlforge.errors import RLForgeError
from rlforge.sweeps import spec as sweep_spec

EXAMPLES = 60
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """`original` with one kind of damage."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "noise", "splice"]))
    data = bytearray(original)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, len(data) - 1))
            data[position] = draw(st.integers(0, 255))
    elif kind == "truncate":
        del data[draw(st.integers(0, len(data) - 1)):]
    elif kind == "insert":
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(min_size=1, max_size=64))
    elif kind == "splice":  # a block moved elsewhere: plausible structure, wrong place
        start = draw(st.integers(0, len(data) - 1))
        block = data[start:start + draw(st.integers(1, 256))]
        position = draw(st.integers(0, len(data)))
        data[position:position + len(block)] = block
    else:
        data = bytearray(draw(st.binary(max_size=2048)))
    return bytes(data)


def read_or_refuse_in_one_line(read, path):
    try:
        return read(path)
    except RLForgeError as exc:
        assert "\n" not in str(exc).strip(), repr(str(exc))
        return None


def fuzz(tmp_path, name: str, original: bytes, read, copy_from: Path | None = None):
    """Run `read` on damaged versions of the file `name` (inside a copy of folder `copy_from`)."""
    @SETTINGS
    @given(st.data())
    def check(data):
        folder = tmp_path / "case"
        shutil.rmtree(folder, ignore_errors=True)
        if copy_from is not None:
            shutil.copytree(copy_from, folder)
        else:
            folder.mkdir()
        (folder / name).write_bytes(data.draw(damaged(original)))
        read_or_refuse_in_one_line(read, folder if copy_from is not None else folder / name)

    check()


# ----------------------------------------------------------------------------- originals


@pytest.fixture(scope="module")
def checkpoint_folder(tmp_path_factory):
    state = {"agent": {"weights": torch.arange(6.0).reshape(2, 3), "step": 5},
             "buffer": {"obs": np.arange(12, dtype=np.float32).reshape(4, 3), "size": 4},
             "rng": [1, 2.5, "text", None]}
    return checkpoint.save(tmp_path_factory.mktemp("ckpt"), "step_5", state, {"step": 5})


@pytest.fixture(scope="module")
def minari_folder(tmp_path_factory):
    dataset = make_dataset(np.random.default_rng(0), lengths=(5, 4), obs_dim=3, act_dim=1)
    folder = tmp_path_factory.mktemp("minari") / "test" / "fuzz-v0"
    save_minari(dataset, folder, gym.spaces.Box(-np.inf, np.inf, (3,), np.float32),
                gym.spaces.Box(-1.0, 1.0, (1,), np.float32), dataset_id="test/fuzz-v0")
    return folder


def cs285_pickle(protocol: int) -> bytes:
    rng = np.random.default_rng(0)
    paths = [{"observation": rng.normal(size=(4, 3)), "action": rng.normal(size=(4, 1)),
              "reward": rng.normal(size=4), "next_observation": rng.normal(size=(4, 3)),
              "terminal": np.array([0, 0, 0, 1])} for _ in range(2)]
    return pickle.dumps(paths, protocol=protocol)


CONFIG_YAML = (Path(__file__).parents[2] / "configs" / "experiments" / "hw5" / "pointmass_hard_cql.yaml").read_bytes()
SWEEP_YAML = b"""name: fuzz
algo: sac
envs: [Pendulum-v1]
set: {total_steps: 1000}
grid:
  critic_lr: [0.001, 0.0003]
samples:
  count: 2
  seed: 3
  space:
    actor_lr: {log_uniform: [0.0001, 0.01]}
variants:
  wide: {critic_hidden: [512, 512]}
seeds: "1-3"
"""


# ----------------------------------------------------------------------------- the loaders


def test_config_yaml(tmp_path):
    fuzz(tmp_path, "config.yaml", CONFIG_YAML, read_yaml)


def test_sweep_file(tmp_path):
    fuzz(tmp_path, "sweep.yaml", SWEEP_YAML, sweep_spec.load)


def test_checkpoint_state_json(tmp_path, checkpoint_folder):
    fuzz(tmp_path, checkpoint.STATE_FILE, (checkpoint_folder / checkpoint.STATE_FILE).read_bytes(), checkpoint.load,
         copy_from=checkpoint_folder)


def test_checkpoint_arrays_npz(tmp_path, checkpoint_folder):
    fuzz(tmp_path, checkpoint.ARRAYS_FILE, (checkpoint_folder / checkpoint.ARRAYS_FILE).read_bytes(), checkpoint.load,
         copy_from=checkpoint_folder)


def test_checkpoint_tensors(tmp_path, checkpoint_folder):
    fuzz(tmp_path, checkpoint.TENSORS_FILE, (checkpoint_folder / checkpoint.TENSORS_FILE).read_bytes(),
         checkpoint.load, copy_from=checkpoint_folder)


def test_npz_dataset(tmp_path):
    path = save_dataset(make_dataset(np.random.default_rng(1)), tmp_path / "original.npz")
    fuzz(tmp_path, "data.npz", Path(path).read_bytes(), load_npz)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cs285_expert_data_pickle(tmp_path, protocol):
    fuzz(tmp_path, "data.pkl", cs285_pickle(protocol), load_cs285_data)


def test_minari_metadata(tmp_path, minari_folder):
    fuzz(tmp_path, "data/metadata.json", (minari_folder / "data" / "metadata.json").read_bytes(), read_minari,
         copy_from=minari_folder)


def test_minari_hdf5(tmp_path, minari_folder):
    data = minari_folder / "data" / "main_data.hdf5"
    fuzz(tmp_path, "data/main_data.hdf5", data.read_bytes(), read_minari, copy_from=minari_folder)


def test_json(tmp_path):
    fuzz(tmp_path, "doc.json", json.dumps({"a": [1, 2, {"b": None}], "c": "text"}).encode(),
         lambda p: safe_files.load_json(p, "JSON file"))


# ----------------------------------------------------------------------------- arbitrary values

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20)
SWEEP_KEYS = st.sampled_from(["name", "algo", "env", "envs", "config", "set", "grid", "samples", "variants", "seeds"])


@SETTINGS
@given(st.dictionaries(SWEEP_KEYS, JSON_VALUES, max_size=6))
def test_sweep_file_of_arbitrary_values(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("sweep") / "s.yaml"
    path.write_text(yaml.safe_dump(values))
    read_or_refuse_in_one_line(sweep_spec.load, path)


def test_a_fifo_in_place_of_a_checkpoint_file_is_refused_not_waited_on(tmp_path, checkpoint_folder):
    import os

    for name in (checkpoint.STATE_FILE, checkpoint.TENSORS_FILE, checkpoint.ARRAYS_FILE):
        folder = tmp_path / name
        shutil.copytree(checkpoint_folder, folder)
        (folder / name).unlink()
        os.mkfifo(folder / name)
        with pytest.raises(RLForgeError):
            checkpoint.load(folder)
