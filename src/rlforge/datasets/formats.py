"""Offline datasets: rlforge's own format (no pickle) and the CS285 expert-data pickle.

rlforge's format is one compressed .npz, written and read with allow_pickle=False, holding
flat arrays over all recorded steps, episode after episode:
  obs [N, *obs_shape] float32, actions [N, *action_shape], rewards [N] float32,
  next_obs [N, *obs_shape] float32 (the true next observation, also at an episode's end),
  terminated [N] bool, truncated [N] bool (an episode ends where either is true),
  metadata: a 0-d string array holding JSON (env, policy, episodes, their returns, command).

The CS285 format is a pickle of a list with one dict per trajectory: `observation`,
`action`, `reward`, `next_observation`, `terminal` arrays (plus image arrays, ignored). It is
read with the restricted unpickler; `terminal` becomes `terminated` at the steps it marks
(CS285 sets it at the end of every rollout, time limit or not).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError

DATASET_FORMAT = "rlforge-dataset"
FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")


@dataclass
class Dataset:
    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    metadata: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.obs)

    def episode_ends(self) -> np.ndarray:
        """Indices of the last step of each finished episode."""
        return np.flatnonzero(self.terminated | self.truncated)

    def episode_returns(self) -> list[float]:
        ends = self.episode_ends()
        starts = np.concatenate([[0], ends[:-1] + 1])
        return [float(self.rewards[s:e + 1].sum()) for s, e in zip(starts, ends)]

    def first_episodes(self, n: int) -> "Dataset":
        """The first `n` episodes (all of them when n is 0 or more than there are)."""
        ends = self.episode_ends()
        if n <= 0 or n >= len(ends):
            return self
        stop = ends[n - 1] + 1
        return Dataset(*(getattr(self, k)[:stop] for k in FIELDS), metadata={**self.metadata, "episodes": n})


def save_dataset(dataset: Dataset, path) -> Path:
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(getattr(dataset, k)) for k in FIELDS}
    metadata = {"format": DATASET_FORMAT, "version": 1, **dataset.metadata}
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays, metadata=np.array(json.dumps(metadata)))
    tmp.replace(path)
    return path


def load_npz(path) -> Dataset:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in (*FIELDS, "metadata") if k not in data.files]
            if missing:
                raise RLForgeError(f"{path} is not an rlforge dataset (missing {', '.join(missing)})")
            arrays = {k: data[k] for k in FIELDS}
            metadata = json.loads(str(data["metadata"]))
    except FileNotFoundError:
        raise RLForgeError(f"dataset {str(path)!r} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise RLForgeError(f"cannot read dataset {str(path)!r}: {str(exc).splitlines()[0]}") from None
    dataset = Dataset(**arrays, metadata=metadata)
    _check_lengths(dataset, path)
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
    except (KeyError, TypeError, ValueError) as exc:
        raise RLForgeError(f"{path} is not CS285 expert data ({type(exc).__name__}: {exc})") from None
    dataset = Dataset(**{k: np.concatenate(v) for k, v in parts.items()},
                      metadata={"source": str(path), "source_format": "cs285", "episodes": len(paths)})
    dataset.metadata["episode_returns"] = dataset.episode_returns()
    return dataset


def load_dataset(name: str) -> Dataset:
    """A dataset by path: an rlforge .npz or a CS285 .pkl."""
    if not name:
        raise RLForgeError("no dataset given: set dataset=PATH")
    path = Path(name).expanduser()
    if path.suffix in (".pkl", ".pickle"):
        if not path.is_file():
            raise RLForgeError(f"dataset {str(path)!r} does not exist")
        return load_cs285_data(path)
    return load_npz(path)


def _check_lengths(dataset: Dataset, path) -> None:
    lengths = {k: len(getattr(dataset, k)) for k in FIELDS}
    if len(set(lengths.values())) != 1:
        raise RLForgeError(f"dataset {path} has arrays of different lengths: {lengths}")
