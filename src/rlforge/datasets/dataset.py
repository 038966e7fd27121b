"""The in-memory dataset every format loads into, and the checks a dataset must pass.

A Dataset is flat arrays over all recorded steps, episode after episode:
  obs [N, *obs_shape], actions [N, *action_shape] (float for Box spaces, int64 for Discrete),
  rewards [N], next_obs [N, *obs_shape] (the true next observation, also at an episode's end),
  terminated [N] bool, truncated [N] bool: an episode ends where either is true; the data may
  end with an unfinished episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces

from rlforge.errors import RLForgeError

FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")
NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


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

    def rows(self, index) -> "Dataset":
        """The transitions selected by `index` (a slice or index array), same metadata."""
        return Dataset(*(getattr(self, k)[index] for k in FIELDS), metadata=dict(self.metadata))

    def episode_ends(self) -> np.ndarray:
        """Indices of the last step of each finished episode."""
        return np.flatnonzero(np.asarray(self.terminated, bool) | np.asarray(self.truncated, bool))

    def episode_bounds(self) -> list[tuple[int, int]]:
        """(start, stop) of every episode, a trailing unfinished one included."""
        stops = [int(e) + 1 for e in self.episode_ends()]
        if len(self) and (not stops or stops[-1] < len(self)):
            stops.append(len(self))
        return list(zip([0, *stops[:-1]], stops))

    def episodes(self) -> list["Dataset"]:
        """One Dataset per episode (views of these arrays), a trailing unfinished one included."""
        return [self.rows(slice(start, stop)) for start, stop in self.episode_bounds()]

    def episode_returns(self) -> list[float]:
        """Undiscounted returns of the finished episodes."""
        ends = self.episode_ends()
        starts = np.concatenate([[0], ends[:-1] + 1]).astype(int)
        return [float(np.sum(self.rewards[s:e + 1], dtype=np.float64)) for s, e in zip(starts, ends)]

    def episode_lengths(self) -> list[int]:
        """Lengths of the finished episodes."""
        ends = self.episode_ends()
        return np.diff(np.concatenate([[-1], ends])).astype(int).tolist()

    def first_episodes(self, n: int) -> "Dataset":
        """The first `n` episodes (all of them when n is 0 or more than there are)."""
        ends = self.episode_ends()
        if n <= 0 or n >= len(ends):
            return self
        dataset = self.rows(slice(0, ends[n - 1] + 1))
        dataset.metadata["episodes"] = n
        return dataset

    def take_first(self, n_transitions: int) -> "Dataset":
        """The first `n_transitions` transitions (all of them when n is 0 or more than there
        are). An episode cut short stays unfinished: its last step keeps its flags."""
        if n_transitions <= 0 or n_transitions >= len(self):
            return self
        dataset = self.rows(slice(0, int(n_transitions)))
        dataset.metadata["transitions"] = int(n_transitions)
        return dataset


# ----------------------------------------------------------------------------- checks


def validate(dataset: Dataset, name: str) -> None:
    """What every dataset must be, whatever the env: numeric arrays (no object arrays) of one
    length, one-dimensional rewards and flags, next_obs shaped like obs, no NaN or inf.
    A one-line RLForgeError naming the dataset and the problem otherwise."""
    where = f"dataset {name!r}"
    for key in FIELDS:
        array = getattr(dataset, key)
        if not isinstance(array, np.ndarray):
            raise RLForgeError(f"{where}: {key} is a {type(array).__name__}, not a NumPy array")
        if array.dtype.hasobject or array.dtype.kind not in NUMERIC_KINDS:
            raise RLForgeError(f"{where}: {key} has dtype {array.dtype}; only numbers are read (no object arrays)")
        if array.ndim == 0:
            raise RLForgeError(f"{where}: {key} is a scalar, not one row per transition")
    lengths = {key: len(getattr(dataset, key)) for key in FIELDS}
    if len(set(lengths.values())) != 1:
        raise RLForgeError(f"{where} has arrays of different lengths: " + ", ".join(f"{k} {n}" for k, n in lengths.items()))
    for key in ("rewards", "terminated", "truncated"):
        if getattr(dataset, key).ndim != 1:
            raise RLForgeError(f"{where}: {key} has shape {getattr(dataset, key).shape}, expected one value per transition")
    if dataset.next_obs.shape != dataset.obs.shape:
        raise RLForgeError(f"{where}: next_obs has shape {dataset.next_obs.shape[1:]} per row, obs {dataset.obs.shape[1:]}")
    for key in ("terminated", "truncated"):
        flags = getattr(dataset, key)
        if flags.dtype != bool and not np.isin(flags, (0, 1)).all():
            raise RLForgeError(f"{where}: {key} holds values other than 0 and 1")
    for key in FIELDS:
        array = getattr(dataset, key)
        if array.dtype.kind == "f" and array.size:
            bad = np.flatnonzero(~np.isfinite(array).reshape(len(array), -1).all(axis=1))
            if len(bad):
                row = array[bad[0]]
                kind = "NaN" if np.isnan(row).any() else "inf"
                raise RLForgeError(f"{where}: {key} holds {kind} (first at transition {bad[0]}, "
                                   f"{len(bad)} transitions in all)")


def check_dataset(dataset: Dataset, observation_space, action_space, name: str) -> None:
    """`dataset` fits an env with these spaces: non-empty, arrays of one length, observations
    of the observation space's shape, actions of the action space's shape (Discrete: integers
    in the space's range), no NaN or inf, no object arrays. One-line RLForgeError otherwise."""
    validate(dataset, name)
    where = f"dataset {name!r}"
    if len(dataset) == 0:
        raise RLForgeError(f"{where} holds no transitions")
    obs_shape = tuple(observation_space.shape or ())
    if tuple(dataset.obs.shape[1:]) != obs_shape:
        raise RLForgeError(f"{where} holds observations of shape {tuple(dataset.obs.shape[1:])}; "
                           f"the env's observation space is {observation_space}")
    check_actions(dataset.actions, action_space, where)


def check_actions(actions: np.ndarray, action_space, where: str) -> None:
    shape = tuple(actions.shape[1:])
    if isinstance(action_space, spaces.Discrete):
        if shape not in ((), (1,)):
            raise RLForgeError(f"{where} holds actions of shape {shape}; the env's actions are one integer ({action_space})")
        _check_integers(actions, int(action_space.start), int(action_space.start + action_space.n) - 1, action_space, where)
        return
    space_shape = tuple(action_space.shape or ())
    if shape != space_shape and shape != (int(np.prod(space_shape)),):
        raise RLForgeError(f"{where} holds actions of shape {shape}; the env's action space is {action_space}")
    if isinstance(action_space, spaces.MultiDiscrete):
        low = np.asarray(action_space.start).reshape(shape)
        _check_integers(actions, low, low + np.asarray(action_space.nvec).reshape(shape) - 1, action_space, where)
    elif isinstance(action_space, spaces.MultiBinary):
        _check_integers(actions, 0, 1, action_space, where)


def _check_integers(actions: np.ndarray, low, high, space, where: str) -> None:
    if actions.dtype.kind not in "iub":
        raise RLForgeError(f"{where} holds actions of dtype {actions.dtype}; the env's {space} needs integers")
    if len(actions) and (np.any(actions < low) or np.any(actions > high)):
        raise RLForgeError(f"{where} holds actions from {actions.min()} to {actions.max()}, outside the env's {space}")
