"""The HDF5 side of reading a Minari dataset (rlforge.datasets.minari_files.read_minari), with
h5py's low-level API.

A dataset of many short episodes (D4RL's random ones: about 50,000 episodes in 1M steps) is
mostly HDF5 objects: a group and five datasets an episode. Through h5py's high-level Group and
Dataset each costs name and link look-ups, property look-ups and a per-read set-up (about 2 ms
an episode in all). Here the link types of a group come from one iteration over it, objects are
opened by their expected kind (h5g.open, h5d.open), a dtype is converted and checked (and its
memory type made) once per distinct HDF5 type, and reads go straight into NumPy arrays. What
remains, about 0.7 ms an episode, is HDF5's own cost of opening, describing, reading and
closing each object.

Two passes: the first checks every object (hard links only, numeric dtypes, data stored in the
file, shapes consistent, the size limits, the memory check) and reads no data; the second opens
each dataset again (through its link, checked again) and reads it. No object stays open between
them: an open dataset holds 20 KB (contiguous) to 90 KB (minari's chunked ones) of HDF5 memory,
gigabytes for 250,000 of them. Imported only when a Minari dataset is read.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import h5py
import numpy as np
from h5py import h5d, h5g, h5l, h5o, h5s, h5t

from rlforge.datasets.dataset import NUMERIC_KINDS
from rlforge.datasets.minari_files import MAIN_FILE, STEP_FIELDS, Limits, _check_memory, _working_dtype
from rlforge.errors import RLForgeError

KEYS = ("observations", *STEP_FIELDS)
LINK_KINDS = {h5l.TYPE_SOFT: "SoftLink", h5l.TYPE_EXTERNAL: "ExternalLink"}  # the names h5py gives them


class Member(NamedTuple):
    """One checked HDF5 dataset of an episode: what reading it needs."""

    shape: tuple
    dtype: np.dtype
    mtype: h5t.TypeID  # the HDF5 memory type h5py's dataset[()] reads this dtype as


def episode_layout(file: h5py.File, episodes: int, where: str) -> list[dict[str, Member]]:
    """For each episode, its five HDF5 datasets after checking their links, kinds, storage and
    shapes (no data read); each object is closed once checked."""
    if len(file) != episodes:
        raise RLForgeError(f"{where}: metadata says {episodes} episodes, {MAIN_FILE} holds {len(file)} groups")
    layout, total_steps, elements = [], 0, 0
    row_shapes: dict[str, tuple] = {}
    types: dict[str, tuple] = {}  # per field, the last HDF5 type seen with its checked dtype and memory type
    root_links = _link_types(file.id)
    for i in range(episodes):
        group = _hard_member(file.id, root_links, "", f"episode_{i}", h5g.open, where)
        if not isinstance(group, h5g.GroupID):
            raise RLForgeError(f"{where}: episode_{i} is not an HDF5 group")
        links = _link_types(group)
        members = {key: _checked_array(group, links, i, key, types, where) for key in KEYS}
        shapes = {key: m.shape for key, m in members.items()}
        n = shapes["rewards"][0] if shapes["rewards"] else -1
        if n < 0 or shapes["rewards"][1:] not in ((), (1,)):
            raise RLForgeError(f"{where}: episode_{i}/rewards has shape {shapes['rewards']}, not one reward per step")
        expected = {"observations": n + 1, "actions": n, "terminations": n, "truncations": n}
        for key, rows in expected.items():
            if not shapes[key] or shapes[key][0] != rows:
                raise RLForgeError(f"{where}: episode_{i}/{key} has {shapes[key][0] if shapes[key] else 0} "
                                   f"rows; an episode of {n} steps needs {rows}")
        for key in ("terminations", "truncations"):
            if shapes[key][1:] not in ((), (1,)):
                raise RLForgeError(f"{where}: episode_{i}/{key} has shape {shapes[key]}, not one flag per step")
        for key in ("observations", "actions"):
            shape = (shapes[key][1:], _working_dtype(members[key].dtype, None))
            if row_shapes.setdefault(key, shape) != shape:
                raise RLForgeError(f"{where}: episode_{i}/{key} has rows of shape {shape[0]} and dtype "
                                   f"{members[key].dtype}, unlike earlier episodes ({row_shapes[key][0]}, "
                                   f"{row_shapes[key][1]})")
        total_steps += n
        elements += sum(math.prod(shape) for shape in shapes.values())
        if total_steps > Limits.max_transitions or elements > Limits.max_elements:
            raise RLForgeError(f"{where} holds more than {Limits.max_transitions:,} steps or {Limits.max_elements:,} "
                               "numbers; rlforge does not read datasets that large")
        layout.append(members)
    if layout:
        _check_memory(total_steps, row_shapes, where)
    return layout


def _link_types(group) -> dict[bytes, int]:
    """The type (h5l.TYPE_HARD, ...) of each link in `group` (a low-level id), in one HDF5 call."""
    types = {}
    group.links.iterate(lambda name, info: types.__setitem__(name, info.type), info=True)
    return types


def _hard_member(group, links: dict, path: str, name: str, opener, where: str):
    """The object `name` of `group` (a low-level id), which must be stored in this file (no soft,
    external or user-defined link), opened with `opener` (h5g.open or h5d.open); an object of
    another kind comes back as what it is, for the caller to refuse."""
    link_type = links.get(name.encode())
    if link_type is None:
        raise RLForgeError(f"{where}: {path}/{name} is missing")
    if link_type != h5l.TYPE_HARD:
        raise RLForgeError(f"{where}: {path}/{name} is a {LINK_KINDS.get(link_type, 'user-defined link')}; "
                           "rlforge follows no links")
    try:
        return opener(group, name.encode())  # h5o.open would find the kind through Python imports: slower
    except (KeyError, ValueError, TypeError, OSError, RuntimeError):
        return h5o.open(group, name.encode())  # the kind it is instead, or HDF5's own error


def _checked_array(group, links: dict, i: int, key: str, types: dict, where: str) -> Member:
    """Episode i's dataset `key` once it is a numeric array stored in the file."""
    member = _hard_member(group, links, f"/episode_{i}", key, h5d.open, where)
    if isinstance(member, h5g.GroupID):
        raise RLForgeError(f"{where}: episode_{i}/{key} is a group (a Dict or Tuple space); rlforge reads arrays only")
    if not isinstance(member, h5d.DatasetID):  # a named datatype
        raise RLForgeError(f"{where}: episode_{i}/{key} is not an HDF5 dataset")
    hdf5_type = member.get_type()
    last = types.get(key)
    if last is not None and hdf5_type.equal(last[0]):  # equal HDF5 types make equal dtypes: checked already
        dtype, mtype = last[1], last[2]
    else:
        dtype = hdf5_type.dtype
        if (dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.names is not None
                or dtype.subdtype is not None or h5py.check_vlen_dtype(dtype) is not None
                or h5py.check_string_dtype(dtype) is not None):
            raise RLForgeError(f"{where}: episode_{i}/{key} has dtype {dtype}; rlforge reads only numeric arrays")
        mtype = h5t.py_create(dtype)  # as h5py's dataset[()] makes it (on every read)
        types[key] = (hdf5_type, dtype, mtype)
    creation = member.get_create_plist()
    if creation.get_layout() == h5d.VIRTUAL or creation.get_external_count() > 0:
        raise RLForgeError(f"{where}: episode_{i}/{key} is stored outside {MAIN_FILE}; "
                           "rlforge reads only data in the file")
    return Member(member.shape, dtype, mtype)


def read_episodes(file: h5py.File, layout: list[dict[str, Member]], where: str) -> dict:
    """The episodes' arrays, concatenated into rlforge's flat fields. Each dataset is opened
    again by its (again hard) link and closed once read."""
    if not layout:
        return {"obs": np.zeros((0,), np.float32), "actions": np.zeros((0,), np.float32),
                "rewards": np.zeros(0, np.float32), "next_obs": np.zeros((0,), np.float32),
                "terminated": np.zeros(0, bool), "truncated": np.zeros(0, bool)}
    steps = sum(m["rewards"].shape[0] for m in layout)
    first = layout[0]
    obs_dtype = _working_dtype(first["observations"].dtype, integer=None)
    action_dtype = _working_dtype(first["actions"].dtype, integer=np.int64)
    obs = np.empty((steps, *first["observations"].shape[1:]), obs_dtype)
    next_obs = np.empty_like(obs)
    actions = np.empty((steps, *first["actions"].shape[1:]), action_dtype)
    rewards, terminated, truncated = np.empty(steps, np.float32), np.empty(steps, bool), np.empty(steps, bool)
    root_links, spaces, row = _link_types(file.id), {}, 0
    for i, members in enumerate(layout):
        n = members["rewards"].shape[0]
        if n == 0:
            continue
        group = _hard_member(file.id, root_links, "", f"episode_{i}", h5g.open, where)
        links = _link_types(group)
        arrays = {key: _read(group, links, i, key, members[key], spaces, where) for key in KEYS}
        obs[row:row + n], next_obs[row:row + n] = arrays["observations"][:-1], arrays["observations"][1:]
        actions[row:row + n] = arrays["actions"]
        rewards[row:row + n] = arrays["rewards"].reshape(n)
        terminated[row:row + n] = arrays["terminations"].reshape(n) != 0
        truncated[row:row + n] = arrays["truncations"].reshape(n) != 0
        row += n
    return {"obs": obs, "actions": actions, "rewards": rewards, "next_obs": next_obs,
            "terminated": terminated, "truncated": truncated}


def _read(group, links: dict, i: int, key: str, member: Member, spaces: dict, where: str) -> np.ndarray:
    """All of episode i's dataset `key`, as h5py's dataset[()] reads it: same dtype, same HDF5
    memory type."""
    dataset = _hard_member(group, links, f"/episode_{i}", key, h5d.open, where)
    if not isinstance(dataset, h5d.DatasetID):
        raise RLForgeError(f"{where}: episode_{i}/{key} changed while {MAIN_FILE} was read")
    array = np.empty(member.shape, member.dtype)
    if array.size:  # into a memory space of the checked shape: HDF5 refuses a dataset of another size
        space = spaces.get(member.shape)
        if space is None:
            space = spaces[member.shape] = h5s.create_simple(member.shape)
        dataset.read(space, h5s.ALL, array, member.mtype)
    return array
