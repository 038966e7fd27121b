"""The sweep file and the trials it expands to.

A sweep file is YAML (read with yaml.safe_load):

    name: cartpole-rtg-na            # optional; the sweep folder's name (default: the file's stem)
    algo: pg                         # or taken from `config`
    envs: [CartPole-v0]              # or `env: CartPole-v0`, or taken from `config`
    config: experiments/pg/cartpole  # optional base config, as `rlforge train --config`
    set: {total_steps: 100000}       # fixed overrides for every trial, as --set
    variants:                        # optional named settings (each a mapping of config values)
      small_batch: {batch_size: 1000, total_steps: 100000}
      large_batch: {batch_size: 4000, total_steps: 400000}
    grid:                            # every combination of these values
      reward_to_go: [false, true]
      normalize_advantages: [false, true]
    samples:                         # and/or random settings drawn from distributions
      count: 4
      seed: 0
      space: {lr: {loguniform: [1.0e-4, 1.0e-2]}, batch_size: {choice: [1000, 2000]}}
    seeds: [1, 2, 3]                 # or "1-5"

Trials are envs x settings x seeds, where settings are every variant combined with every
grid combination and every random sample (any of the three may be left out). Each trial is an ordinary
run directory SWEEP_DIR/<env>/<setting>/s<seed>, so `rlforge train --resume`, `rlforge runs`
and TensorBoard work on it as on any run.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rlforge.config import read_yaml
from rlforge.errors import ConfigError

TOP_KEYS = {"name", "algo", "env", "envs", "config", "set", "variants", "grid", "samples", "seeds", "description"}
SAMPLE_KEYS = {"count", "seed", "space"}
MAX_LABEL_BYTES = 120  # a trial folder's setting part (file systems allow 255 bytes per name)
SWEEP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MAX_SAMPLES = 10_000
DISTRIBUTIONS = {"uniform", "loguniform", "int", "choice"}


@dataclass(frozen=True, eq=False)  # hashed by identity: a trial is one entry of its sweep
class Trial:
    env: str
    label: str  # the setting, readable: "reward_to_go=true,normalize_advantages=false"
    params: dict  # the setting's config values (grid and samples, not `set`)
    seed: int

    @property
    def relpath(self) -> str:
        return f"{_safe(self.env)}/{self.label}/s{self.seed}"

    @property
    def name(self) -> str:
        return f"{self.env} {self.label} s{self.seed}"


@dataclass
class SweepSpec:
    name: str
    algo: str | None
    envs: list[str]
    config: str | None
    fixed: dict
    grid: dict
    samples: dict
    variants: dict
    seeds: list[int]
    source: str
    settings: list[tuple[str, dict]] = field(default_factory=list)

    def trials(self) -> list[Trial]:
        return [Trial(env, label, params, seed)
                for env in self.envs for label, params in self.settings for seed in self.seeds]

    def definition(self) -> dict:
        """What makes two sweep files the same sweep (saved in the sweep folder to check resumes)."""
        return {"algo": self.algo, "envs": self.envs, "config": self.config, "set": self.fixed,
                "variants": self.variants, "grid": self.grid, "samples": self.samples}


def load(path: str | Path) -> SweepSpec:
    """Read and check a sweep file (its shape; config keys are checked against the algorithm later)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} does not exist")
    data = read_yaml(path)
    where = f"sweep file {str(path)!r}"
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in {where}; a sweep file may have: {', '.join(sorted(TOP_KEYS))}")
    if "env" in data and "envs" in data:
        raise ConfigError(f"{where} has both 'env' and 'envs'; use one")
    envs = data.get("envs", [data["env"]] if "env" in data else [])
    if isinstance(envs, str):
        envs = [envs]
    if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
        raise ConfigError(f"'envs' in {where} must be a list of env ids")
    fixed = _mapping(data.get("set"), "set", where)
    grid = _mapping(data.get("grid"), "grid", where)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid key {key!r} in {where} must have a non-empty list of values, got {values!r}")
    samples = _mapping(data.get("samples"), "samples", where)
    variants = _mapping(data.get("variants"), "variants", where)
    for name, values in variants.items():
        if not isinstance(values, dict) or not values:
            raise ConfigError(f"variant {name!r} in {where} must be a non-empty mapping of config values")
    name = str(data.get("name") or path.stem)
    if not SWEEP_NAME.fullmatch(name):
        raise ConfigError(f"sweep name {name!r} in {where} must be a plain folder name (letters, digits, '_', '.', "
                          "'-'; not starting with '.'), so that the sweep stays inside its folder")
    spec = SweepSpec(name=name, algo=data.get("algo"), envs=envs,
                     config=data.get("config"), fixed=fixed, grid=grid, samples=samples, variants=variants,
                     seeds=parse_seed_list(data.get("seeds", [1]), where), source=str(path))
    swept = [set(grid), set(samples.get("space") or {}), *(set(v) for v in variants.values())]
    clash = set().union(*swept) & ({"seed"} | set(fixed))
    clash |= (set(grid) & set(samples.get("space") or {})) | ((set(grid) | set(samples.get("space") or {}))
                                                             & set().union(*swept[2:]))
    if clash:
        raise ConfigError(f"{where} sets {sorted(clash)[0]!r} in two places (set, seed, variants, grid, samples)")
    spec.settings = _settings(variants, grid, _draw_samples(samples, where))
    return spec


def parse_seed_list(value, where: str) -> list[int]:
    from rlforge.config import MAX_INTEGER
    from rlforge.multiseed import MAX_SEEDS, parse_seeds

    if isinstance(value, bool):
        raise ConfigError(f"'seeds' in {where} must be a list of integers or a range like \"1-5\"")
    if isinstance(value, int):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        seeds = list(dict.fromkeys(value))
        if len(seeds) > MAX_SEEDS or any(abs(s) > MAX_INTEGER for s in seeds):
            raise ConfigError(f"'seeds' in {where} must be at most {MAX_SEEDS:,} seeds, each at most 2^62")
        return seeds
    if isinstance(value, str):
        return parse_seeds(value)
    raise ConfigError(f"'seeds' in {where} must be a list of integers or a range like \"1-5\", got {value!r}")


def _mapping(value, key: str, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' in {where} must be a mapping, got {type(value).__name__}")
    return value


def _draw_samples(samples: dict, where: str) -> list[dict]:
    """The random settings, drawn from a generator seeded by the file (the same on every resume)."""
    if not samples:
        return []
    import numpy as np

    unknown = sorted(set(samples) - SAMPLE_KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} under 'samples' in {where}; expected: count, seed, space")
    count, space, seed = samples.get("count"), samples.get("space"), samples.get("seed", 0)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SAMPLES:
        raise ConfigError(f"'samples.count' in {where} must be an integer from 1 to {MAX_SAMPLES:,}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"'samples.seed' in {where} must be a whole number >= 0, got {seed!r}")
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"'samples.space' in {where} must map config keys to distributions")
    for key, dist in space.items():
        check_distribution(key, dist, where)
    rng = np.random.default_rng(seed)
    return [{key: sample_value(dist, rng) for key, dist in space.items()} for _ in range(count)]


def check_distribution(key: str, dist, where: str) -> None:
    """A distribution is {uniform: [low, high]}, {loguniform: [low, high]}, {int: [low, high]} or {choice: [...]}."""
    if not isinstance(dist, dict) or len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
        raise ConfigError(f"distribution of {key!r} in {where} must be one of "
                          f"{{uniform|loguniform|int: [low, high]}} or {{choice: [values]}}, got {dist!r}")
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise ConfigError(f"{key!r}: choice in {where} needs a non-empty list")
        return
    ok = isinstance(args, list) and len(args) == 2 and all(
        isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) for a in args)
    if not ok or args[0] >= args[1] or (kind == "loguniform" and args[0] <= 0):
        raise ConfigError(f"{key!r}: {kind} in {where} needs [low, high], finite numbers with low < high"
                          + (" and low > 0" if kind == "loguniform" else ""))


def sample_value(dist: dict, rng):
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "int":
        return int(rng.integers(int(args[0]), int(args[1]) + 1))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
    return float(rng.uniform(args[0], args[1]))


def _settings(variants: dict, grid: dict, samples: list[dict]) -> list[tuple[str, dict]]:
    """(label, params) of every setting: variants x grid points x samples."""
    named = [(str(name), dict(values)) for name, values in variants.items()] or [("", {})]
    points = [dict(zip(grid, values)) for values in itertools.product(*grid.values())] if grid else [{}]
    drawn = [(f"sample{i}", sample) for i, sample in enumerate(samples, 1)] or [("", {})]
    settings = []
    for (variant, base), point, (sample_name, sample) in itertools.product(named, points, drawn):
        parts = [_safe(variant), sample_name, label(point), label(sample)]
        settings.append((",".join(p for p in parts if p) or "default", {**base, **point, **sample}))
    return _distinct_labels(settings)


def _distinct_labels(settings: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Settings whose labels print alike (0.00012345 and 0.00012346 both read 0.0001234) get a
    short digest of their values appended, so distinct settings never share a trial folder; a
    label too long for a folder name is cut, and gets the digest too."""
    import hashlib

    counts = Counter(name for name, _ in settings)
    distinct = []
    for name, params in settings:
        if counts[name] > 1 or len(name.encode()) > MAX_LABEL_BYTES:
            digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
            name = f"{name.encode()[:MAX_LABEL_BYTES - 10].decode(errors='ignore')},#{digest}"
        distinct.append((name, params))
    return distinct


def label(params: dict) -> str:
    return ",".join(f"{key}={format_value(value)}" for key, value in params.items())


def format_value(value) -> str:
    """A value as it reads in a folder name: true, 0.001, 64x64, null."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "x".join(format_value(v) for v in value)
    return _safe(str(value))


def override_text(value) -> str:
    """A value as `--set key=VALUE` reads it back (JSON is YAML, which the config reader parses)."""
    return value if isinstance(value, str) else json.dumps(value)


def _safe(text: str) -> str:
    """Text usable as one folder name: no separators, and never "", "." or ".." (or hidden)."""
    text = text.replace("/", "_").replace("\\", "_").replace(" ", "_").replace("\0", "_")
    return f"_{text}" if text.startswith(".") else text
