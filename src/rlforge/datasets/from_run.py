"""A run directory as a dataset: RUN_DIR/dataset/ (the Minari dataset the engine writes for
agents that keep what they collect), else the replay buffer in the run's latest checkpoint.

A replay buffer is found in the checkpoint's agent state as a dict with the keys of
rlforge.buffers.ReplayBuffer.state_dict: obs, actions, rewards, next_obs, terminated
(float 0/1), optionally truncated, and position and size. Its rows are a ring: once it has
wrapped, the oldest row is at `position`. With num_envs envs the engine adds one row per env
per step, env after env, so the rows of each env are every num_envs-th row; each env's rows
become its own run of episodes. Where the next row's obs is not a row's next_obs and no
flag says so, the episode ended there unflagged (a time limit, in buffers that did not keep
truncation): that row is marked truncated. An agent that stores its actions transformed (SAC
maps them to [-1, 1]) says so with `action_scale` and `action_bias` arrays beside the
buffer's rows (env action = stored * scale + bias); Box actions outside the action space are
refused. Checkpoints are loaded with rlforge.checkpoint (no unpickling).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from gymnasium import spaces

from rlforge.datasets.dataset import FIELDS, Dataset
from rlforge.datasets.minari_files import read_minari
from rlforge.datasets.spaces import space_to_json
from rlforge.errors import RLForgeError

BUFFER_KEYS = frozenset({"obs", "actions", "rewards", "next_obs", "terminated", "position", "size"})
DATASET_FOLDER = "dataset"


def is_run_folder(path: Path) -> bool:
    """A run directory, its checkpoints folder or one checkpoint folder."""
    return any((path / name).exists() for name in (DATASET_FOLDER, "checkpoints", "meta.json", "state.json", "latest"))


def load_run_dataset(path) -> Dataset:
    """What a run collected: RUN_DIR/dataset/, else its latest checkpoint's replay buffer."""
    path = Path(path)
    if (path / DATASET_FOLDER).is_dir():
        return read_minari(path / DATASET_FOLDER)
    return load_checkpoint_buffer(path)


def load_checkpoint_buffer(path) -> Dataset:
    """The replay buffer of the latest checkpoint of a run (or of a checkpoint folder)."""
    from rlforge import checkpoint

    folder = checkpoint.resolve(Path(path))
    state, meta = checkpoint.load(folder)
    where = f"checkpoint {str(folder)!r}"
    found = find_replay_buffers(state.get("agent"), "agent")
    if not found:
        raise RLForgeError(f"{where} ({meta.get('algo')}) holds no replay buffer (a dict with "
                           f"{', '.join(sorted(BUFFER_KEYS))}); this run kept no dataset")
    if len(found) > 1:
        named = [f for f in found if f[0].endswith(".buffer")]
        if len(named) != 1:
            raise RLForgeError(f"{where} holds several replay buffers ({', '.join(p for p, _ in found)}); "
                               "cannot tell which one is the run's data")
        found = named
    buffer = found[0][1]
    observation_space, action_space = run_spaces(meta, where)
    num_envs = int((meta.get("config") or {}).get("num_envs", 1))
    rows = ring_order(buffer, where)
    rows["actions"] = env_actions(rows["actions"], buffer, action_space, where)
    run_dir = folder.parent.parent if folder.parent.name == "checkpoints" else folder.parent
    metadata = {"source": str(path), "source_format": "rlforge-checkpoint", "run": str(run_dir),
                "checkpoint": str(folder), "algo": meta.get("algo"), "algorithm_name": meta.get("algo"),
                "env": meta.get("env"), "seed": (meta.get("config") or {}).get("seed"),
                "step": (meta.get("counters") or {}).get("step"), "num_envs": num_envs,
                "observation_space": space_to_json(observation_space), "action_space": space_to_json(action_space)}
    command = _training_command(run_dir)
    if command:
        metadata["training_command"] = command
    rows = split_envs(rows, num_envs)
    inferred = mark_unflagged_ends(rows)
    if inferred:
        metadata["episode_ends_inferred"] = inferred
    return Dataset(**rows, metadata=metadata)


def mark_unflagged_ends(rows: dict[str, np.ndarray]) -> int:
    """Mark truncated the steps where an episode visibly ended without a flag (the next row's
    obs is not this row's next_obs): buffers written before truncation was kept, or by agents
    that do not pass it, lose time-limit ends. Returns how many were marked."""
    if len(rows["obs"]) < 2:
        return 0
    n = len(rows["obs"]) - 1
    differs = (rows["next_obs"][:-1] != rows["obs"][1:]).reshape(n, -1).any(axis=1)
    unflagged = np.flatnonzero(differs & ~(rows["terminated"][:-1] | rows["truncated"][:-1]))
    rows["truncated"][unflagged] = True
    return int(len(unflagged))


def find_replay_buffers(value, path: str, depth: int = 0) -> list[tuple[str, dict]]:
    """(path, dict) of every replay-buffer state in `value` (nested dicts, a few levels deep)."""
    if not isinstance(value, dict) or depth > 4:
        return []
    if BUFFER_KEYS <= value.keys():
        return [(path, value)]
    return [found for key, item in value.items() for found in find_replay_buffers(item, f"{path}.{key}", depth + 1)]


def ring_order(buffer: dict, where: str) -> dict[str, np.ndarray]:
    """The buffer's rows oldest first, as Dataset fields (flags as bools)."""
    try:
        size, position = int(buffer["size"]), int(buffer["position"])
    except (TypeError, ValueError):
        raise RLForgeError(f"{where}: the replay buffer's size and position are not integers") from None
    arrays = {key: buffer.get(key) for key in FIELDS}
    if arrays["truncated"] is None:  # written before buffers kept truncation
        arrays["truncated"] = np.zeros(size, dtype=np.float32)
    for key, array in arrays.items():
        if not isinstance(array, np.ndarray) or len(array) != size:
            raise RLForgeError(f"{where}: the replay buffer's {key} is not an array of its {size} rows")
    if not 0 <= position <= size:
        raise RLForgeError(f"{where}: the replay buffer's position {position} lies outside its {size} rows")
    order = (position + np.arange(size)) % max(size, 1)  # not wrapped: position == size, order 0..size-1
    rows = {key: array.take(order, axis=0) for key, array in arrays.items()}
    for key in ("terminated", "truncated"):
        rows[key] = rows[key] > 0.5
    return rows


def env_actions(actions: np.ndarray, buffer: dict, action_space, where: str) -> np.ndarray:
    """The stored actions as the env took them: undo a declared transform; integers for
    discrete spaces; Box actions must lie within the space (with float32 slack)."""
    if "action_scale" in buffer and "action_bias" in buffer:
        actions = actions * np.asarray(buffer["action_scale"], np.float32) + np.asarray(buffer["action_bias"], np.float32)
    if isinstance(action_space, spaces.Box):
        actions = actions.astype(np.float32)
        flat = actions.reshape(len(actions), -1)
        low, high = action_space.low.reshape(-1), action_space.high.reshape(-1)
        slack = 1e-5 * np.maximum(1.0, np.abs(np.where(np.isfinite(high), high, 0)))
        if len(flat) and (np.any(flat < low - slack) or np.any(flat > high + slack)):
            raise RLForgeError(f"{where}: the replay buffer holds actions outside {action_space}; the agent stores "
                               "transformed actions without saying how (action_scale, action_bias)")
        return actions
    if np.issubdtype(actions.dtype, np.floating) and np.any(actions != np.round(actions)):
        raise RLForgeError(f"{where}: the replay buffer holds non-integer actions for {action_space}")
    return actions.astype(np.int64)


def split_envs(rows: dict[str, np.ndarray], num_envs: int) -> dict[str, np.ndarray]:
    """Rows of `num_envs` interleaved envs as one env's rows after another's. Each add holds
    one row per env, so the newest row is the last env's and the oldest is env (-size) mod
    num_envs. Each env's rows end with its last episode marked truncated (the data ends there)."""
    if num_envs <= 1:
        return rows
    size = len(rows["rewards"])
    env_of_row = (np.arange(size) - size) % num_envs
    order = np.concatenate([np.flatnonzero(env_of_row == e) for e in range(num_envs)])
    split = {key: array[order] for key, array in rows.items()}
    lasts = np.cumsum([np.count_nonzero(env_of_row == e) for e in range(num_envs)]) - 1
    split["truncated"][lasts[lasts >= 0]] |= ~split["terminated"][lasts[lasts >= 0]]
    return split


def run_spaces(meta: dict, where: str):
    """The spaces of a run's env (from the registry, made with the run's env_kwargs), checked
    against those its checkpoint recorded."""
    from rlforge.config import env_kwargs_of
    from rlforge.envs import env_spaces
    from rlforge.plugins import get_host

    env_id = meta.get("env")
    if not isinstance(env_id, str):
        raise RLForgeError(f"{where} does not name its env")
    registry = get_host().registry
    registry.check_env(env_id)
    config = meta.get("config") if isinstance(meta.get("config"), dict) else None
    observation_space, action_space = env_spaces(env_id, registry.envs.get(env_id), env_kwargs_of(config))
    for key, space in (("observation_space", observation_space), ("action_space", action_space)):
        if meta.get(key) not in (None, repr(space)):
            raise RLForgeError(f"{where}: its {key.replace('_', ' ')} {meta[key]} is not {env_id}'s {space!r} now")
    return observation_space, action_space


def _training_command(run_dir: Path) -> str | None:
    try:
        meta = json.loads((run_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    command = meta.get("command") if isinstance(meta, dict) else None
    return command if isinstance(command, str) else None
