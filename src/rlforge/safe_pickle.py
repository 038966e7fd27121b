"""Reading CS285 pickles (expert policies and expert data) without executing anything.

A pickle can name any importable callable and call it while loading; `SafeUnpickler` allows
only the globals NumPy needs to rebuild arrays, dtypes and scalars, and refuses every other
one before it is imported. Dicts, lists, tuples, strings, bytes and numbers need no globals.
The loaded value is then walked: anything but those types and non-object NumPy arrays is
refused too.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError

ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),  # ndarray, protocol <= 4
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # ndarray, protocol 5
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),  # NumPy scalars
    ("numpy", "ndarray"), ("numpy", "dtype"),
    # Protocol-2 pickles written by Python 3 spell bytes (an array's raw data) as
    # _codecs.encode(text, "latin1"): a pure conversion, nothing is run.
    ("_codecs", "encode"),
    # ... and an empty bytes object (an empty array's data) as bytes(): nothing is run either.
    ("__builtin__", "bytes"), ("builtins", "bytes"),
})


class UnsafePickleError(RLForgeError):
    """A pickle that names a global outside ALLOWED_GLOBALS, or holds a disallowed value."""


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(f"refusing global '{module}.{name}'")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing a persistent id")


_PLAIN = (str, bytes, int, float, bool, type(None), np.generic)


def _check(value, where: str) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise UnsafePickleError(f"refusing an object array at {where}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, _PLAIN):
                raise UnsafePickleError(f"refusing a {type(key).__name__} key at {where}")
            _check(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]")
    elif not isinstance(value, _PLAIN):
        raise UnsafePickleError(f"refusing a {type(value).__name__} at {where}")


def safe_load(path) -> object:
    """The pickle at `path`, loaded with SafeUnpickler; a one-line RLForgeError otherwise."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RLForgeError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        value = SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
        _check(value, "top level")
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc} (only dicts, lists, strings, numbers and NumPy arrays are "
                                "loaded from a pickle)") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as exc:
        raise RLForgeError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from None
    return value
