"""`rlforge eval`: evaluate (and film) any checkpoint."""

import json

import click
from rich.table import Table

from rlforge.console import console, out


@click.command("eval")
@click.argument("path", metavar="RUN_DIR|CHECKPOINT")
@click.option("--episodes", "-n", type=click.IntRange(min=1), default=10, show_default=True, help="Episodes to run.")
@click.option("--deterministic/--stochastic", default=True, show_default=True,
              help="Act with the policy's deterministic action, or sample from it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the evaluation episodes.")
@click.option("--video", type=click.Path(dir_okay=False), metavar="FILE.mp4",
              help="Also record one episode (seeded with --seed) to this MP4 file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def eval_(path, episodes, deterministic, seed, video, as_json):
    """Evaluate the latest checkpoint of RUN_DIR, or a checkpoint folder.

    Prints the mean, std, min and max of the episode return and length. The checkpoint is
    loaded without running any code from it (tensors, arrays and JSON only).
    """
    from rlforge.errors import RLForgeError
    from rlforge.evaluation import evaluate
    from rlforge.training import load_checkpoint_engine

    if video and not video.lower().endswith(".mp4"):
        raise RLForgeError(f"--video expects a file name ending in .mp4, got {video!r}")
    engine, folder, metadata = load_checkpoint_engine(path, {"eval_episodes": episodes})
    try:
        result = evaluate(engine.agent.policy, engine.eval_env(), episodes, deterministic, seed=seed,
                          step=metadata["counters"]["step"])
        video_info = _record(engine, seed, deterministic, video) if video else None
    finally:
        engine.close()
    returns, lengths = result.summary, _lengths(result.lengths)
    report = {"checkpoint": str(folder), "algo": metadata["algo"], "env": metadata["env"],
              "step": metadata["counters"]["step"], "episodes": episodes, "deterministic": deterministic,
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


def _lengths(lengths):
    import numpy as np

    values = np.asarray(lengths, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()), "max": float(values.max())}


def _record(engine, seed, deterministic, path):
    from rlforge.video import record_episode, write_mp4

    cfg = engine.config
    frames, episode_return, length, fps = record_episode(engine.agent.policy, cfg.env, engine.env_spec,
                                                         cfg.run.max_episode_steps, seed, deterministic,
                                                         env_kwargs=cfg.run.env_kwargs)
    write_mp4(path, frames, fps)
    return {"file": str(path), "frames": int(len(frames)), "fps": fps, "return": episode_return, "length": length}
