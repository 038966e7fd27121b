"""`rlforge tune FILE.yaml`."""

import sys
from pathlib import Path

import click


@click.command()
@click.argument("tune_file", metavar="FILE.yaml")
@click.option("--trials", "-n", type=click.IntRange(min=1), default=20, show_default=True, help="Trials to run.")
@click.option("--sampler", type=click.Choice(["tpe", "random"]), default="tpe", show_default=True,
              help="How Optuna proposes settings.")
@click.option("--pruner", type=click.Choice(["median", "hyperband", "halving", "none"]), default="median",
              show_default=True, help="How Optuna stops poor trials early, from their evaluation returns.")
@click.option("--warmup-steps", type=click.IntRange(min=0), default=0, show_default=True,
              help="Env steps before a trial may be pruned (the minimum resource of hyperband/halving).")
@click.option("--startup-trials", type=click.IntRange(min=0), default=3, show_default=True,
              help="Trials that finish before the median pruner prunes any.")
@click.option("--metric", "-m", default="eval/return_mean", show_default=True,
              help="Tag in metrics.csv to maximise (its last value) and prune on.")
@click.option("--out", "-o", "folder", type=click.Path(file_okay=False), help="Folder (default: tune/<name>).")
@click.option("--backend", "-b", default="local", show_default=True, metavar="local|ray",
              help="local: trials in subprocesses of this machine; ray: trials as Ray tasks on a Ray cluster.")
@click.option("--address", metavar="ADDR", help="Ray cluster to join (with --backend ray).")
@click.option("--workers", "-w", type=click.IntRange(min=1), help="Trials at once (default: the core count).")
def tune(tune_file, trials, sampler, pruner, warmup_steps, startup_trials, metric, folder, backend, address, workers):
    """Search hyperparameters with Optuna; each trial is an ordinary run.

    The file names the algorithm, env, fixed settings ('set:'), the search space ('search:')
    and a seed. Each trial's evaluation returns are reported to Optuna as it trains, so the
    pruner can stop poor trials early. Writes study.json and prints the best setting.

    \b
    Example (a FILE.yaml):
      algo: pg
      env: CartPole-v1
      set: {total_steps: 50000, eval_every: 5000}
      search:
        lr: {loguniform: [1.0e-4, 1.0e-2]}
        batch_size: {choice: [500, 1000, 2000]}
    \b
      rlforge tune lr_search.yaml --trials 30 --pruner hyperband --workers 4
    """
    import os

    from rlforge.errors import RLForgeError
    from rlforge.sweeps import tune as tunemod
    from rlforge.sweeps.backends import make_backend

    try:
        import optuna  # noqa: F401
    except ImportError:
        raise RLForgeError("rlforge tune needs Optuna: pip install 'rlforge[tune]'") from None
    spec = tunemod.load(tune_file)
    target = Path(folder) if folder else Path("tune") / spec.name
    tunemod.prepare(spec, target)  # check before a backend (or Ray) starts
    chosen = make_backend(backend, address, workers)
    threads = None if backend == "ray" else max(1, (os.cpu_count() or 1) // chosen.slots)
    sys.exit(tunemod.run(spec, target, chosen, trials, sampler, pruner, metric, warmup_steps, startup_trials, threads))
