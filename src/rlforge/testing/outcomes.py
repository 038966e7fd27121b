"""How a conformance check ends early, and how an exception becomes a one-line reason that
points at the plugin's own code (not at rlforge's or a library's)."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import rlforge

CORE_DIR = str(Path(rlforge.__file__).resolve().parent)
LIBRARY_MARKERS = (os.sep + "torch" + os.sep, os.sep + "numpy" + os.sep, os.sep + "gymnasium" + os.sep,
                   os.sep + "importlib" + os.sep, os.sep + "pluggy" + os.sep, os.sep + "rlforge" + os.sep + "testing")


class CheckFailed(Exception):
    """Raised inside a check: the check failed with this one-line reason."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(reason)
        self.reason, self.details = reason, details


class CheckSkipped(Exception):
    """Raised inside a check: it does not apply (the message says why)."""


def short_path(path: str) -> str:
    """`path` relative to the working folder where it is inside it, else its last three parts."""
    try:
        relative = os.path.relpath(path)
        if not relative.startswith(".." + os.sep):
            return relative
    except ValueError:
        pass
    return os.sep.join(Path(path).parts[-3:])


def is_library(filename: str) -> bool:
    """Whether a traceback frame's file is rlforge's, the standard library's or a known library's."""
    stdlib = os.path.dirname(os.__file__)
    return (filename.startswith("<") or filename.startswith(stdlib + os.sep) and "site-packages" not in filename
            or any(marker in filename for marker in LIBRARY_MARKERS) or filename.startswith(CORE_DIR + os.sep))


def blame(frames: list[tuple[str, int, str]]) -> str:
    """'plugin/file.py:12 in fn' for the innermost frame outside rlforge and the libraries."""
    if not frames:
        return ""
    outside = [f for f in frames if not is_library(f[0])]
    filename, lineno, name = (outside or frames)[-1]
    return f"{short_path(filename)}:{lineno} in {name}"


def describe(exc: BaseException) -> str:
    """One line: the exception, and where in the plugin's code it came from."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    where = blame(frames)
    return f"{message} (at {where})" if where else message
