"""Offline datasets in rlforge's own format (no pickle) and in the CS285 expert-data pickle.

rlforge's format is one compressed .npz, written and read with allow_pickle=False, holding
the Dataset's flat arrays (see rlforge.datasets.dataset) plus `metadata`: a 0-d string array
holding JSON (env, policy, episodes, their returns, command).

The CS285 format is a pickle of a list with one dict per trajectory: `observation`,
`action`, `reward`, `next_observation`, `terminal` arrays (plus image arrays, ignored). It is
read with the restricted unpickler; `terminal` becomes `terminated` at the steps it marks
(CS285 sets it at the end of every rollout, time limit or not).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from rlforge.datasets.dataset import FIELDS, Dataset, validate
from rlforge.errors import RLForgeError

DATASET_FORMAT = "rlforge-dataset"

__all__ = ["DATASET_FORMAT", "FIELDS", "Dataset", "load_cs285_data", "load_npz", "save_dataset"]


def save_dataset(dataset: Dataset, path) -> Path:
    """Write `dataset` as an rlforge .npz (the suffix is added when missing); returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(getattr(dataset, k)) for k in FIELDS}
    metadata = {"format": DATASET_FORMAT, "version": 1, **dataset.metadata}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **arrays, metadata=np.array(json.dumps(metadata)))
    tmp.replace(path)
    return path


def load_npz(path) -> Dataset:
    """An rlforge .npz dataset, every array's header checked before its data is read
    (rlforge.safe_files.load_npz: no object arrays, nothing larger than memory)."""
    from rlforge.safe_files import PickledArrayError, load_npz as load_arrays

    path = Path(path)
    try:
        data = load_arrays(path, "dataset")
    except PickledArrayError:
        raise RLForgeError(f"dataset {str(path)!r} holds an object (pickled) array; refusing to load it") from None
    missing = [k for k in (*FIELDS, "metadata") if k not in data]
    if missing:
        raise RLForgeError(f"{path} is not an rlforge dataset (missing {', '.join(missing)})")
    arrays = {k: data[k] for k in FIELDS}
    try:
        metadata = json.loads(str(data["metadata"])[:1 << 20])
    except (ValueError, RecursionError):
        raise RLForgeError(f"cannot read dataset {str(path)!r}: its metadata is not JSON") from None
    if not isinstance(metadata, dict):
        raise RLForgeError(f"cannot read dataset {str(path)!r}: its metadata is not a JSON object")
    dataset = Dataset(**arrays, metadata=metadata)
    validate(dataset, str(path))
    dataset.terminated, dataset.truncated = dataset.terminated.astype(bool), dataset.truncated.astype(bool)
    return dataset


def load_cs285_data(path) -> Dataset:
    from rlforge.safe_pickle import safe_load

    paths = safe_load(path)
    if isinstance(paths, dict):
        paths = [paths]
    if not isinstance(paths, list) or not paths:
        raise RLForgeError(f"{path} is not CS285 expert data (a non-empty list of trajectory dicts)")
    parts = {k: [] for k in FIELDS}
    try:
        for traj in paths:
            obs = np.asarray(traj["observation"], dtype=np.float32)
            n = len(obs)
            terminal = np.asarray(traj["terminal"]).reshape(n).astype(bool)
            terminal[-1] = True  # a trajectory ends where its arrays end
            parts["obs"].append(obs)
            parts["actions"].append(np.asarray(traj["action"], dtype=np.float32).reshape(n, -1))
            parts["rewards"].append(np.asarray(traj["reward"], dtype=np.float32).reshape(n))
            parts["next_obs"].append(np.asarray(traj["next_observation"], dtype=np.float32).reshape(obs.shape))
            parts["terminated"].append(terminal)
            parts["truncated"].append(np.zeros(n, dtype=bool))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RLForgeError(f"{path} is not CS285 expert data ({type(exc).__name__}: {exc})") from None
    dataset = Dataset(**{k: np.concatenate(v) for k, v in parts.items()},
                      metadata={"source": str(path), "source_format": "cs285", "episodes": len(paths)})
    validate(dataset, str(path))
    dataset.metadata["episode_returns"] = dataset.episode_returns()
    return dataset
