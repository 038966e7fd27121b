"""Hyperparameter search with Optuna: Optuna proposes settings (its sampler), each trial is an
ordinary `rlforge train` run on a sweep backend, and the trial's evaluation returns, read from
its metrics.csv as training goes, are reported to Optuna so that its pruner can stop a poor
trial early (the run is stopped as Ctrl-C would stop it: checkpoint, status "stopped").

A tune file is a sweep file with `search:` (distributions, as a sweep's samples.space) in
place of `grid`/`samples`/`seeds`, and one `seed`:

    algo: pg
    env: CartPole-v1
    set: {total_steps: 50000, eval_every: 5000}
    search:
      lr: {loguniform: [1.0e-4, 1.0e-2]}
      batch_size: {choice: [500, 1000, 2000]}
    seed: 1
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from rlforge.config import read_yaml
from rlforge.console import console, out
from rlforge.errors import ConfigError, RLForgeError
from rlforge.sweeps import spec as specmod
from rlforge.sweeps import state
from rlforge.sweeps.results import read_metrics

TUNE_KEYS = {"name", "algo", "env", "config", "set", "search", "seed", "description"}
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband", "halving", "none")


@dataclass
class TuneSpec:
    name: str
    algo: str | None
    env: str | None
    config: str | None
    fixed: dict
    search: dict
    seed: int
    source: str


def load(path: str | Path) -> TuneSpec:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"tune file {str(path)!r} does not exist")
    data, where = read_yaml(path), f"tune file {str(path)!r}"
    unknown = sorted(set(data) - TUNE_KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in {where}; a tune file may have: {', '.join(sorted(TUNE_KEYS))}")
    search = data.get("search")
    if not isinstance(search, dict) or not search:
        raise ConfigError(f"{where} needs 'search:', mapping config keys to distributions")
    for key, dist in search.items():
        specmod.check_distribution(key, dist, where)
    fixed = data.get("set") or {}
    if not isinstance(fixed, dict):
        raise ConfigError(f"'set' in {where} must be a mapping")
    if set(search) & (set(fixed) | {"seed"}):
        raise ConfigError(f"{where} sets {sorted(set(search) & (set(fixed) | {'seed'}))[0]!r} both as fixed and searched")
    seed = data.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"'seed' in {where} must be an integer")
    return TuneSpec(str(data.get("name") or path.stem), data.get("algo"), data.get("env"), data.get("config"),
                    fixed, search, seed, str(path))


def make_sampler(name: str, seed: int):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise RLForgeError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")


def make_pruner(name: str, warmup_steps: int, startup_trials: int, total_steps: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_steps)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, warmup_steps), max_resource=total_steps)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, warmup_steps))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise RLForgeError(f"unknown pruner {name!r}; choose one of: {', '.join(PRUNERS)}")


def suggest(trial, key: str, dist: dict):
    kind, args = next(iter(dist.items()))
    if kind == "choice":
        # Optuna's categorical choices must be plain scalars: lists are chosen by index
        index = trial.suggest_categorical(key, list(range(len(args)))) if any(
            isinstance(a, (list, dict)) for a in args) else None
        return args[index] if index is not None else trial.suggest_categorical(key, args)
    if kind == "int":
        return trial.suggest_int(key, int(args[0]), int(args[1]))
    return trial.suggest_float(key, float(args[0]), float(args[1]), log=kind == "loguniform")


@dataclass
class Running:
    trial: object
    handle: object
    run_dir: Path
    params: dict
    reported: int = -1  # the last step reported to Optuna
    pruned: bool = False
    values: list = field(default_factory=list)


def prepare(tune: TuneSpec, folder: Path):
    """(algo, env, base config values, total steps), checked against the algorithm; creates nothing."""
    import numpy as np

    from rlforge.config import read_yaml as read
    from rlforge.presets import find_config_file
    from rlforge.training import prepare as prepare_run

    base = read(find_config_file(tune.config)) if tune.config else None
    algo, env = tune.algo or (base or {}).get("algo"), tune.env or (base or {}).get("env")
    if not algo or not env:
        raise ConfigError(f"tune file {tune.source!r} must name 'algo' and 'env' (or a 'config' that does)")
    if base is not None:
        base = {k: v for k, v in base.items() if k not in ("algo", "env")}
    rng = np.random.default_rng(0)
    example = {k: specmod.sample_value(d, rng) for k, d in tune.search.items()}  # checks keys and types
    pairs = [f"{k}={specmod.override_text(v)}" for k, v in {**tune.fixed, **example}.items()]
    _, resolved, _ = prepare_run(algo, env, None, pairs, {}, (base, tune.config) if base is not None else None)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RLForgeError(f"{str(folder)!r} already exists and is not empty; pass --out to choose another folder")
    return str(algo), str(env), base, resolved.run.total_steps


def run(tune: TuneSpec, folder: Path, backend, trials: int, sampler: str, pruner: str, metric: str,
        warmup_steps: int, startup_trials: int, threads: int | None) -> int:
    import optuna
    import yaml

    algo, env, base, total_steps = prepare(tune, folder)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler, tune.seed),
                                pruner=make_pruner(pruner, warmup_steps, startup_trials, total_steps),
                                study_name=tune.name)
    folder.mkdir(parents=True, exist_ok=True)
    if base is not None:
        (folder / "base_config.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    console.print(f"tune [bold]{tune.name}[/]: {trials} trials of {algo} on {env}, sampler {sampler}, pruner {pruner} "
                  f"on {metric}; {backend.slots} at a time, into {folder}/")
    running: list[Running] = []
    asked, records, stopping = 0, [], False
    try:
        while (asked < trials and not stopping) or running:
            try:
                while asked < trials and len(running) < backend.slots and not stopping:
                    trial = study.ask()
                    params = {k: suggest(trial, k, d) for k, d in tune.search.items()}
                    run_dir = (folder / f"trial{trial.number:03d}").resolve()
                    args = _train_args(algo, env, folder, base, tune, params, run_dir, threads)
                    running.append(Running(trial, backend.start(args, run_dir.with_suffix(".log")), run_dir, params))
                    asked += 1
                for item in list(running):
                    _report(item, metric, backend)
                    code = backend.poll(item.handle)
                    if code is not None:
                        running.remove(item)
                        records.append(_finish(study, item, metric, code))
                time.sleep(0.5)
            except KeyboardInterrupt:
                if stopping:
                    raise
                stopping = True
                console.print("[yellow]stopping: running trials write a checkpoint and stop")
                for item in running:
                    backend.stop(item.handle)
    finally:
        backend.close()
    return _report_study(study, records, folder, algo, env, tune, stopping)


def _train_args(algo, env, folder, base, tune, params, run_dir, threads) -> list[str]:
    args = ["train", "--algo", algo, "--env", env, "--seed", str(tune.seed), "--run-dir", str(run_dir)]
    if base is not None:
        args += ["--config", str((folder / "base_config.yaml").resolve())]
    overrides = {**tune.fixed, **params}
    if threads and "torch_threads" not in overrides:
        overrides["torch_threads"] = threads
    for key, value in overrides.items():
        args += ["--set", f"{key}={specmod.override_text(value)}"]
    return args


def _report(item: Running, metric: str, backend) -> None:
    """Pass the trial's new evaluation values to Optuna; stop the run if the pruner says so."""
    if item.pruned:
        return
    for step, _, value in read_metrics(item.run_dir / "metrics.csv", {metric}).get(metric, []):
        if step <= item.reported:
            continue
        item.reported = step
        item.values.append(value)
        item.trial.report(value, step)
        if item.trial.should_prune():
            item.pruned = True
            backend.stop(item.handle)
            return


def _finish(study, item: Running, metric: str, code: int) -> dict:
    from optuna.trial import TrialState

    _report(item, metric, _NoStop())  # values written after the last poll
    status = state.trial_status(item.run_dir)
    record = {"number": item.trial.number, "params": item.params, "run": str(item.run_dir), "status": status}
    if item.pruned:
        study.tell(item.trial, state=TrialState.PRUNED)
        record.update(state="pruned", value=item.values[-1] if item.values else None)
        console.print(f"[yellow]pruned[/]   trial {item.trial.number} at step {item.reported:,}: {specmod.label(item.params)}")
    elif status == "finished" and item.values:
        study.tell(item.trial, item.values[-1])
        record.update(state="complete", value=item.values[-1])
        console.print(f"[green]finished[/] trial {item.trial.number}: {metric} {item.values[-1]:.1f}  "
                      f"{specmod.label(item.params)}")
    else:
        study.tell(item.trial, state=TrialState.FAIL)
        record.update(state="failed", value=None)
        console.print(f"[red]failed[/]   trial {item.trial.number} (exit {code}); its output: {item.run_dir}.log")
    return record


class _NoStop:
    def stop(self, handle) -> None:
        pass


def _report_study(study, records, folder, algo, env, tune, stopped) -> int:
    from rich.table import Table

    records.sort(key=lambda r: r["number"])
    complete = [r for r in records if r["state"] == "complete"]
    best = max(complete, key=lambda r: r["value"]) if complete else None
    summary = {"name": tune.name, "algo": algo, "env": env, "source": tune.source, "trials": records,
               "best": best}
    (folder / "study.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = Table(title=f"tune {tune.name}: {folder}", title_justify="left")
    for column in ("trial", "state", "value", *tune.search):
        table.add_column(column, overflow="fold")
    for r in records:
        mark = " *" if best is r else ""
        value = "" if r["value"] is None else f"{r['value']:.1f}{mark}"
        table.add_row(str(r["number"]), r["state"], value, *(specmod.format_value(r["params"][k]) for k in tune.search))
    out.print(table)
    if best:
        sets = " ".join(f"--set {k}={specmod.override_text(v)}" for k, v in {**tune.fixed, **best["params"]}.items())
        out.print(f"best: trial {best['number']} ({best['value']:.1f}); train it with:\n"
                  f"  rlforge train --algo {algo} --env {env} {sets}")
    if stopped:
        return 130
    return 0 if best else 1
