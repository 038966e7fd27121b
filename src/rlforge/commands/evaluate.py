"""`rlforge eval`: evaluate (and film) any checkpoint, or a policy exported by `rlforge export`."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.table import Table

from rlforge.console import console, out


@click.command("eval")
@click.argument("path", metavar="RUN_DIR|CHECKPOINT|FILE")
@click.option("--episodes", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Episodes to run.")
@click.option("--deterministic/--stochastic", default=True, show_default=True,
              help="Act with the policy's deterministic action, or sample from it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the evaluation episodes.")
@click.option("--video", type=click.Path(dir_okay=False), metavar="FILE.mp4",
              help="Also record one episode (seeded with --seed) to this MP4 file.")
@click.option("--env", "-e", "env_id", help="Env id for an exported policy FILE (default: the one stored in it).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def eval_(path, episodes, deterministic, seed, video, env_id, as_json):
    """Evaluate the latest checkpoint of RUN_DIR, a checkpoint folder, or an exported policy
    FILE (.onnx or .pt from 'rlforge export').

    Prints the mean, std, min and max of the episode return and length. The checkpoint is
    loaded without running any code from it (tensors, arrays and JSON only).
    """
    from rlforge.errors import RLForgeError
    from rlforge.evaluation import evaluate

    if video and not video.lower().endswith(".mp4"):
        raise RLForgeError(f"--video expects a file name ending in .mp4, got {video!r}")
    target = _exported(path, env_id, deterministic) if Path(path).is_file() else _checkpoint(path, env_id, episodes)
    try:
        result = evaluate(target.policy, target.make_env(min(episodes, 10)), episodes, deterministic, seed=seed,
                          step=target.step)
        video_info = _record(target, seed, deterministic, video) if video else None
    finally:
        target.close()
    returns, lengths = result.summary, _lengths(result.lengths)
    report = {**target.source, "algo": target.algo, "env": target.env_id,
              "step": target.step, "episodes": episodes, "deterministic": deterministic,
              "return": {k.replace("return_", ""): v for k, v in returns.items() if k.startswith("return_")},
              "length": lengths, **({"video": video_info} if video_info else {})}
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    table = Table(title=f"{report['algo']} on {report['env']}, step {report['step']:,} "
                        f"({episodes} {'deterministic' if deterministic else 'stochastic'} episodes)")
    for column in ("", "mean", "std", "min", "max"):
        table.add_column(column, justify="right")
    for name, stats in (("return", report["return"]), ("length", lengths)):
        table.add_row(name, *(f"{stats[k]:.1f}" for k in ("mean", "std", "min", "max")))
    out.print(table)
    if video_info:
        console.print(f"video: {video_info['file']} ({video_info['frames']} frames, return {video_info['return']:.1f})")


@dataclass
class _Target:
    """What is evaluated: a policy, the env it acts in, and what the report says about it."""

    policy: object
    algo: str
    env_id: str
    step: int
    source: dict  # {"checkpoint": folder} or {"exported": file}
    env_spec: object = None
    max_episode_steps: int | None = None
    env_kwargs: dict = field(default_factory=dict)
    engine: object = None  # a checkpoint's engine (its eval env is used, and it is closed at the end)
    env: object = None  # the env made for an exported file

    def make_env(self, copies: int):
        from rlforge.envs import EnvAdapter

        if self.engine is not None:
            return self.engine.eval_env()
        self.env = EnvAdapter(self.env_id, copies, 0, "sync", self.env_spec, self.max_episode_steps,
                              env_kwargs=self.env_kwargs)
        return self.env

    def close(self) -> None:
        for owner in (self.engine, self.env):
            if owner is not None:
                owner.close()


def _checkpoint(path, env_id, episodes) -> _Target:
    from rlforge.errors import RLForgeError
    from rlforge.training import load_checkpoint_engine

    if env_id:
        raise RLForgeError("--env is for exported policy files; a checkpoint is evaluated on the env it was trained on")
    engine, folder, metadata = load_checkpoint_engine(path, {"eval_episodes": episodes})
    cfg = engine.config
    return _Target(engine.agent.policy, metadata["algo"], metadata["env"], metadata["counters"]["step"],
                   {"checkpoint": str(folder)}, engine.env_spec, cfg.run.max_episode_steps, cfg.run.env_kwargs,
                   engine)


def _exported(path, env_id, deterministic) -> _Target:
    from rlforge.envs import env_spaces
    from rlforge.errors import RLForgeError
    from rlforge.export.policy import ExportedPolicy
    from rlforge.plugins import get_host

    if not deterministic:
        raise RLForgeError("an exported policy has only its deterministic action; drop --stochastic")
    policy = ExportedPolicy(Path(path))
    stored = policy.metadata.get("env_id")
    env_id = env_id or stored
    if not env_id:
        raise RLForgeError(f"{path!r} does not name its env; pass --env ID")
    registry = get_host().registry
    registry.check_env(env_id)
    env_spec = registry.envs.get(env_id)
    same = env_id == stored  # the stored env settings belong to the stored env only
    env_kwargs = (policy.metadata.get("env_kwargs") or {}) if same else {}
    policy.check_env(env_id, env_spaces(env_id, env_spec, env_kwargs)[0])
    return _Target(policy, policy.metadata.get("algo", "exported"), env_id, int(policy.metadata.get("step", 0)),
                   {"exported": str(path)}, env_spec, policy.metadata.get("max_episode_steps") if same else None,
                   env_kwargs)


def _lengths(lengths):
    import numpy as np

    values = np.asarray(lengths, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()), "max": float(values.max())}


def _record(target: _Target, seed, deterministic, path):
    from rlforge.video import record_episode, write_mp4

    frames, episode_return, length, fps = record_episode(target.policy, target.env_id, target.env_spec,
                                                         target.max_episode_steps, seed, deterministic,
                                                         env_kwargs=target.env_kwargs)
    write_mp4(path, frames, fps)
    return {"file": str(path), "frames": int(len(frames)), "fps": fps, "return": episode_return, "length": length}
