"""`rlforge list`, `rlforge list envs`, `rlforge plugins` and `rlforge config`: what is installed.

These commands must not import torch (`rlforge list` finishes in well under half a second).
"""

import json
from dataclasses import asdict

import click
from rich.table import Table

from rlforge.console import out as console
from rlforge.plugins import get_registry


def _print_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


@click.group("list", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def list_(ctx, as_json):
    """List installed algorithms (or, with 'envs', environments)."""
    if ctx.invoked_subcommand is not None:
        return
    specs = sorted(get_registry().algorithms.values(), key=lambda s: s.name)
    if as_json:
        _print_json([{"name": s.name, "plugin": s.plugin, "version": s.version,
                      "action_spaces": list(s.action_spaces), "summary": s.summary} for s in specs])
        return
    table = Table(title="algorithms")
    for column in ("name", "plugin", "version", "action spaces", "summary"):
        table.add_column(column)
    for s in specs:
        table.add_row(s.name, s.plugin, s.version, ", ".join(s.action_spaces), s.summary)
    console.print(table) if specs else console.print("no algorithms installed; see 'rlforge plugins'")


@list_.command("envs")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--filter", "pattern", help="Show only ids containing this text (case-insensitive).")
def list_envs(as_json, pattern):
    """List environment ids: every Gymnasium id plus those plugins register."""
    registry = get_registry()
    rows = [{"id": env_id, "source": registry.envs[env_id].plugin if env_id in registry.envs else "gymnasium",
             "summary": registry.envs[env_id].summary if env_id in registry.envs else ""}
            for env_id in registry.env_ids()]
    if pattern:
        rows = [r for r in rows if pattern.lower() in r["id"].lower()]
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"environments ({len(rows)})")
    for column in ("id", "source", "summary"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["id"], r["source"], r["summary"])
    console.print(table)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json):
    """List plugins: distribution, version, hooks implemented, and load status with any error."""
    infos = get_registry().plugins
    if as_json:
        _print_json([asdict(p) for p in infos])
        return
    table = Table(title="plugins")
    for column in ("name", "distribution", "version", "hooks", "status"):
        table.add_column(column)
    for p in infos:
        status = "[green]loaded[/]" if p.status == "loaded" else f"[red]failed[/]: {p.error}"
        table.add_row(p.name, p.distribution, p.version, ", ".join(p.hooks), status)
    console.print(table)


@click.command("config")
@click.argument("algo")
@click.option("--env", "-e", help="Show the values after this env's preset is applied.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def config_(algo, env, as_json):
    """Show an algorithm's config keys with their types, values and help."""
    from rlforge import config as cfgmod

    spec = get_registry().algorithm(algo)
    rows = []
    for cls, values in ((cfgmod.RunConfig, None), (spec.config_class(), None)):
        types, helps = cfgmod.field_types(cls), cfgmod.field_help(cls)
        defaults = asdict(cls())
        for key in types:
            rows.append({"key": key, "type": _type_name(types[key]), "default": defaults[key], "help": helps[key]})
    if env:
        resolved = cfgmod.resolve(spec, env, None, {})
        values = resolved.to_dict()
        for row in rows:
            row["value"] = values[row["key"]]
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"{algo} config" + (f" for {env}" if env else ""))
    for column in ("key", "type", "default", *(["value"] if env else []), "help"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["key"], row["type"], str(row["default"]), *([str(row["value"])] if env else []), row["help"])
    console.print(table)


def _type_name(annotation) -> str:
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
