"""Reading files rlforge did not necessarily write, within limits: size, nesting depth, element
counts, YAML alias expansion. Only regular files are read (a FIFO or a device would block or
never end). Every failure is one RLForgeError line naming the file and the problem.

    read_limited(path, what, limit)      bytes of a regular file of at most `limit` bytes
    load_yaml(path, what)                a YAML document (safe loader), expansion and depth bounded
    load_json(path, what)                a JSON document, depth bounded
    load_npz(path, what)                 the arrays of an .npz, every header checked before reading
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
import zlib
from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError

MIB = 1 << 20
YAML_LIMIT = 4 * MIB  # configs and sweep files are a few KB
JSON_LIMIT = 256 * MIB  # checkpoint state.json (arrays live in the npz beside it)
MAX_DEPTH = 64  # nesting of mappings and lists
MAX_NODES = 1_000_000  # YAML nodes after aliases are expanded
MAX_ARRAYS = 100_000  # members of one .npz


class UnsafeFileError(RLForgeError):
    """A file beyond rlforge's limits, or not a regular file."""


class PickledArrayError(UnsafeFileError):
    """An .npz member that is an object array (its data would be unpickled)."""


def read_limited(path, what: str, limit: int) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise RLForgeError(f"{what} {str(path)!r} does not exist") from None
    except OSError as exc:
        raise RLForgeError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{what} {str(path)!r} is not a regular file")
    if info.st_size > limit:
        raise UnsafeFileError(f"{what} {str(path)!r} is {info.st_size / MIB:,.1f} MiB, more than the "
                              f"{limit / MIB:,.0f} MiB rlforge reads")
    try:
        with open(path, "rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise RLForgeError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None


def _text(data: bytes, path, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeFileError(f"{what} {str(path)!r} is not UTF-8 text") from None


# ----------------------------------------------------------------------------- YAML


def load_yaml(path, what: str = "config file", limit: int = YAML_LIMIT):
    """A YAML document read with the safe loader. Aliases are allowed, but the document they
    expand to is bounded (MAX_NODES), and so is its nesting (MAX_DEPTH): a "billion laughs"
    file is refused before anything walks it."""
    import yaml

    text = _text(read_limited(path, what, limit), path, what)
    # libyaml's parser where PyYAML has it (the pure-Python one takes seconds on a long list);
    # the text is parsed once, checked as a node graph, then built from that same graph
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_node(node, path, what)
        return loader.construct_document(node)
    except RecursionError:
        raise UnsafeFileError(f"{what} {str(path)!r} is nested too deeply") from None
    finally:
        loader.dispose()


def _check_node(root, path, what: str) -> None:
    """Expanded size and depth of a composed YAML graph, each node visited once (memoised)."""
    import yaml

    sizes: dict[int, tuple[int, int]] = {}

    def measure(node, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise UnsafeFileError(f"{what} {str(path)!r} is nested more than {MAX_DEPTH} levels deep")
        known = sizes.get(id(node))
        if known is not None:
            return known
        size, height = 1, 0
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        for child in children:
            child_size, child_height = measure(child, depth + 1)
            size, height = size + child_size, max(height, child_height + 1)
            if size > MAX_NODES:
                raise UnsafeFileError(f"{what} {str(path)!r} expands to more than {MAX_NODES:,} values "
                                      "(aliases repeating aliases?)")
        sizes[id(node)] = (size, height)
        return size, height

    measure(root, 0)


# ----------------------------------------------------------------------------- JSON


def load_json(path, what: str, limit: int = JSON_LIMIT):
    """A JSON document, nesting at most MAX_DEPTH levels."""
    text = _text(read_limited(path, what, limit), path, what)
    _check_json_depth(text, path, what)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise RLForgeError(f"{what} {str(path)!r} is not valid JSON ({str(exc).splitlines()[0][:120]})") from None


def _check_json_depth(text: str, path, what: str) -> None:
    """Refuse nesting beyond MAX_DEPTH before the parser recurses into it (brackets inside
    strings are skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise UnsafeFileError(f"{what} {str(path)!r} is nested more than {MAX_DEPTH} levels deep")
        elif char in "]}":
            depth -= 1


# ----------------------------------------------------------------------------- npz


def load_npz(path, what: str, limit_share: float = 0.5) -> dict[str, np.ndarray]:
    """Every array of an .npz (no pickles): each member's header (dtype, shape) is read first,
    and object arrays, non-arrays and arrays that would not fit in memory are refused before
    any data is read."""
    from rlforge.resources import check_fits

    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise RLForgeError(f"{what} {str(path)!r} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(f"{what} {str(path)!r} is not a regular file")
    if not zipfile.is_zipfile(path):
        raise RLForgeError(f"{what} {str(path)!r} is not an .npz archive")
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS:
                raise UnsafeFileError(f"{what} {str(path)!r} holds more than {MAX_ARRAYS:,} arrays")
            total = 0.0
            for member in members:
                name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
                with archive.open(member) as handle:
                    shape, dtype = _npy_header(handle, path, what, name)
                # a zero-byte dtype still costs a byte per element once converted
                total += float(np.prod(shape, dtype=np.float64)) * max(dtype.itemsize, 1)
                check_fits(total, f"{what} {str(path)!r}", limit_share)
                with archive.open(member) as handle:
                    arrays[name] = np.lib.format.read_array(handle, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, NotImplementedError, RuntimeError) as exc:
        # NotImplementedError: an unsupported compression; RuntimeError: an encrypted member
        raise RLForgeError(f"{what} {str(path)!r} is corrupt ({type(exc).__name__}: {str(exc)[:120]})") from None
    except ValueError as exc:
        raise RLForgeError(f"{what} {str(path)!r} cannot be read safely: {str(exc).splitlines()[0][:160]}") from None
    return arrays


def _npy_header(handle, path, what: str, name: str):
    """(shape, dtype) from an .npy member's header, without reading its data."""
    try:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(handle, max_header_size=10_000)
    except (ValueError, SyntaxError, TypeError, EOFError) as exc:
        raise RLForgeError(f"{what} {str(path)!r}: member {name!r} is not a NumPy array ({str(exc)[:100]})") from None
    if dtype.hasobject:
        raise PickledArrayError(f"{what} {str(path)!r}: member {name!r} is an object (pickled) array; refusing it")
    return shape, dtype
