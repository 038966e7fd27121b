"""`rlforge runs`: the runs under a folder, with their progress and status."""

import json
import os
import platform
from pathlib import Path

import click
from rich.table import Table

from rlforge.console import out


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def run_status(meta: dict) -> str:
    """The saved status, except that a "running" run whose process is gone has crashed."""
    status = meta.get("status", "unknown")
    if status == "running" and meta.get("host") == platform.node() and not _alive(meta.get("pid")):
        return "crashed"
    return status


def find_runs(root: Path) -> list[dict]:
    rows = []
    for meta_path in sorted(root.rglob("meta.json")):
        try:
            meta = json.loads(meta_path.read_text())
            total = _total_steps(meta_path.parent / "config.yaml")
        except (OSError, ValueError):
            continue
        last_eval = (meta.get("last_eval") or {}).get("return_mean")
        rows.append({"run": str(meta_path.parent), "algo": meta.get("algo"), "env": meta.get("env"),
                     "seed": meta.get("seed"), "step": meta.get("step", 0), "total_steps": total,
                     "last_eval_return": last_eval, "status": run_status(meta), "started": meta.get("started")})
    return rows


def _total_steps(config_path: Path):
    import yaml

    config = yaml.safe_load(config_path.read_text()) or {}
    return config.get("total_steps")


@click.command()
@click.argument("directory", default="runs", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def runs(directory, as_json):
    """List the runs under DIRECTORY (default: runs/): algo, env, seed, steps done, last
    evaluation return and status (running, finished, stopped, crashed)."""
    from rlforge.errors import RLForgeError

    root = Path(directory)
    if not root.is_dir():
        raise RLForgeError(f"no runs folder {directory!r}")
    rows = find_runs(root)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"runs under {directory} ({len(rows)})")
    table.add_column("run", overflow="fold")
    for column in ("algo", "env", "seed", "steps", "last eval", "status"):
        table.add_column(column, no_wrap=True)
    colours = {"finished": "green", "running": "cyan", "stopped": "yellow", "crashed": "red"}
    for r in rows:
        steps = f"{r['step']:,}" + (f"/{r['total_steps']:,}" if isinstance(r["total_steps"], int) else "")
        last = "" if r["last_eval_return"] is None else f"{r['last_eval_return']:.1f}"
        colour = colours.get(r["status"], "white")
        table.add_row(str(Path(r["run"]).relative_to(root)), r["algo"], r["env"], str(r["seed"]), steps, last, f"[{colour}]{r['status']}[/]")
    out.print(table)
