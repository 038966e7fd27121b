"""rlforge: a plugin-based reinforcement-learning toolkit.

Importing this package is cheap: it must not import torch or gymnasium, so that
`rlforge --help` and `rlforge list` stay fast.
"""

from importlib.metadata import PackageNotFoundError, version

from rlforge.hookspecs import hookimpl

try:
    __version__ = version("rlforge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "hookimpl"]
