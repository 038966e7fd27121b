"""`rlforge plot RUN_OR_SWEEP_DIRS...`."""

import click


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="RUN_OR_SWEEP_DIRS...")
@click.option("--metric", "-m", default="eval/return_mean", show_default=True, help="Tag in the runs' metrics.csv.")
@click.option("--out", "-o", "out_file", default="plot.png", show_default=True, type=click.Path(dir_okay=False),
              help="Image file to write (.png, .pdf or .svg).")
@click.option("--x", "x_axis", type=click.Choice(["steps", "time"]), default="steps", show_default=True,
              help="x axis: environment steps, or wall time in seconds since each run started.")
@click.option("--smooth", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True,
              help="Exponential moving average weight (0: none; 0.6 is TensorBoard's usual).")
@click.option("--ci", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.95, show_default=True,
              help="Confidence of the band around each mean (bootstrap over seeds).")
@click.option("--title", help="Title of the plot (default: the env).")
def plot(paths, metric, out_file, x_axis, smooth, ci, title):
    """Plot learning curves of runs, grouped by setting: the mean over seeds with a
    confidence band.

    Give run directories, sweep folders or any folder holding runs. Runs that differ only
    in their seed form one curve; the legend names the config keys that tell the curves
    apart.

    \b
    Examples:
      rlforge plot sweeps/hw2_cartpole --out cartpole.png
      rlforge plot runs/sac/Hopper-v4 --metric charts/episode_return --smooth 0.6 --x time
    """
    from pathlib import Path

    from rlforge.console import console
    from rlforge.errors import RLForgeError
    from rlforge.sweeps import plotting, results

    out = Path(out_file)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise RLForgeError(f"--out {out_file!r}: write a .png, .pdf or .svg file")
    if not out.parent.is_dir():
        raise RLForgeError(f"--out {out_file!r}: folder {str(out.parent)!r} does not exist")
    groups = results.group_by_setting(results.load_runs(paths, {metric, plotting.ONLINE_TAG}))
    drawn = plotting.plot(groups, metric, out, x_axis, smooth, ci, title)
    console.print(f"{drawn} curve(s) of {metric} from {sum(len(g) for g in groups.values())} run(s) written to {out}")
