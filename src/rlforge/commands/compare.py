"""`rlforge compare RUN_OR_SWEEP_DIRS...`."""

import click


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="RUN_OR_SWEEP_DIRS...")
@click.option("--metric", "-m", default="eval/return_mean", show_default=True, help="Tag in the runs' metrics.csv.")
@click.option("--last", type=click.IntRange(min=1), default=1, show_default=True,
              help="A run's final value is the mean of its last N values of the metric.")
@click.option("--ci", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.95, show_default=True,
              help="Confidence of the bootstrap intervals over seeds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def compare(paths, metric, last, ci, as_json):
    """Compare settings: final and best values of a metric per setting, over seeds.

    Each setting (runs that differ only in their seed) gets the interquartile mean of its
    seeds' final and best values, with percentile-bootstrap confidence intervals (seeded,
    so the table is the same every time), sorted best final first.

    \b
    Examples:
      rlforge compare sweeps/hw2_cartpole
      rlforge compare runs/dqn/LunarLander-v3 --last 5 --json
    """
    import json

    from rich.table import Table

    from rlforge.console import out
    from rlforge.sweeps import results
    from rlforge.sweeps.compare import summarise

    rows = summarise(results.group_by_setting(results.load_runs(paths, {metric})), metric, last, ci)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{metric}: interquartile mean over seeds [{ci:.0%} bootstrap CI]", title_justify="left")
    table.add_column("setting", overflow="fold")
    for column in ("seeds", "final IQM [CI]", "best IQM [CI]"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        if row["seeds"] == 0:
            table.add_row(row["setting"], "0", "no data", "")
            continue
        seeds = f"{row['seeds']}*" if row["unfinished"] else str(row["seeds"])
        table.add_row(row["setting"], seeds, _cell(row["final_iqm"], row["final_ci"]),
                      _cell(row["best_iqm"], row["best_ci"]))
    out.print(table)
    for row in rows:  # an unfinished seed's "final" value is its last one so far
        if row["unfinished"] and row["seeds"]:
            out.print(f"* {row['setting']}: {row['unfinished']} of {len(row['runs'])} seeds unfinished (stopped, "
                      f"crashed or running), counted with their last values; the fewest steps reached: {row['steps']:,}")


def _cell(value: float, interval) -> str:
    return f"{value:.1f} [{interval[0]:.1f}, {interval[1]:.1f}]"
