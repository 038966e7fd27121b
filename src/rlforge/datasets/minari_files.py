"""Minari datasets (the HDF5 layout of minari 0.5), read and written by rlforge itself.

A Minari dataset is a folder holding `data/`:
  data/metadata.json    dataset_id, total_episodes, total_steps, data_format ("hdf5"),
                        observation_space and action_space (JSON strings), env_spec,
                        minari_version, and optional descriptive keys (algorithm_name, ...)
  data/main_data.hdf5   one group `episode_<i>` per episode holding `observations` (the
                        episode's N observations plus its final one: N + 1 rows), `actions`,
                        `rewards`, `terminations`, `truncations` (N rows) and `infos`
Local datasets live under MINARI_DATASETS_PATH (default ~/.minari/datasets), one folder per
id: `<root>/<namespace>/<name>-v<N>/data/`. Nothing is ever downloaded.

Reading is bounded and runs no code: the file's size, the number of episodes and transitions
and the memory the arrays need are checked from the metadata and HDF5 shapes before any data
is read; only numeric HDF5 datasets stored in the file itself are read (no object, string or
variable-length arrays, no external or virtual storage, no links); spaces are parsed from
their JSON, never made from an env spec. Arrow and Parquet Minari datasets are refused.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
from gymnasium import spaces

import rlforge
from rlforge.datasets.dataset import FIELDS, Dataset, check_dataset
from rlforge.datasets.spaces import is_image_space, space_from_json, space_to_json
from rlforge.errors import RLForgeError

DATA_FOLDER, METADATA_FILE, MAIN_FILE = "data", "metadata.json", "main_data.hdf5"
MINARI_VERSION = "0.5.4"  # the layout written (and the version minari checks it can read)
# Minari's dataset id: (namespace/)name-v<version>; minari needs the version to parse an id.
MINARI_ID = re.compile(r"(?:[-_\w][-_\w/]*[-_\w]+/)?[-_\w]+?-v\d+")
# Minari's own metadata keys that rlforge fills from a dataset's metadata when present.
MINARI_DESCRIPTIVE_KEYS = ("algorithm_name", "code_permalink", "author", "author_email", "description",
                           "requirements", "ref_min_score", "ref_max_score", "num_episodes_average_score")
# The keys of the reference returns (rlforge.datasets.reference): the D4RL-normalised score's 0 and 100.
REFERENCE_KEYS = ("ref_min_score", "ref_max_score", "num_episodes_average_score")
# rlforge metadata that describes the arrays (the Minari metadata says it already).
NOT_COPIED_KEYS = frozenset({"observation_space", "action_space", "dataset_id", "format", "version", "source",
                             "source_format", "episodes", "transitions", "minari"})
STEP_FIELDS = ("actions", "rewards", "terminations", "truncations")


class Limits:
    """What a Minari dataset may claim before rlforge refuses to read it."""

    max_file_bytes = 32 * 2**30
    max_metadata_bytes = 16 * 2**20
    max_episodes = 1_000_000
    max_transitions = 200_000_000
    max_elements = 2**33  # numbers in all arrays together
    memory_share = 0.8  # of the memory available now


def minari_root() -> Path:
    """Where local Minari datasets live: $MINARI_DATASETS_PATH, else ~/.minari/datasets."""
    return Path(os.environ.get("MINARI_DATASETS_PATH") or Path.home() / ".minari" / "datasets").expanduser()


def data_folder(folder) -> Path | None:
    """The `data/` folder of a Minari dataset folder (or `folder` itself when it is one)."""
    folder = Path(folder)
    for candidate in (folder / DATA_FOLDER, folder):
        if (candidate / METADATA_FILE).is_file():
            return candidate
    return None


def check_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not MINARI_ID.fullmatch(dataset_id):
        raise RLForgeError(f"{dataset_id!r} is not a Minari dataset id: (namespace/)name-v<version>, with letters, "
                           "digits, '-' and '_' (for example cs285/pointmass-hard-rnd-v0)")
    return dataset_id


# ----------------------------------------------------------------------------- reading


def read_metadata(folder) -> dict:
    """metadata.json of the Minari dataset `folder` (the folder holding data/, or data/)."""
    data = data_folder(folder)
    if data is None:
        raise RLForgeError(f"{str(folder)!r} is not a Minari dataset (no {DATA_FOLDER}/{METADATA_FILE})")
    path = data / METADATA_FILE
    if path.stat().st_size > Limits.max_metadata_bytes:
        raise RLForgeError(f"{path} is larger than {Limits.max_metadata_bytes // 2**20} MiB; refusing to read it")
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RLForgeError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(metadata, dict):
        raise RLForgeError(f"{path} is not a JSON object")
    return metadata


def dataset_spaces(metadata: dict, where: str):
    """(observation_space, action_space) from Minari metadata; None for one it does not hold."""
    return tuple(space_from_json(metadata[key], f"{where}: the {key.replace('_', ' ')}") if key in metadata else None
                 for key in ("observation_space", "action_space"))


def env_id_of(metadata: dict) -> str | None:
    """The env id in a Minari env_spec (parsed as JSON only, never made)."""
    try:
        env_id = json.loads(metadata["env_spec"])["id"]
    except (KeyError, TypeError, ValueError):
        return None
    return env_id if isinstance(env_id, str) else None


def read_minari(folder) -> Dataset:
    """The Minari dataset in `folder` (the folder holding data/, or data/ itself)."""
    import h5py

    from rlforge.datasets import minari_hdf5  # h5py's low-level API: imported when a dataset is read

    folder = Path(folder)
    metadata = read_metadata(folder)
    data = data_folder(folder)
    where = f"Minari dataset {str(folder)!r}"
    data_format = metadata.get("data_format", "hdf5")
    if data_format != "hdf5":
        raise RLForgeError(f"{where} is stored in the {data_format!r} format; rlforge reads only 'hdf5' Minari datasets")
    observation_space, action_space = dataset_spaces(metadata, where)
    if metadata.get("jpeg_encoding", True) and any(is_image_space(s) for s in (observation_space, action_space)):
        raise RLForgeError(f"{where} holds JPEG-encoded images; rlforge reads only raw arrays (jpeg_encoding false)")
    claimed = {key: metadata.get(key) for key in ("total_episodes", "total_steps")}
    for key, value in claimed.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RLForgeError(f"{where}: metadata {key} is {value!r}, not a count")
    _check_claims(claimed["total_episodes"], claimed["total_steps"], where)
    path = data / MAIN_FILE
    if not path.is_file():
        raise RLForgeError(f"{where} has no {DATA_FOLDER}/{MAIN_FILE}")
    if path.stat().st_size > Limits.max_file_bytes:
        raise RLForgeError(f"{where}: {MAIN_FILE} is {_bytes(path.stat().st_size)}, more than the "
                           f"{_bytes(Limits.max_file_bytes)} rlforge reads")
    try:
        with h5py.File(path, "r") as file:
            layout = minari_hdf5.episode_layout(file, claimed["total_episodes"], where)
            lengths = [members["rewards"].shape[0] for members in layout]
            arrays = minari_hdf5.read_episodes(file, layout, where)
    except RLForgeError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RLForgeError(f"{where}: cannot read {MAIN_FILE} ({reason})") from None
    if len(arrays["rewards"]) != claimed["total_steps"]:
        raise RLForgeError(f"{where}: metadata says {claimed['total_steps']} steps, "
                           f"its episodes hold {len(arrays['rewards'])}")
    own = metadata.get("rlforge") if isinstance(metadata.get("rlforge"), dict) else {}
    info = {**own, "source": str(folder), "source_format": "minari", "dataset_id": metadata.get("dataset_id"),
            "env": env_id_of(metadata) or own.get("env"), "episodes": claimed["total_episodes"],
            "minari": {k: metadata[k] for k in ("minari_version", *MINARI_DESCRIPTIVE_KEYS) if k in metadata}}
    for key in ("observation_space", "action_space"):
        if key in metadata:
            info[key] = metadata[key]
    dataset = Dataset(**arrays, metadata=info)
    if action_space is not None and not isinstance(action_space, spaces.Box):
        dataset.actions = _integer_actions(dataset.actions, where)
    _mark_unfinished_episodes(dataset, lengths)
    if len(dataset) and observation_space is not None and action_space is not None:
        check_dataset(dataset, observation_space, action_space, str(folder))  # the data fits its own spaces
    return dataset


def _integer_actions(actions: np.ndarray, where: str) -> np.ndarray:
    """Discrete-space actions as int64 (some writers store them as floats)."""
    if actions.dtype.kind == "f":
        if not np.all(np.isfinite(actions)) or np.any(actions != np.round(actions)):
            raise RLForgeError(f"{where} holds non-integer actions for a discrete action space")
    return actions.astype(np.int64)


def _check_claims(episodes: int, steps: int, where: str) -> None:
    if episodes > Limits.max_episodes:
        raise RLForgeError(f"{where} claims {episodes:,} episodes, more than the {Limits.max_episodes:,} rlforge reads")
    if steps > Limits.max_transitions:
        raise RLForgeError(f"{where} claims {steps:,} steps, more than the {Limits.max_transitions:,} rlforge reads")


def _check_memory(steps: int, row_shapes: dict, where: str) -> None:
    obs_numbers, action_numbers = (math.prod(row_shapes[k][0]) for k in ("observations", "actions"))
    needed = steps * (2 * obs_numbers * 8 + action_numbers * 8 + 4 + 2)  # obs and next_obs, at most 8 bytes each
    available = _available_memory()
    if needed > Limits.memory_share * available:
        raise RLForgeError(f"{where} needs about {_bytes(needed)} of memory ({steps:,} steps); "
                           f"only {_bytes(available)} is available")


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 2**62  # unknown: the other limits still hold


def _working_dtype(dtype: np.dtype, integer) -> np.dtype:
    """float32 for floats (rlforge's working precision); integers as they are, or `integer`."""
    if dtype.kind == "f":
        return np.dtype(np.float32)
    return np.dtype(integer) if integer is not None and dtype.kind in "iub" else dtype


def _mark_unfinished_episodes(dataset: Dataset, lengths: list[int]) -> None:
    """An episode stored without a final termination or truncation (Minari allows it) ends
    there all the same: its last step is marked truncated, so the flat arrays keep the cut."""
    stops = np.cumsum(lengths, dtype=np.int64) - 1
    stops = stops[stops >= 0]
    unfinished = stops[~(dataset.terminated[stops] | dataset.truncated[stops])] if len(stops) else stops
    if len(unfinished):
        dataset.truncated[unfinished] = True
        dataset.metadata["unfinished_episodes_marked_truncated"] = int(len(unfinished))


# ----------------------------------------------------------------------------- writing


def save_minari(dataset: Dataset, folder, observation_space, action_space, env_id: str | None = None,
                dataset_id: str | None = None, metadata: dict | None = None) -> Path:
    """Write `dataset` as a Minari dataset in `folder` (which must not exist yet); returns it.

    Episodes are split where terminated or truncated is set; an unfinished last episode is
    written as truncated. Within an episode each next_obs must equal the following obs (Minari
    keeps one observation sequence per episode). Minari's descriptive keys (algorithm_name,
    code_permalink, author, description, ...) found in `dataset.metadata` or `metadata` go to
    the top level of metadata.json; the rest of rlforge's metadata (run, algorithm, command,
    seed) under the key "rlforge". Written in a temporary folder beside `folder`, then renamed.
    """
    import h5py

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RLForgeError(f"{str(folder)!r} already exists; refusing to overwrite it")
    dataset_id = check_dataset_id(dataset_id or default_dataset_id(folder))
    check_dataset(dataset, observation_space, action_space, dataset_id)
    bounds = dataset.episode_bounds()
    _check_continuity(dataset, dataset_id)
    body = _metadata(dataset, observation_space, action_space, env_id, dataset_id, metadata or {}, len(bounds))
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    (temporary / DATA_FOLDER).mkdir(parents=True)
    try:
        actions = dataset.actions
        if isinstance(action_space, spaces.Discrete):
            actions = actions.reshape(len(actions)).astype(np.int64)  # Minari keeps one int64 per step
        with h5py.File(temporary / DATA_FOLDER / MAIN_FILE, "w", track_order=True) as file:
            for i, (start, stop) in enumerate(bounds):
                _write_episode(file.create_group(f"episode_{i}"), i, dataset, actions, start, stop)
        body["dataset_size"] = round(sum(p.stat().st_size for p in (temporary / DATA_FOLDER).iterdir()) / 1e6, 1)
        (temporary / DATA_FOLDER / METADATA_FILE).write_text(json.dumps(body))
        if folder.exists():
            folder.rmdir()  # empty: checked above
        os.rename(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder


def default_dataset_id(folder: Path) -> str:
    """The id of a dataset written to `folder`: its path under MINARI_DATASETS_PATH when it
    lies there, else its name (made a valid id: '-v0' added when it has no version)."""
    try:
        relative = folder.resolve().relative_to(minari_root().resolve()).as_posix()
        if MINARI_ID.fullmatch(relative):
            return relative
    except ValueError:
        pass
    name = re.sub(r"[^-\w]", "_", folder.name.lstrip(".")) or "dataset"
    return name if MINARI_ID.fullmatch(name) else f"{name}-v0"


def _check_continuity(dataset: Dataset, name: str) -> None:
    if len(dataset) < 2:
        return
    ends = dataset.terminated[:-1] | dataset.truncated[:-1]
    differs = (dataset.next_obs[:-1] != dataset.obs[1:]).reshape(len(dataset) - 1, -1).any(axis=1)
    broken = np.flatnonzero(differs & ~ends)
    if len(broken):
        raise RLForgeError(f"dataset {name!r}: next_obs at transition {broken[0]} differs from the obs after it, yet no "
                           "episode ends there; a Minari episode is one sequence of observations "
                           "(mark the episode ends, or split interleaved envs)")


def _write_episode(group, index: int, dataset: Dataset, actions: np.ndarray, start: int, stop: int) -> None:
    n = stop - start
    truncations = dataset.truncated[start:stop].astype(bool)
    terminations = dataset.terminated[start:stop].astype(bool)
    if not (truncations[-1] or terminations[-1]):
        truncations[-1] = True  # the data ends inside this episode
    group.attrs["id"] = index
    group.attrs["total_steps"] = n
    columns = {"observations": np.concatenate([dataset.obs[start:stop], dataset.next_obs[stop - 1:stop]]),
               "actions": actions[start:stop], "rewards": dataset.rewards[start:stop],
               "terminations": terminations, "truncations": truncations}
    for key, array in columns.items():
        array = np.ascontiguousarray(array)
        group.create_dataset(key, data=array)  # contiguous: a third of the size of chunked storage for short episodes
    group.create_group("infos")


def _metadata(dataset: Dataset, observation_space, action_space, env_id, dataset_id: str, extra: dict,
              episodes: int) -> dict:
    merged = {**dataset.metadata, **extra}
    body = {"dataset_id": dataset_id, "total_episodes": episodes, "total_steps": len(dataset), "data_format": "hdf5",
            "jpeg_encoding": False, "observation_space": space_to_json(observation_space),
            "action_space": space_to_json(action_space), "minari_version": MINARI_VERSION}
    env_spec = _gymnasium_env_spec(env_id or merged.get("env"))
    if env_spec is not None:
        body["env_spec"] = env_spec
    read_back = merged.get("minari") if isinstance(merged.get("minari"), dict) else {}
    for key in REFERENCE_KEYS:  # a Minari dataset read and written again keeps its reference returns
        if merged.get(key) is None and read_back.get(key) is not None:
            merged[key] = read_back[key]
    if merged.get("algorithm_name") is None and isinstance(merged.get("algo"), str):
        merged["algorithm_name"] = merged["algo"]  # the run's algorithm, in Minari's own key
    for key in MINARI_DESCRIPTIVE_KEYS:
        if merged.get(key) is not None:
            value = merged[key]
            body[key] = sorted({value} if isinstance(value, str) else set(value)) if key.startswith("author") else value
    own = {k: v for k, v in merged.items() if k not in MINARI_DESCRIPTIVE_KEYS and k not in NOT_COPIED_KEYS}
    if env_id or merged.get("env"):
        own["env"] = env_id or merged.get("env")
    body["rlforge"] = {**own, "rlforge_version": rlforge.__version__}
    try:
        return json.loads(json.dumps(body, default=_json_value))
    except (TypeError, ValueError) as exc:
        raise RLForgeError(f"dataset {dataset_id!r}: its metadata is not JSON ({exc})") from None


def _json_value(value):
    """NumPy numbers and arrays and paths in metadata, as JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size <= 10_000 and not value.dtype.hasobject:
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


def _gymnasium_env_spec(env_id) -> str | None:
    """The Gymnasium EnvSpec of `env_id` as JSON (minari.recover_environment uses it), or
    None for ids Gymnasium does not register (plugin envs) and specs that are not JSON."""
    if not isinstance(env_id, str) or ":" in env_id:  # "module:Id" would import the module
        return None
    import gymnasium as gym

    try:
        return gym.spec(env_id).to_json()
    except Exception:  # gymnasium's NameNotFound/VersionNotFound/..., or a spec with non-JSON kwargs
        return None
