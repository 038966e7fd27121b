"""Typed configs: dataclass defaults, YAML presets, `--config` files and `--set` overrides.

A run's config is one flat namespace: the engine's RunConfig fields plus the algorithm's
config fields (their names must not collide). Layers are applied in this order, each
overriding the one before: dataclass defaults, the preset for (algo, env), `--config FILE`,
then `--set key=value`. Every value is checked against the field's type; unknown keys and
values of the wrong type are errors.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from rlforge.errors import ConfigError, RLForgeError, did_you_mean


def option(default, help: str, **kwargs):
    """A config field with a documented default (`help` is shown by `rlforge config`)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kwargs)
    return field(default=default, metadata={"help": help}, **kwargs)


RESERVED_ENV_KWARGS = {"render_mode", "max_episode_steps"}  # set by rlforge where it renders or caps episodes
MAX_ENV_KWARGS = 64


@dataclass
class RunConfig:
    """What the engine needs for every algorithm."""

    total_steps: int = option(1_000_000, "environment steps to train for (all envs together)")
    seed: int = option(1, "seed of the envs, the networks and the sampling")
    num_envs: int = option(1, "environments stepped in parallel")
    vector_mode: Literal["sync", "async", "envpool"] = option(
        "sync", "sync: envs in this process; async: one subprocess each; envpool: EnvPool's C++ envs, for the ids "
                "it supports (the envpool extra, docs/envpool.md)")
    max_episode_steps: int | None = option(None, "episode length cap (the env's own limit when null)")
    env_kwargs: dict[str, Any] = option(
        {}, "keyword arguments for the env's constructor (gymnasium.make), e.g. --set 'env_kwargs={dense_reward: true}'")
    eval_every: int = option(10_000, "environment steps between evaluations (0: only at the end)")
    eval_episodes: int = option(10, "episodes per evaluation")
    eval_deterministic: bool = option(True, "evaluate the policy's deterministic action")
    stop_at_return: float | None = option(
        None, "end the run (finished) at the first periodic evaluation whose mean return reaches this value "
              "(null: train for all of total_steps)")
    video_every: int = option(0, "environment steps between recorded evaluation episodes in videos/ and TensorBoard (0: none)")
    log_every: int = option(1_000, "environment steps between metric rows in TensorBoard and metrics.csv")
    checkpoint_every: int = option(0, "environment steps between checkpoints (0: only at the end)")
    keep_checkpoints: int = option(3, "periodic checkpoints kept (the newest ones)")
    device: Literal["cpu", "cuda", "auto"] = option("auto", "torch device; auto picks cuda when available")
    torch_threads: int = option(
        1, "torch CPU threads for the updates (0: the number of cores, at most 4); one by default: more threads "
           "wait for cores other processes hold, 3-5x slower on a shared machine (docs/performance.md#threads)")
    save_dataset_as: str = option(
        "", "for agents that keep what they collect (rnd): also publish the run's dataset under this Minari id "
            "(namespace/name-vN) in MINARI_DATASETS_PATH, replacing an earlier one of that id")
    track: list[str] = option([], "experiment trackers this run logs to (installed tracker plugins, e.g. mlflow, "
                                  "wandb; rlforge train --track NAME)")
    matmul_precision: Literal["auto", "highest", "high", "medium"] = option(
        "auto", "float32 matrix products in the agent's updates (torch.set_float32_matmul_precision); auto: "
                "what the algorithm asks for (SAC family: medium) on CPUs that keep float32 accuracy at it, else highest")

    def __post_init__(self):
        for name in ("total_steps", "num_envs", "eval_episodes", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be at least 1 (or null for the env's own limit), got {self.max_episode_steps}")
        for name in ("eval_every", "video_every", "checkpoint_every", "keep_checkpoints", "torch_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        self.track = list(dict.fromkeys(self.track))  # --track mlflow --track mlflow logs once
        reserved = sorted(RESERVED_ENV_KWARGS & set(self.env_kwargs))
        if reserved:
            how = "use the max_episode_steps key" if reserved[0] == "max_episode_steps" else "rlforge sets it where it renders"
            raise ValueError(f"env_kwargs may not set {reserved[0]!r}: {how}")
        if self.save_dataset_as:
            from rlforge.datasets.minari_files import MINARI_ID  # Minari's own id rule (no dots, no absolute paths)

            if not MINARI_ID.fullmatch(self.save_dataset_as):
                raise ValueError(f"save_dataset_as must be a Minari id such as cs285/pointmass-hard-rnd-v0 "
                                 f"(letters, digits, '_' and '-', namespaces before a '/'), got {self.save_dataset_as!r}")


@dataclass
class ResolvedConfig:
    algo: str
    env: str
    run: RunConfig
    agent: Any  # the algorithm's config dataclass instance
    sources: list[str]  # the files applied, in order

    def to_dict(self) -> dict:
        """The flat mapping written to config.yaml (readable back with `--config`)."""
        return {"algo": self.algo, "env": self.env, **dataclasses.asdict(self.run), **dataclasses.asdict(self.agent)}


# ----------------------------------------------------------------------------- files


def read_yaml(path: Path, what: str = "config file") -> dict:
    """A config file as a mapping of string keys; one-line errors for a missing, malformed,
    oversized, too deeply nested or non-mapping file (rlforge.safe_files bounds the reading)."""
    from rlforge.safe_files import load_yaml

    try:
        data = load_yaml(path, what)
    except ConfigError:
        raise
    except RLForgeError as exc:
        raise ConfigError(str(exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {str(path)!r} must hold a mapping of key: value, not a {type(data).__name__}")
    bad = [key for key in data if not isinstance(key, str)]
    if bad:
        raise ConfigError(f"{what} {str(path)!r} has a key that is not a name: {bad[0]!r}")
    return data


def parse_overrides(pairs: typing.Iterable[str]) -> dict:
    """`--set key=value` pairs as a mapping (values stay strings until coerced by type)."""
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        result[key.strip()] = value.strip()
    return result


# ----------------------------------------------------------------------------- types


def _describe(annotation) -> str:
    """What a value of `annotation` looks like, for an error that lists a union's choices."""
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(value, annotation, key: str):
    """`value` converted to `annotation`, or a ConfigError naming the key."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "~")):
            if type(None) in args:
                return None
        errors = []
        choices = [a for a in args if a is not type(None)]
        for arg in choices:
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(exc)
        if len(choices) == 1:
            raise errors[0]
        literals = [str(v) for a in choices if typing.get_origin(a) is Literal for v in typing.get_args(a)]
        hint = did_you_mean(str(value), literals) if literals else ""
        raise ConfigError(f"config key {key!r} expects {' or '.join(_describe(a) for a in choices)}, got {value!r}{hint}")
    if origin is Literal:
        if isinstance(value, str) or value in args:
            matches = [a for a in args if str(a) == str(value)]
            if matches:
                return matches[0]
        choices = ", ".join(repr(a) for a in args)
        raise ConfigError(f"config key {key!r} must be one of {choices}, got {value!r}{did_you_mean(str(value), [str(a) for a in args])}")
    if origin in (list, tuple):
        if isinstance(value, str):
            value = _yaml_scalar(value, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} expects a list, got {value!r}")
        item_type = args[0] if args else Any
        items = [_coerce(v, item_type, key) for v in value]
        return items if origin is list else tuple(items)
    if origin is dict:
        return _coerce_mapping(value, args[1] if args else Any, key)
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ConfigError(f"config key {key!r} expects true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.replace("_", ""))
                if number.is_integer():
                    return int(number)
            except ValueError:
                pass
        raise ConfigError(f"config key {key!r} expects an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(f"config key {key!r} expects a number, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"config key {key!r} expects a string, got {value!r}")
    raise ConfigError(f"config key {key!r} has a type rlforge cannot read: {annotation!r}")


def env_kwargs_of(config: dict | None) -> dict:
    """The checked env_kwargs of a stored run config (a checkpoint's or config.yaml's mapping)."""
    return _coerce_mapping((config or {}).get("env_kwargs"), Any, "env_kwargs")


def _coerce_mapping(value, value_type, key: str) -> dict:
    """A mapping of identifier keys to plain values (numbers, strings, booleans, null or lists
    of them), at most MAX_ENV_KWARGS of them; YAML text such as {dense_reward: true} is read."""
    if isinstance(value, str):
        value = _yaml_scalar(value, key) if value.strip() else {}
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"config key {key!r} expects a mapping such as {{name: value}}, got {value!r}")
    if len(value) > MAX_ENV_KWARGS:
        raise ConfigError(f"config key {key!r} has {len(value)} entries, more than {MAX_ENV_KWARGS}")
    result = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"config key {key!r}: {name!r} is not a keyword argument name")
        items = entry if isinstance(entry, list) else [entry]
        if not all(item is None or isinstance(item, (bool, int, float, str)) for item in items):
            raise ConfigError(f"config key {key!r}: {name} must be a number, string, boolean, null or a list of them, "
                              f"got {entry!r}")
        result[name] = entry if value_type is Any else _coerce(entry, value_type, f"{key}.{name}")
    return result


def _yaml_scalar(text: str, key: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"config key {key!r}: cannot read {text!r}") from None


def field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def field_help(cls) -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def check_no_collisions(agent_cls) -> None:
    shared = set(field_types(RunConfig)) & set(field_types(agent_cls))
    if shared:
        raise ConfigError(f"{agent_cls.__name__} redefines engine config keys: {', '.join(sorted(shared))}")


MAX_INTEGER = 1 << 62  # beyond any count a run could reach; larger values are typos or attacks
MAX_BATCH_SIZE = 1 << 24  # rows in one batch (16.7M)


def build(cls, values: dict, what: str):
    """An instance of dataclass `cls` from already-coerced values; cross-field checks become
    ConfigErrors, and so do values no run can use (check_values)."""
    try:
        instance = cls(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid {what} config: {exc}") from None
    check_values(instance)
    return instance


def check_values(instance) -> None:
    """Every number of a config finite and within bounds: NaN and infinities are refused for
    every key (no key means anything by them), integers beyond 2^62, batch sizes beyond 2^24."""
    for item in dataclasses.fields(instance):
        _check_value(getattr(instance, item.name), item.name)


def _check_value(value, key: str) -> None:
    if isinstance(value, dict):
        for name, entry in value.items():
            _check_value(entry, f"{key}.{name}")
    elif isinstance(value, (list, tuple)):
        for entry in value:
            _check_value(entry, key)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key {key!r} must be a finite number, got {value}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_INTEGER:
            raise ConfigError(f"config key {key!r} is {value:.3g}, beyond any usable value (at most 2^62)")
        if key.endswith("batch_size") and value > MAX_BATCH_SIZE:
            raise ConfigError(f"config key {key!r} is {value:,}, more rows than one batch may hold ({MAX_BATCH_SIZE:,})")


def coerce_layers(agent_cls, layers: list[tuple[str, dict]]) -> tuple[dict, dict]:
    """Merge (source, mapping) layers in order into (run values, agent values), checking each key."""
    run_types, agent_types = field_types(RunConfig), field_types(agent_cls)
    known = {**run_types, **agent_types}
    run_values, agent_values = {}, {}
    for source, mapping in layers:
        for key, value in mapping.items():
            if key not in known:
                raise ConfigError(f"unknown config key {key!r} in {source}{did_you_mean(key, known)}")
            target = run_values if key in run_types else agent_values
            target[key] = _coerce(value, known[key], key)
    return run_values, agent_values


# ----------------------------------------------------------------------------- resolve


def resolve(spec, env_id: str, config_file: dict | None, overrides: dict, config_path: str | None = None,
            shortcuts: dict | None = None) -> ResolvedConfig:
    """The run's config: defaults <- preset for (algo, env) <- config file <- overrides (--set)
    <- shortcuts (--steps, --seed, ...). Every layer's values are checked, also those a later
    layer replaces."""
    from rlforge.presets import find_preset

    agent_cls = spec.config_class()
    check_no_collisions(agent_cls)
    layers, sources = [], []
    preset = find_preset(spec, env_id)
    if preset is not None:
        layers.append((f"preset {preset}", _without_names(read_yaml(preset))))
        sources.append(str(preset))
    if config_file is not None:
        layers.append((f"config file {config_path}", _without_names(config_file)))
        sources.append(str(config_path))
    layers.append(("--set", overrides))
    if shortcuts:
        layers.append(("the command line's options", shortcuts))
    run_values, agent_values = coerce_layers(agent_cls, layers)
    run = build(RunConfig, run_values, "run")
    agent = build(agent_cls, agent_values, spec.name)
    return ResolvedConfig(spec.name, env_id, run, agent, sources)


def _without_names(mapping: dict) -> dict:
    """A config file's settings without its `algo` and `env` entries (they pick, not configure)."""
    return {k: v for k, v in mapping.items() if k not in ("algo", "env")}
