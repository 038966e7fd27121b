"""`rlforge sweep FILE.yaml`."""

import sys

import click


@click.command()
@click.argument("sweep_file", metavar="FILE.yaml")
@click.option("--out", "-o", "folder", type=click.Path(file_okay=False),
              help="Sweep folder (default: sweeps/<name>). Running the same file into the same folder resumes it.")
@click.option("--backend", "-b", default="local", show_default=True, metavar="local|ray",
              help="local: trials in subprocesses of this machine; ray: trials as Ray tasks on a Ray cluster.")
@click.option("--address", metavar="ADDR", help="Ray cluster to join (e.g. auto, or HEAD_IP:6379); default: start a local Ray.")
@click.option("--workers", "-w", type=click.IntRange(min=1), help="Trials at once (default: the core count, or the cluster's CPUs).")
@click.option("--dry-run", is_flag=True, help="Check the file and list the trials without running them.")
def sweep(sweep_file, folder, backend, address, workers, dry_run):
    """Train every trial of a sweep: envs x settings (a grid and/or random samples) x seeds.

    Each trial is an ordinary run directory under the sweep folder. Running the command again
    skips finished trials, resumes stopped ones and retries failed ones. A failed trial is
    reported and the others go on. Compare the results with 'rlforge compare' and
    'rlforge plot'.

    \b
    Examples:
      rlforge sweep configs/sweeps/hw2_cartpole.yaml
      rlforge sweep my_grid.yaml --workers 4 --out sweeps/try2
      rlforge sweep my_grid.yaml --backend ray --address auto
    """
    from rlforge.sweeps import runner, spec
    from rlforge.sweeps.backends import make_backend

    plan = runner.plan(spec.load(sweep_file), folder)
    if dry_run:
        for trial in plan.trials:
            click.echo(plan.run_dir(trial))
        return
    chosen = make_backend(backend, address, workers)
    threads = None if backend == "ray" else max(1, (_cores() // chosen.slots))
    sys.exit(runner.run(plan, chosen, threads))


def _cores() -> int:
    import os

    return os.cpu_count() or 1
