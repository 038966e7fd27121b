"""From command-line choices to a finished run: resolve, validate, build, train, report.

Everything that can be wrong with the input is checked before the run directory is made,
so bad input leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from rlforge import config as cfgmod
from rlforge.console import config_table, console
from rlforge.errors import RLForgeError
from rlforge.plugins import get_host
from rlforge.presets import find_config_file


def pick_names(algo: str | None, env: str | None, file_values: dict | None, config_path: str | None) -> tuple[str, str]:
    """--algo/--env, else the config file's `algo`/`env`; a disagreement is an error."""
    chosen = {}
    for key, given in (("algo", algo), ("env", env)):
        from_file = (file_values or {}).get(key)
        if given and from_file and given != from_file:
            raise RLForgeError(f"--{key} {given} disagrees with {key}: {from_file} in {config_path}")
        chosen[key] = given or from_file
        if not chosen[key]:
            raise RLForgeError(f"no {key} given: pass --{key} (or a --config file that sets '{key}:')")
    return str(chosen["algo"]), str(chosen["env"])


def prepare(algo, env, config_file, set_pairs, shortcuts: dict, saved_config: tuple[dict, str] | None = None):
    """(spec, resolved config, env spec) for the choices, validated; creates nothing.

    `saved_config` (values, where they came from) stands in for a --config file, e.g. the
    config stored in a checkpoint."""
    from rlforge.envs import env_spaces, space_kind

    registry = get_host().registry
    file_values, config_path = saved_config or (None, None)
    if config_file:
        config_path = str(find_config_file(config_file))
        file_values = cfgmod.read_yaml(Path(config_path))
    algo, env = pick_names(algo, env, file_values, config_path)
    spec = registry.algorithm(algo)
    registry.check_env(env)
    options = {k: v for k, v in shortcuts.items() if v is not None}
    resolved = cfgmod.resolve(spec, env, file_values, cfgmod.parse_overrides(set_pairs), config_path, options)
    registry.check_trackers(resolved.run.track)
    env_spec = registry.envs.get(env)
    if resolved.run.vector_mode == "envpool":  # what EnvPool cannot do, refused before any env is made
        from rlforge import envpool_backend

        envpool_backend.check(env, env_spec, resolved.run.env_kwargs, resolved.run.max_episode_steps)
    _, action_space = env_spaces(env, env_spec, resolved.run.env_kwargs)
    kind = space_kind(action_space)
    if kind not in spec.action_spaces:
        raise RLForgeError(f"{algo} does not support {kind} action spaces ({env} has {action_space}); "
                           f"{algo} supports: {', '.join(spec.action_spaces)}")
    return spec, resolved, env_spec


def build_engine(spec, resolved, env_spec):
    from rlforge.engine import Engine

    try:
        return Engine(spec, resolved, env_spec, get_host().hook)
    except (ValueError, TypeError) as exc:
        raise RLForgeError(f"cannot build {spec.name} for {resolved.env}: {exc}") from None


def new_run(resolved, spec, run_dir: str | None, runs_root: str):
    from rlforge.runs import FolderLock, Run, default_run_dir

    seed = resolved.run.seed
    path = Path(run_dir) if run_dir else default_run_dir(Path(runs_root), spec.name, resolved.env, seed)
    if path.exists() and any(path.iterdir()):
        raise RLForgeError(f"run directory {str(path)!r} already exists and is not empty; use --resume to continue it")
    run = Run(path, spec.name, resolved.env, seed)
    plugins = [asdict(p) for p in get_host().registry.plugins]
    if path.exists():
        path.rmdir()
    run.create(resolved.to_dict(), plugins, spec.version)
    run.lock = FolderLock(path).acquire()
    return run


def train(algo, env, config_file, set_pairs, shortcuts: dict, run_dir: str | None, runs_root: str = "runs") -> int:
    """Train a new run; returns the process exit status (0, or 130/143 when stopped by a signal)."""
    from rlforge.logger import MetricsLogger

    spec, resolved, env_spec = prepare(algo, env, config_file, set_pairs, shortcuts)
    console.print(config_table(resolved.to_dict(), resolved.sources))
    engine = build_engine(spec, resolved, env_spec)
    warn_if_no_update_due(engine)
    run = new_run(resolved, spec, run_dir, runs_root)
    console.print(f"run directory: [bold]{run.path}[/]")
    return _train_and_report(engine, run, MetricsLogger(run.path))


def resume(run_dir: str, steps: int | None = None) -> int:
    """Continue a run from its latest checkpoint, in the same directory, counters and curves."""
    from rlforge.logger import MetricsLogger
    from rlforge.runs import FolderLock, Run

    run = Run.open(Path(run_dir))
    run.lock = FolderLock(run.path).acquire()  # before anything in the run directory changes
    try:
        engine = _restore_for_resume(run, steps)
    except BaseException:
        run.lock.release()
        raise
    return _train_and_report(engine, run, MetricsLogger(run.path, resume_step=run.step))


def _restore_for_resume(run, steps: int | None):
    """The engine restored from the run's latest checkpoint, everything checked first; then
    config.yaml (with --steps) and meta.json are updated."""
    import os

    from rlforge import checkpoint
    from rlforge.runs import CONFIG_FILE

    done, total = run.meta.get("step", 0), _saved_total_steps(run.path / CONFIG_FILE)
    if run.meta.get("status") == "finished" and (steps is None or steps <= done):
        raise RLForgeError(f"run {str(run.path)!r} has finished ({done:,} of {total:,} steps); "
                           "pass --steps N with N larger to train it further")
    path = checkpoint.resolve(run.path, warn=lambda text: console.print(f"[yellow]{text}"))
    state, metadata = checkpoint.load(path)
    shortcuts = {"total_steps": steps} if steps is not None else {}
    spec, resolved, env_spec = prepare(None, None, str(run.path / CONFIG_FILE), [], shortcuts)
    engine = build_engine(spec, resolved, env_spec)
    engine.check_compatible(metadata)
    exact = engine.load_state_dict(state, run)
    if steps is not None:
        (run.path / CONFIG_FILE).write_text(_yaml_dump(resolved.to_dict()))
    console.print(f"resuming [bold]{run.path}[/] from {path.name} at step {run.step:,} of {resolved.run.total_steps:,}")
    warn_if_no_update_due(engine)
    if not exact:
        console.print(f"[yellow]{resolved.env} cannot restore its exact state: resuming with fresh episodes")
    from rlforge.runs import invoked_command

    # with the first command, how the run was made
    run.save_meta(status="running", pid=os.getpid(), resumed=run.meta.get("resumed", 0) + 1,
                  resume_commands=[*run.meta.get("resume_commands", []), invoked_command()])
    return engine


def load_checkpoint_engine(path: str, overrides: dict | None = None):
    """(engine, checkpoint folder, metadata) with the agent restored from a run directory or
    checkpoint folder, built from the config saved in the checkpoint."""
    from rlforge import checkpoint

    folder = checkpoint.resolve(Path(path))
    state, metadata = checkpoint.load(folder)
    if not isinstance(metadata.get("config"), dict):
        raise checkpoint.CheckpointError(f"checkpoint {str(folder)!r} has no saved config")
    spec, resolved, env_spec = prepare(None, None, None, [], overrides or {}, (metadata["config"], str(folder)))
    engine = build_engine(spec, resolved, env_spec)
    engine.check_compatible(metadata)
    try:
        engine.agent.load_state_dict(state["agent"])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise checkpoint.CheckpointError(f"checkpoint {str(folder)!r} does not fit {spec.name}'s agent: "
                                         f"{str(exc).splitlines()[0]}") from None
    return engine, folder, metadata


def _train_and_report(engine, run, logger) -> int:
    try:
        return _train_and_record(engine, run, logger)
    finally:
        if run.lock is not None:
            run.lock.release()


def _train_and_record(engine, run, logger) -> int:
    hooks = get_host().hook
    run.record_machine(engine.update_precision)
    try:
        outcome = engine.train(run, logger)
    except BaseException:
        run.save_meta(status="crashed")
        hooks.on_train_end(run=run, status="crashed")
        raise
    finally:
        logger.close()
        engine.close()
    last = outcome.last_eval.summary if outcome.last_eval else run.meta.get("last_eval")
    reached = {"reached_return_at": outcome.reached_return_at} if outcome.reached_return_at is not None else {}
    run.save_meta(status=outcome.status, last_eval=last, **reached)
    hooks.on_train_end(run=run, status=outcome.status)
    report(run, outcome, no_update_note(engine, run))
    return outcome.exit_code


def late_learning_start(engine) -> int | None:
    """The agent's `learning_starts` where the run ends at or before it, else None. Agents with
    an offline phase are left out: their updates need no collected steps."""
    starts = getattr(engine.config.agent, "learning_starts", None)
    if not isinstance(starts, int) or isinstance(starts, bool) or engine.has_offline_phase:
        return None
    return starts if starts >= engine.config.run.total_steps else None


def warn_if_no_update_due(engine) -> None:
    """A run that ends before learning_starts trains nothing; it may be meant (collecting
    data, a smoke test), so a warning rather than an error."""
    starts = late_learning_start(engine)
    if starts is not None:
        console.print(f"[yellow]warning:[/] learning_starts ({starts:,}) >= total_steps "
                      f"({engine.config.run.total_steps:,}): the run ends before the agent learns; "
                      "lower learning_starts or raise --steps")


def no_update_note(engine, run) -> str:
    """For the end of a run that stopped short of learning_starts (so made no update); else ''."""
    starts = late_learning_start(engine)
    if starts is None or run.step >= starts:
        return ""
    return f"no update was made: the run ended at step {run.step:,}, before learning_starts={starts:,}"


def _saved_total_steps(config_path: Path) -> int:
    return int(cfgmod.read_yaml(config_path).get("total_steps", 0))


def _yaml_dump(mapping: dict) -> str:
    import yaml

    return yaml.safe_dump(mapping, sort_keys=False)


def report(run, outcome, note: str = "") -> None:
    if outcome.status == "stopped":
        console.print(f"[yellow]stopped at step {run.step:,}; checkpoint written. Resume with:[/]\n"
                      f"  rlforge train --resume {run.path}")
        return
    line = f"[green]finished[/] {run.step:,} steps"
    if outcome.reached_return_at is not None:
        line += " (an evaluation reached stop_at_return)"
    if outcome.last_eval:
        s = outcome.last_eval.summary
        line += f"; final eval return {s['return_mean']:.1f} ± {s['return_std']:.1f}"
    if note:
        line += f"\n[yellow]note:[/] {note}"
    console.print(f"{line}\nrun directory: {run.path}")
