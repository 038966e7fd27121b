"""Run a sweep: check every trial's settings first, then run the trials on a backend, a few at
a time, skipping finished ones and resuming stopped ones, with a progress bar and a summary.

The sweep folder holds sweep.json (the sweep's definition and its trials, to refuse resuming
with a different file), base_config.yaml (a copy of the file's `config`, so that every node
reads the same one) and the trials' run directories <env>/<setting>/s<seed>/ with a
<seed>.log of each trial's console output beside them.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rlforge.console import console, out
from rlforge.errors import ConfigError, RLForgeError
from rlforge.sweeps import state
from rlforge.sweeps.spec import SweepSpec, Trial, override_text

SWEEP_FILE, BASE_CONFIG = "sweep.json", "base_config.yaml"
POLL_SECONDS = 0.5


@dataclass
class Plan:
    """A checked sweep, ready to run: what to run and where."""

    spec: SweepSpec
    algo: str
    folder: Path
    trials: list[Trial]
    base_values: dict | None  # the file's `config`, read

    def run_dir(self, trial: Trial) -> Path:
        return self.folder / trial.relpath

    def log_path(self, trial: Trial) -> Path:
        return self.run_dir(trial).with_name(f"s{trial.seed}.log")


def plan(spec: SweepSpec, folder: str | Path | None = None) -> Plan:
    """Check the sweep against the algorithm's config (unknown keys, bad values, envs) and the
    folder (a different sweep's folder is refused); creates nothing."""
    from rlforge import config as cfgmod
    from rlforge.presets import find_config_file
    from rlforge.training import prepare

    base_values = None
    if spec.config:
        base_values = cfgmod.read_yaml(find_config_file(spec.config))
    algo = spec.algo or (base_values or {}).get("algo")
    envs = spec.envs or ([base_values["env"]] if (base_values or {}).get("env") else [])
    if not algo:
        raise ConfigError(f"sweep file {spec.source!r} names no algorithm: add 'algo:' (or a 'config:' that sets it)")
    if not envs:
        raise ConfigError(f"sweep file {spec.source!r} names no env: add 'envs:' (or a 'config:' that sets 'env')")
    if "seed" in spec.fixed:
        raise ConfigError(f"sweep file {spec.source!r} sets 'seed' under 'set'; list the seeds under 'seeds:'")
    spec.algo, spec.envs = str(algo), [str(e) for e in envs]
    if base_values is not None:  # the sweep picks algo and env; the base config only configures
        base_values = {k: v for k, v in base_values.items() if k not in ("algo", "env")}
    saved = (base_values, spec.config) if base_values is not None else None
    for env in spec.envs:  # each setting once: the seeds do not change what is valid
        for _, params in spec.settings:
            overrides = {**spec.fixed, **params}
            prepare(spec.algo, env, None, [f"{k}={override_text(v)}" for k, v in overrides.items()], {}, saved)
    sweep_folder = Path(folder) if folder else Path("sweeps") / spec.name
    _check_folder(sweep_folder, spec)
    return Plan(spec, spec.algo, sweep_folder, spec.trials(), base_values)


def _check_folder(folder: Path, spec: SweepSpec) -> None:
    if folder.exists() and not folder.is_dir():
        raise RLForgeError(f"sweep folder {str(folder)!r} is a file")
    record = folder / SWEEP_FILE
    if record.is_file():
        try:
            saved = json.loads(record.read_text())["definition"]
        except (OSError, ValueError, KeyError):
            raise RLForgeError(f"{str(record)!r} is unreadable; pass --out to use another folder") from None
        if saved != json.loads(json.dumps(spec.definition())):
            raise RLForgeError(f"sweep folder {str(folder)!r} holds a sweep made from a different sweep file; "
                               "pass --out to start this one elsewhere")
    elif folder.is_dir() and any(folder.iterdir()):
        raise RLForgeError(f"{str(folder)!r} exists and is not a sweep folder; pass --out to choose another")


def trial_args(p: Plan, trial: Trial, threads: int | None) -> list[str]:
    """The `rlforge train` arguments of a new trial."""
    args = ["train", "--algo", p.algo, "--env", trial.env, "--seed", str(trial.seed),
            "--run-dir", str(p.run_dir(trial).resolve())]
    if p.base_values is not None:
        args += ["--config", str((p.folder / BASE_CONFIG).resolve())]
    overrides = {**p.spec.fixed, **trial.params}
    if threads and "torch_threads" not in overrides:
        overrides["torch_threads"] = threads  # trials share the cores instead of each taking them all
    for key, value in overrides.items():
        args += ["--set", f"{key}={override_text(value)}"]
    return args


def write_record(p: Plan) -> None:
    import yaml

    p.folder.mkdir(parents=True, exist_ok=True)
    if p.base_values is not None:
        (p.folder / BASE_CONFIG).write_text(yaml.safe_dump(p.base_values, sort_keys=False))
    record = {"name": p.spec.name, "source": p.spec.source, "algo": p.algo, "seeds": p.spec.seeds,
              "definition": p.spec.definition(),
              "trials": [{"path": t.relpath, "env": t.env, "setting": t.label, "params": t.params, "seed": t.seed}
                         for t in p.trials]}
    tmp = p.folder / f".{SWEEP_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(p.folder / SWEEP_FILE)


def run(p: Plan, backend, threads: int | None = None) -> int:
    """Run the plan's missing trials on `backend`; 0 when all finished, 1 when any failed,
    130 when stopped (Ctrl-C or SIGTERM: running trials checkpoint and stop). One sweep
    process per sweep folder (a lock, taken over from a dead process)."""
    from rlforge.runs import FolderLock

    p.folder.mkdir(parents=True, exist_ok=True)
    with FolderLock(p.folder, "sweep"):
        return _run(p, backend, threads)


def _run(p: Plan, backend, threads: int | None) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    busy = [t for t in p.trials if state.trial_status(p.run_dir(t)) == "running"]
    if busy:
        raise RLForgeError(f"trial {busy[0].relpath} of {str(p.folder)!r} is still running in another process; "
                           "let it finish or stop it first")
    write_record(p)
    todo = [(t, state.action(p.run_dir(t))) for t in p.trials]
    skipped = sum(1 for _, a in todo if a == state.SKIP)
    queue = [(t, a) for t, a in todo if a != state.SKIP]
    resumed = sum(1 for _, a in queue if a == state.RESUME)
    console.print(f"sweep [bold]{p.spec.name}[/]: {len(p.trials)} trials ({p.algo}), {skipped} finished already, "
                  f"{resumed} to resume, {len(queue) - resumed} to run; {backend.slots} at a time, into {p.folder}/")
    running, codes, stopping = {}, {}, False
    # SIGINT explicitly too: a sweep started in the background by a shell inherits SIGINT
    # ignored, and `kill -INT` must still stop it as Ctrl-C does
    previous = signal.signal(signal.SIGTERM, _raise_interrupt), signal.signal(signal.SIGINT, signal.default_int_handler)
    columns = (TextColumn("[bold]trials"), BarColumn(bar_width=24), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[note]}"))
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("", total=len(p.trials), completed=skipped, note="")
            while queue or running:
                try:
                    while queue and len(running) < backend.slots and not stopping:
                        trial, what = queue.pop(0)
                        running[trial] = _launch(p, backend, trial, what, threads)
                    for trial, handle in list(running.items()):
                        code = backend.poll(handle)
                        if code is None:
                            continue
                        del running[trial]
                        codes[trial] = code
                        bar.advance(task)
                        bar.console.print(_line(p, trial, code))
                    bar.update(task, note=f"{len(running)} running" + (", stopping" if stopping else ""))
                    if stopping and not running:
                        break
                    time.sleep(POLL_SECONDS)
                except KeyboardInterrupt:
                    if stopping:  # a second Ctrl-C: stop the trials at once
                        raise
                    stopping = True
                    console.print("[yellow]stopping: running trials write a checkpoint and stop; "
                                  "run the same command again to resume the sweep")
                    for handle in running.values():
                        backend.stop(handle)
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        backend.close()
    _summary(p)
    failed = [t for t, c in codes.items() if state.trial_status(p.run_dir(t)) != "finished" and c not in (130, 143)]
    if stopping:
        return 130
    return 1 if failed else 0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _launch(p: Plan, backend, trial: Trial, what: str, threads: int | None):
    run_dir = p.run_dir(trial)
    if what == state.RESTART:  # failed before its first checkpoint: nothing to keep but the log
        shutil.rmtree(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    args = ["train", "--resume", str(run_dir.resolve())] if what == state.RESUME else trial_args(p, trial, threads)
    return backend.start(args, p.log_path(trial))


def _line(p: Plan, trial: Trial, code: int) -> str:
    status = state.trial_status(p.run_dir(trial))
    if status == "finished":
        value = state.last_eval(p.run_dir(trial))
        return f"[green]finished[/] {trial.name}" + (f"  eval {value:.1f}" if value is not None else "")
    if code in (130, 143) or status == "stopped":
        return f"[yellow]stopped[/]  {trial.name}"
    return f"[red]failed[/]   {trial.name} (exit {code}); its output: {p.log_path(trial)}"


def _summary(p: Plan) -> None:
    from rich.table import Table

    table = Table(title=f"sweep {p.spec.name}: {p.folder}", title_justify="left")
    for column in ("env", "setting", "seed", "status", "last eval"):
        table.add_column(column, overflow="fold")
    colours = {"finished": "green", "stopped": "yellow", "crashed": "red", "pending": "dim"}
    for trial in p.trials:
        status = state.trial_status(p.run_dir(trial))
        value = state.last_eval(p.run_dir(trial))
        table.add_row(trial.env, trial.label, str(trial.seed), f"[{colours.get(status, 'white')}]{status}[/]",
                      "" if value is None else f"{value:.1f}")
    out.print(table)
