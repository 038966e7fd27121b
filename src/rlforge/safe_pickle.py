"""Reading CS285 pickles (expert policies and expert data) without executing anything.

A pickle can name any importable callable and call it while loading; `SafeUnpickler` allows
only the few globals NumPy needs to rebuild arrays, dtypes and scalars, each behind a guard
that refuses arguments making it allocate more than the file holds, and refuses every other
global before it is imported. Dicts, lists, tuples, strings, bytes and numbers need no globals.
The loaded value is then walked once: anything but those types and non-object NumPy arrays is
refused, and so are cycles, nesting deeper than MAX_DEPTH and shared references that would
expand (when a caller copies them out) beyond MAX_EXPANDED_VALUES values or the machine's memory.
"""

from __future__ import annotations

import _codecs
import io
import pickle
from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError

PICKLE_LIMIT = 1 << 30  # bytes; CS285's expert data files are a few MB
MAX_DEPTH = 64
MAX_EXPANDED_VALUES = 10_000_000

try:  # NumPy 2 moved its internals to numpy._core; pickles name either module
    from numpy._core.multiarray import _reconstruct, scalar
    from numpy._core.numeric import _frombuffer
except ImportError:  # pragma: no cover - NumPy 1
    from numpy.core.multiarray import _reconstruct, scalar
    from numpy.core.numeric import _frombuffer


class UnsafePickleError(RLForgeError):
    """A pickle that names a global outside the allowed ones, or holds a disallowed value."""


class _NDArrayType:
    """Stands for `numpy.ndarray` inside a pickle: only `_reconstruct` may use it (calling
    ndarray itself would allocate any shape the file asks for)."""


_NDARRAY = _NDArrayType()


def _reconstruct_empty(subtype, shape, dtype):
    # NumPy pickles an array as an empty one, then its real shape and bytes (checked against
    # each other by ndarray.__setstate__).
    if subtype is not _NDARRAY or not isinstance(shape, tuple) or int(np.prod(shape, dtype=np.float64)) > 1:
        raise UnsafePickleError("refusing an array reconstruction other than NumPy's own (an empty array)")
    return _reconstruct(np.ndarray, shape, dtype)


def _latin1_bytes(text, encoding):
    # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(text, "latin1").
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refusing _codecs.encode with {type(text).__name__} and {encoding!r}")
    return _codecs.encode(text, encoding)


def _empty_bytes(*args):
    # ... and an empty array's data as bytes(); bytes(N) would allocate N bytes.
    if args:
        raise UnsafePickleError("refusing bytes() with arguments")
    return b""


ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_empty,  # ndarray, protocol <= 4
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_empty,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,  # ndarray, protocol 5: shape must match the bytes
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy.core.multiarray", "scalar"): scalar,  # NumPy scalars
    ("numpy._core.multiarray", "scalar"): scalar,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,
    ("__builtin__", "bytes"): _empty_bytes, ("builtins", "bytes"): _empty_bytes,
}


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafePickleError(f"refusing global '{module}.{name}'")
        return allowed

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing a persistent id")


_PLAIN = (str, bytes, int, float, bool, type(None), np.generic)


def _check(root) -> None:
    """Types, depth, cycles and expanded size of a loaded value, each object measured once."""
    from rlforge.resources import check_fits

    expanded: dict[int, tuple[int, float]] = {}  # id -> (values, array bytes) once expanded
    on_path: set[int] = set()

    def measure(value, where: str, depth: int) -> tuple[int, float]:
        if depth > MAX_DEPTH:
            raise UnsafePickleError(f"refusing nesting deeper than {MAX_DEPTH} levels at {where}")
        if isinstance(value, _PLAIN):
            return 1, 0.0
        known = expanded.get(id(value))
        if known is not None:
            return known
        if id(value) in on_path:
            raise UnsafePickleError(f"refusing a value that contains itself at {where}")
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise UnsafePickleError(f"refusing an object array at {where}")
            # an element of a zero-size dtype still becomes at least a byte when converted
            size = (1, float(value.size) * max(value.dtype.itemsize, 1))
        elif isinstance(value, dict):
            items = [(f"{where}[{key!r}]", key, item) for key, item in value.items()]
            size = _sum_children(measure, items, depth, on_path, value)
        elif isinstance(value, (list, tuple)):
            size = _sum_children(measure, [(f"{where}[{i}]", None, item) for i, item in enumerate(value)],
                                 depth, on_path, value)
        else:
            raise UnsafePickleError(f"refusing a {type(value).__name__} at {where}")
        if size[0] > MAX_EXPANDED_VALUES:
            raise UnsafePickleError(f"refusing a value that expands to more than {MAX_EXPANDED_VALUES:,} values "
                                    f"(shared references repeated?) at {where}")
        check_fits(size[1], f"the arrays at {where} (counting each reference)", share=0.5)
        expanded[id(value)] = size
        return size

    measure(root, "top level", 0)


def _sum_children(measure, items, depth: int, on_path: set, parent) -> tuple[int, float]:
    on_path.add(id(parent))
    values, nbytes = 1, 0.0
    for where, key, item in items:
        if key is not None and not isinstance(key, _PLAIN):
            raise UnsafePickleError(f"refusing a {type(key).__name__} key at {where}")
        child_values, child_bytes = measure(item, where, depth + 1)
        values, nbytes = values + child_values, nbytes + child_bytes
        if values > MAX_EXPANDED_VALUES:
            break
    on_path.discard(id(parent))
    return values, nbytes


def safe_load(path) -> object:
    """The pickle at `path`, loaded with SafeUnpickler; a one-line RLForgeError otherwise."""
    from rlforge.safe_files import read_limited

    data = read_limited(path, "pickle", PICKLE_LIMIT)
    try:
        value = SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
        _check(value)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc} (only dicts, lists, strings, numbers and NumPy arrays are "
                                "loaded from a pickle)") from None
    except RLForgeError as exc:  # check_fits: the arrays would not fit in memory
        raise RLForgeError(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError,
            KeyError, OverflowError, MemoryError, RecursionError, UnicodeError) as exc:
        raise RLForgeError(f"{path}: not a readable pickle ({type(exc).__name__}: {str(exc)[:160]})") from None
    return value
