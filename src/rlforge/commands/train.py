"""`rlforge train`."""

import sys

import click


@click.command()
@click.option("--algo", "-a", help="Algorithm name (see 'rlforge list').")
@click.option("--env", "-e", help="Environment id: any Gymnasium id or one a plugin registers (see 'rlforge list envs').")
@click.option("--config", "-c", "config_file", metavar="FILE",
              help="YAML config file (or a name under configs/, e.g. experiments/sac/hopper_clipq); "
                   "overrides the preset for --algo/--env and may name algo and env itself.")
@click.option("--set", "-s", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Override one config key; repeatable. Applied after the preset and --config.")
@click.option("--seed", type=int, help="Seed (same as --set seed=N).")
@click.option("--seeds", metavar="LIST", help="Train several seeds (e.g. 1,2,3 or 1-5) in parallel, up to the core "
                                              "count, into sibling run directories.")
@click.option("--steps", type=int, help="Environment steps to train for (same as --set total_steps=N).")
@click.option("--num-envs", type=int, help="Environments stepped in parallel (same as --set num_envs=N).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), help="Torch device (default: auto).")
@click.option("--run-dir", type=click.Path(file_okay=False), help="Run directory (default: runs/<algo>/<env>/<time>-s<seed>).")
@click.option("--checkpoint-every", type=int, metavar="N",
              help="Write a checkpoint every N env steps (same as --set checkpoint_every=N; default: only at the end).")
@click.option("--keep-checkpoints", type=int, metavar="K", help="Keep the newest K periodic checkpoints (default 3).")
@click.option("--video-every", type=int, metavar="N",
              help="Record a deterministic evaluation episode every N env steps to RUN_DIR/videos/ and TensorBoard.")
@click.option("--track", multiple=True, metavar="NAME",
              help="Log the run to this experiment tracker too (a tracker plugin: mlflow, wandb); repeatable "
                   "(same as --set 'track=[NAME, ...]').")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), metavar="RUN_DIR",
              help="Continue RUN_DIR from its latest checkpoint (same directory, counters and curves); "
                   "with --steps, train a finished run further.")
def train(algo, env, config_file, set_pairs, seed, seeds, steps, num_envs, device, run_dir, checkpoint_every,
          keep_checkpoints, video_every, track, resume_dir):
    """Train an algorithm on an environment.

    The config starts from the algorithm's defaults, then the preset configs/<algo>/<env>.yaml
    if there is one, then --config, then --set and the shortcut options. The resolved config
    is printed and saved in the run directory with TensorBoard logs, metrics.csv and
    checkpoints.

    \b
    Examples:
      rlforge train --algo sac --env HalfCheetah-v4
      rlforge train --algo sac --env Pendulum-v1 --steps 15000 --seed 2
      rlforge train --config experiments/sac/hopper_clipq --set batch_size=512
      rlforge train --resume runs/sac/Hopper-v4/20261121-101500-s1
      rlforge train --algo sac --env Pendulum-v1 --seeds 1-5
    """
    from rlforge import training
    from rlforge.errors import RLForgeError

    if resume_dir:
        others = [name for name, value in (("--algo", algo), ("--env", env), ("--config", config_file),
                  ("--set", set_pairs), ("--seed", seed), ("--num-envs", num_envs), ("--device", device),
                  ("--run-dir", run_dir), ("--checkpoint-every", checkpoint_every),
                  ("--keep-checkpoints", keep_checkpoints), ("--video-every", video_every), ("--track", track))
                  if value]
        if others:
            raise RLForgeError(f"--resume continues a run with its saved config; drop {', '.join(others)}")
        sys.exit(training.resume(resume_dir, steps))
    shortcuts = {"seed": seed, "total_steps": steps, "num_envs": num_envs, "device": device,
                 "checkpoint_every": checkpoint_every, "keep_checkpoints": keep_checkpoints, "video_every": video_every,
                 "track": list(track) or None}
    if seeds:
        if seed is not None or run_dir or resume_dir:
            raise RLForgeError("--seeds picks the seeds and run directories itself; drop --seed / --run-dir")
        from rlforge.multiseed import parse_seeds, run_seeds

        seed_list = parse_seeds(seeds)
        _, resolved, _ = training.prepare(algo, env, config_file, set_pairs, shortcuts)  # fail fast, once
        child_args = ["--algo", resolved.algo, "--env", resolved.env]
        child_args += ["--config", config_file] if config_file else []
        for pair in set_pairs:
            child_args += ["--set", pair]
        for name, value in shortcuts.items():
            if value is not None and name != "seed":
                child_args += ["--set", f"{name}={value}"]
        sys.exit(run_seeds(seed_list, child_args, resolved.algo, resolved.env, resolved.run.total_steps))
    sys.exit(training.train(algo, env, config_file, set_pairs, shortcuts, run_dir))
