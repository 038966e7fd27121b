"""Checkpoints that load without running code.

A checkpoint is a folder:
  state.json           the structure of the saved state, with JSON values inline and
                       references to tensors and arrays; plus metadata (algo, env, spaces,
                       config, counters, versions)
  tensors.safetensors  every torch tensor
  arrays.npz           every NumPy array, saved and loaded with allow_pickle=False

It is written under a temporary name and renamed into place, then `latest` (a one-line
text file) is replaced atomically, so a crash mid-write never leaves a broken latest. A
checkpoint folder is never replaced: a second one at the same step gets a new name
(step_<N>.1, ...), so the folder `latest` names exists until its successor is in place.
`latest` may only name a folder directly inside checkpoints/; when it is broken, the newest
complete checkpoint is used instead, and the caller is told.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save as safetensors_bytes

from rlforge.errors import RLForgeError

FORMAT_VERSION = 1
CHECKPOINT_NAME = re.compile(r"step_[0-9]{1,20}(\.[0-9]{1,6})?")  # step_<N>, or step_<N>.<k> for a same-step rewrite
STATE_FILE, TENSORS_FILE, ARRAYS_FILE, LATEST_FILE = "state.json", "tensors.safetensors", "arrays.npz", "latest"


class CheckpointError(RLForgeError):
    """A checkpoint that is missing, corrupt, unsafe or for another algorithm or env."""


# ----------------------------------------------------------------------------- encode


def _encode(value, path: str, tensors: dict, arrays: dict):
    """`value` as JSON, moving tensors and arrays out into `tensors` and `arrays` by path."""
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().to("cpu").clone().contiguous()
        return {"__tensor__": path}
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"cannot checkpoint an object array at {path!r}")
        arrays[path] = value
        return {"__array__": path}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v, f"{path}.{k}", tensors, arrays) for k, v in value.items()}
        return {"__items__": [[k, _encode(v, f"{path}.{i}", tensors, arrays)] for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", tensors, arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{path}.{i}", tensors, arrays) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot checkpoint a {type(value).__name__} at {path!r}")


def _decode(value, tensors: dict, arrays: dict):
    if isinstance(value, list):
        return [_decode(v, tensors, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tuple__" in value:
        return tuple(_decode(v, tensors, arrays) for v in value["__tuple__"])
    if "__items__" in value:
        return {k: _decode(v, tensors, arrays) for k, v in value["__items__"]}
    return {k: _decode(v, tensors, arrays) for k, v in value.items()}


# ----------------------------------------------------------------------------- write


class _FaultInjection:
    """Test hook: RLFORGE_CHECKPOINT_FAULT="K:N" ends the process (os._exit(86)) just before
    the N-th file operation of its K-th checkpoint write; "K:N:raise" raises OSError (ENOSPC)
    there instead, as a full disk would; "K:N:sigint" sends the process a SIGINT there, as a
    second Ctrl-C during a stop checkpoint would. Unset, it costs one dict lookup per write."""

    def __init__(self):
        self.writes = 0
        self.operations = 0

    def start_write(self) -> None:
        self.writes += 1
        self.operations = 0

    def before(self) -> None:
        spec = os.environ.get("RLFORGE_CHECKPOINT_FAULT")
        if not spec:
            return
        self.operations += 1
        write, operation, *mode = spec.split(":")
        if (self.writes, self.operations) == (int(write), int(operation)):
            if mode == ["raise"]:
                raise OSError(28, "No space left on device (injected)")
            if mode == ["sigint"]:
                os.kill(os.getpid(), signal.SIGINT)
                return
            os._exit(86)


_faults = _FaultInjection()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, write) -> None:
    _faults.before()
    with open(path, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def save(directory: Path, name: str, state: dict, metadata: dict) -> Path:
    """Write `state` (nested tensors, arrays and JSON values) as checkpoint `directory/name`."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors, arrays = {}, {}
    body = {"format": FORMAT_VERSION, **metadata, "state": _encode(state, "state", tensors, arrays)}
    final = _unused(directory, name)
    temporary = directory / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    _faults.start_write()
    try:
        _faults.before()
        temporary.mkdir()
        _faults.before()
        # safetensors' save_file creates its file 0600; bytes written here follow the umask like the other files
        _write_synced(temporary / TENSORS_FILE, lambda h: h.write(safetensors_bytes(tensors)))
        _write_synced(temporary / ARRAYS_FILE, lambda h: np.savez(h, **arrays))
        _write_synced(temporary / STATE_FILE, lambda h: h.write(json.dumps(body).encode()))
        _fsync_dir(temporary)
        _faults.before()
        os.rename(temporary, final)
        _point_latest(directory, final.name)
    except OSError as exc:  # disk full, permissions: the previous checkpoint and latest stay as they were
        shutil.rmtree(temporary, ignore_errors=True)
        raise CheckpointError(f"cannot write checkpoint {str(final)!r}: {exc.strerror or exc}") from None
    except BaseException:  # a second Ctrl-C: the same, then stop as asked
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def _unused(directory: Path, name: str) -> Path:
    """directory/name, or name.1, name.2, ... when a checkpoint of that name exists already."""
    candidate, k = directory / name, 0
    while candidate.exists():
        k += 1
        candidate = directory / f"{name}.{k}"
    return candidate


def _point_latest(directory: Path, name: str) -> None:
    temporary = directory / f".{LATEST_FILE}.tmp"
    _write_synced(temporary, lambda h: h.write(name.encode() + b"\n"))
    _faults.before()
    os.replace(temporary, directory / LATEST_FILE)
    _fsync_dir(directory)


def _checkpoint_order(path: Path) -> tuple[int, int]:
    step, _, rewrite = path.name[len("step_"):].partition(".")
    return int(step), int(rewrite or 0)


def complete_checkpoints(directory: Path) -> list[Path]:
    """The complete checkpoint folders in `directory`, oldest first."""
    found = [p for p in directory.glob("step_*") if CHECKPOINT_NAME.fullmatch(p.name) and not p.is_symlink()
             and p.is_dir() and all((p / f).is_file() for f in (STATE_FILE, TENSORS_FILE, ARRAYS_FILE))]
    return sorted(found, key=_checkpoint_order)


def prune(directory: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints (never `latest`'s)."""
    latest = latest_name(directory)
    saved = sorted((p for p in directory.glob("step_*") if p.is_dir() and CHECKPOINT_NAME.fullmatch(p.name)),
                   key=_checkpoint_order)
    for old in saved[: max(0, len(saved) - keep)]:
        if old.name != latest:
            shutil.rmtree(old, ignore_errors=True)
    for leftover in directory.glob(".tmp-*"):  # from a write that was killed
        shutil.rmtree(leftover, ignore_errors=True)


# ----------------------------------------------------------------------------- read


def latest_name(directory: Path) -> str | None:
    """The checkpoint name in `directory/latest`, or None when it is missing or unusable (not a
    plain step_<N> name: no paths, no other folders)."""
    latest = directory / LATEST_FILE
    try:
        if latest.is_symlink() or latest.stat().st_size > 256:
            return None
        name = latest.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if CHECKPOINT_NAME.fullmatch(name) else None


def resolve(path: Path, warn=None) -> Path:
    """A run directory, a checkpoints folder or a checkpoint folder, as the checkpoint folder.
    When `latest` is missing or names an incomplete folder, the newest complete checkpoint is
    taken, and `warn` (a callable) is told why."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{str(path)!r} does not exist")
    if (path / STATE_FILE).is_file():
        return path
    for folder in (path / "checkpoints", path):
        if not (folder / LATEST_FILE).exists() and not (folder / LATEST_FILE).is_symlink():
            continue
        name = latest_name(folder)
        if name is not None and (folder / name) in complete_checkpoints(folder):
            return folder / name
        complete = complete_checkpoints(folder)
        if not complete:
            raise CheckpointError(f"no complete checkpoint in {str(folder)!r} ('latest' is broken)")
        if warn is not None:
            what = f"names {name!r}, which is incomplete or missing" if name else "is unreadable"
            warn(f"'latest' in {str(folder)!r} {what}; using the newest complete checkpoint, {complete[-1].name}")
        return complete[-1]
    raise CheckpointError(f"no checkpoint found in {str(path)!r}")


def read_metadata(path: Path) -> dict:
    """The JSON part of a checkpoint (everything but the tensors and arrays)."""
    from rlforge.safe_files import load_json

    if not (Path(path) / STATE_FILE).exists():
        raise CheckpointError(f"checkpoint {str(path)!r} has no {STATE_FILE}")
    try:
        body = load_json(Path(path) / STATE_FILE, STATE_FILE)
    except RLForgeError as exc:
        reason = str(exc).split("' ", 1)[-1]  # the problem, without the path said again
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt: {STATE_FILE} {reason}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {str(path)!r} is not an rlforge checkpoint of format {FORMAT_VERSION}")
    return body


def load(path: Path) -> tuple[dict, dict]:
    """(state, metadata) of a checkpoint folder. Never unpickles: a pickle payload is refused."""
    path = Path(path)
    body = read_metadata(path)
    if not (path / TENSORS_FILE).is_file():  # also refuses a FIFO, which would block the read
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt: {TENSORS_FILE} is missing or not a regular file")
    try:
        tensors = load_file(str(path / TENSORS_FILE))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt: cannot read {TENSORS_FILE} ({exc})") from None
    from rlforge.safe_files import PickledArrayError, load_npz

    try:
        arrays = load_npz(path / ARRAYS_FILE, ARRAYS_FILE)
    except PickledArrayError:
        raise CheckpointError(f"checkpoint {str(path)!r} holds pickled data in {ARRAYS_FILE}; refusing to load it") from None
    except RLForgeError as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt: cannot read {ARRAYS_FILE} ({exc})") from None
    try:
        state = _decode(body.pop("state"), tensors, arrays)
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt: missing or malformed entry {exc}") from None
    return state, body
