"""The runs under some folders, their metrics and the setting each belongs to.

A setting is what tells runs apart apart from their seed: the algorithm, the env and the
config keys whose values differ between the runs given. Runs of one setting are its seeds.
Works on any run directories, made by a sweep or not.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rlforge.errors import RLForgeError
from rlforge.sweeps.spec import format_value

# Keys that change how a run is carried out, not what it learns: never part of a setting.
NOT_SETTINGS = {"seed", "torch_threads", "device", "checkpoint_every", "keep_checkpoints", "video_every"}


@dataclass
class RunData:
    path: Path
    config: dict
    seed: int
    status: str
    points: dict = field(default_factory=dict)  # tag -> [(step, wall_time, value)]

    def series(self, tag: str, x: str = "steps") -> tuple[list[float], list[float]]:
        """(x, values) of one tag; x is env steps, or seconds since the run's first row."""
        rows = self.points.get(tag, [])
        if x == "time":
            start = self.start_time
            return [w - start for _, w, _ in rows], [v for _, _, v in rows]
        return [float(s) for s, _, _ in rows], [v for _, _, v in rows]

    @property
    def start_time(self) -> float:
        return min((w for rows in self.points.values() for _, w, _ in rows), default=0.0)


def find_run_dirs(paths) -> list[Path]:
    """Run directories (with meta.json and config.yaml) given or under the paths given."""
    found = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise RLForgeError(f"{str(path)!r} does not exist")
        if (path / "meta.json").is_file():
            found.append(path)
            continue
        found += sorted(m.parent for m in path.rglob("meta.json") if (m.parent / "config.yaml").is_file())
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise RLForgeError(f"no run directories under {', '.join(map(str, paths))}")
    return unique


def load_runs(paths, tags: set[str] | None = None) -> list[RunData]:
    from rlforge.sweeps.state import trial_status

    runs = []
    for path in find_run_dirs(paths):
        config = yaml.safe_load((path / "config.yaml").read_text()) or {}
        data = RunData(path, config, config.get("seed", 0), trial_status(path))
        data.points = read_metrics(path / "metrics.csv", tags)
        runs.append(data)
    return runs


def read_metrics(csv_path: Path, tags: set[str] | None = None) -> dict:
    """tag -> [(step, wall_time, value)] in file order; rows cut short by a kill are skipped."""
    points = defaultdict(list)
    try:
        handle = open(csv_path, newline="")
    except OSError:
        return {}
    with handle:
        for row in csv.DictReader(handle):
            if tags is not None and row.get("tag") not in tags:
                continue
            try:
                points[row["tag"]].append((int(row["step"]), float(row["wall_time"]), float(row["value"])))
            except (TypeError, ValueError, KeyError):
                continue
    return dict(points)


def run_config_defaults() -> dict:
    """The engine's keys with their defaults: a run made before a key existed ran with it."""
    import dataclasses

    from rlforge.config import RunConfig

    return dataclasses.asdict(RunConfig())


def group_by_setting(runs: list[RunData]) -> dict[str, list[RunData]]:
    """label -> the runs (seeds) of that setting, in first-seen order. An engine key missing from
    an older run's config counts as its default, so upgrading rlforge does not split a setting.
    The label names the algorithm and env where they differ, and the keys that differ between
    runs of one algorithm: keys that differ only because two algorithms have different settings
    (TD3's policy_noise, CrossQ's adam_beta1, ...) are said by the algorithm's name."""
    keys = [k for k in dict.fromkeys(["algo", "env", *(k for r in runs for k in r.config)]) if k not in NOT_SETTINGS]
    defaults = run_config_defaults()

    def value(run: RunData, key: str):
        return run.config[key] if key in run.config else defaults.get(key)

    def differs(some: list[RunData], key: str) -> bool:
        return len({json.dumps(value(r, key), sort_keys=True) for r in some}) > 1

    by_algo: dict = {}
    for run in runs:
        by_algo.setdefault(value(run, "algo"), []).append(run)
    varying = [k for k in keys if differs(runs, k) and (
        k in ("algo", "env") or any(differs(same_algo, k) for same_algo in by_algo.values()))]
    groups: dict[str, list[RunData]] = {}
    for run in runs:
        parts = [format_value(value(run, k)) if k in ("algo", "env") else f"{k}={format_value(value(run, k))}"
                 for k in varying]
        name = ",".join(parts) or f"{run.config.get('algo')} {run.config.get('env')}"
        groups.setdefault(name, []).append(run)
    return groups
