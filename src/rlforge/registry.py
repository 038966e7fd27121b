"""Algorithm and environment specs, gathered from the `register_*` hooks.

Specs name their code by import strings ("package.module:attr"), so building the registry
imports no torch and no gymnasium; `load()` imports the object only when it is needed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from rlforge.errors import PluginError, RLForgeError, did_you_mean

ACTION_SPACE_KINDS = ("box", "discrete")


def load(import_string: str) -> Any:
    """Import "package.module:attr" and return the attribute."""
    module_name, _, attr = import_string.partition(":")
    obj = importlib.import_module(module_name)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def _accepts_keyword(factory, name: str) -> bool:
    import inspect

    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return False
    # Only a parameter by that name counts: a **kwargs factory often forwards to a parent that
    # does not take it.
    return any(p.name == name for p in parameters)


@dataclass
class AlgorithmSpec:
    """What a plugin tells the core about one algorithm."""

    name: str
    summary: str
    action_spaces: tuple[str, ...]
    config: str  # import string of the config dataclass
    agent: str  # import string of the Agent class (or any callable building one)
    presets: str | None = None  # "package:folder" holding <env>.yaml presets, if any
    plugin: str = ""  # distribution name, filled in by the plugin manager
    version: str = ""  # distribution version, filled in by the plugin manager

    def __post_init__(self):
        self.action_spaces = tuple(self.action_spaces)
        unknown = [k for k in self.action_spaces if k not in ACTION_SPACE_KINDS]
        if unknown:
            raise PluginError(
                f"algorithm {self.name!r} claims unknown action space kinds {unknown}; "
                f"known kinds: {', '.join(ACTION_SPACE_KINDS)}"
            )

    def config_class(self):
        return load(self.config)

    def agent_factory(self):
        return load(self.agent)

    def build_agent(self, config, observation_space, action_space, num_envs: int = 1, device: str = "cpu",
                    env_id: str | None = None):
        """The agent for this algorithm. `env_id` is passed only to factories that take it (model-
        based agents look up the env's known reward function), so older plugins keep working."""
        factory = self.agent_factory()
        kwargs = {"num_envs": num_envs, "device": device}
        if env_id is not None and _accepts_keyword(factory, "env_id"):
            kwargs["env_id"] = env_id
        return factory(config, observation_space, action_space, **kwargs)


@dataclass
class EnvSpec:
    """An environment id added by a plugin, with what model-based planners may use."""

    id: str
    factory: str  # import string of a callable returning a gymnasium.Env
    summary: str = ""
    reward_fn: str | None = None  # (obs, action, next_obs) -> reward, batched
    termination_fn: str | None = None  # (obs, action, next_obs) -> bool, batched
    wrappers: list[str] = field(default_factory=list)  # import strings, applied in order
    max_episode_steps: int | None = None
    plugin: str = ""
    version: str = ""


@dataclass
class TrackerSpec:
    """An experiment tracker a plugin adds; a run uses it when its `track` key names it."""

    name: str
    summary: str = ""
    plugin: str = ""
    version: str = ""


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, for `rlforge plugins`."""

    name: str  # entry point name
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    status: str = "loaded"  # "loaded" or "failed"
    error: str = ""


def _add_unique(table: dict, key: str, spec, kind: str) -> None:
    """Add `spec` under `key`; two plugins claiming one name is a conflict naming both."""
    existing = table.get(key)
    if existing is not None:
        raise PluginError(f"{kind} {key!r} is registered by both {existing.plugin!r} and {spec.plugin!r}; "
                          "disable one with RLFORGE_LOAD_PLUGINS")
    table[key] = spec


class Registry:
    """Everything the installed plugins registered."""

    def __init__(self):
        self.algorithms: dict[str, AlgorithmSpec] = {}
        self.envs: dict[str, EnvSpec] = {}
        self.trackers: dict[str, TrackerSpec] = {}
        self.plugins: list[PluginInfo] = []

    def add_algorithm(self, spec: AlgorithmSpec) -> None:
        _add_unique(self.algorithms, spec.name, spec, "algorithm")

    def add_env(self, spec: EnvSpec) -> None:
        _add_unique(self.envs, spec.id, spec, "env")

    def add_tracker(self, spec: TrackerSpec) -> None:
        _add_unique(self.trackers, spec.name, spec, "tracker")

    def check_trackers(self, names) -> None:
        """Raise a one-line error for a name no installed tracker plugin registered."""
        for name in names:
            if name not in self.trackers:
                known = ", ".join(sorted(self.trackers)) or "none installed"
                raise RLForgeError(f"unknown tracker {name!r}{did_you_mean(name, self.trackers)}; installed: {known} "
                                   "(the bundled ones: plugins/rlforge-mlflow, plugins/rlforge-wandb)")

    def algorithm(self, name: str) -> AlgorithmSpec:
        try:
            return self.algorithms[name]
        except KeyError:
            known = ", ".join(sorted(self.algorithms)) or "none installed"
            raise RLForgeError(
                f"unknown algorithm {name!r}{did_you_mean(name, self.algorithms)}; "
                f"installed: {known}"
            ) from None

    def env_ids(self) -> list[str]:
        """Plugin env ids plus every Gymnasium id (imports gymnasium)."""
        from rlforge.envs import gymnasium_env_ids

        return sorted(set(self.envs) | set(gymnasium_env_ids()))

    def check_env(self, env_id: str) -> None:
        """Raise a one-line error if `env_id` is neither a plugin env nor a Gymnasium id."""
        if env_id in self.envs:
            return
        ids = self.env_ids()
        if env_id not in ids:
            raise RLForgeError(
                f"unknown env {env_id!r}{did_you_mean(env_id, ids)}; "
                "see 'rlforge list envs'"
            )
