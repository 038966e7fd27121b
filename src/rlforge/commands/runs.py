"""`rlforge runs`: the runs under a folder, with their progress and status."""

import json
import os
import platform
from pathlib import Path

import click
from rich.table import Table

from rlforge.console import out


def _alive(pid) -> bool:
    if isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 1 << 22:  # 0 or -1 would probe groups
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def run_status(meta: dict) -> str:
    """The saved status, except that a "running" run whose process is gone has crashed."""
    status = meta.get("status", "unknown")
    if status == "running" and meta.get("host") == platform.node() and not _alive(meta.get("pid")):
        return "crashed"
    return status


def find_runs(root: Path) -> list[dict]:
    from rlforge.runs import try_read_meta

    rows = []
    for meta_path in sorted(root.rglob("meta.json")):
        meta = try_read_meta(meta_path.parent)
        if meta is None:
            rows.append({"run": str(meta_path.parent), "algo": None, "env": None, "seed": None, "step": None,
                         "total_steps": None, "last_eval_return": None, "status": "unreadable", "started": None})
            continue
        total = _total_steps(meta_path.parent / "config.yaml")
        last_eval = (meta.get("last_eval") or {}).get("return_mean")
        rows.append({"run": str(meta_path.parent), "algo": meta.get("algo"), "env": meta.get("env"),
                     "seed": meta.get("seed"), "step": meta.get("step", 0), "total_steps": total,
                     "last_eval_return": last_eval, "status": run_status(meta), "started": meta.get("started")})
    return rows


def _total_steps(config_path: Path):
    from rlforge.config import read_yaml
    from rlforge.errors import RLForgeError

    try:
        return read_yaml(config_path).get("total_steps")
    except RLForgeError:
        return None


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
        steps = (f"{r['step']:,}" if isinstance(r["step"], int) else "") + (
            f"/{r['total_steps']:,}" if isinstance(r["total_steps"], int) else "")
        last = f"{r['last_eval_return']:.1f}" if isinstance(r["last_eval_return"], (int, float)) else ""
        colour = colours.get(r["status"], "white")
        text = [("" if r[key] is None else str(r[key])) for key in ("algo", "env", "seed", "status")]
        table.add_row(str(Path(r["run"]).relative_to(root)), text[0], text[1], text[2], steps, last,
                      f"[{colour}]{text[3]}[/]")
    out.print(table)
