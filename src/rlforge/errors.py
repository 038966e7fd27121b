"""Errors that the CLI turns into a one-line message and exit status 2."""

import difflib


class RLForgeError(Exception):
    """A problem with the user's input: reported in one line, never with a traceback."""

    exit_code = 2


class ConfigError(RLForgeError):
    """An unknown config key, a value of the wrong type, or a malformed config file."""


class StoppedAtOnce(RLForgeError):
    """A second stop signal while a run was stopping: it ends without its stop checkpoint."""

    exit_code = 130


class PluginError(RLForgeError):
    """A plugin failed to load or to register, or two plugins conflict."""


def did_you_mean(name: str, choices) -> str:
    """A ' (did you mean ...?)' suffix naming the closest choices, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
