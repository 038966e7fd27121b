"""`rlforge list`, `rlforge list envs`, `rlforge plugins` and `rlforge config`: what is installed.

These commands must not import torch (`rlforge list` finishes in well under half a second).
A listing is a table where the table fits the terminal without wrapping a cell; in a
narrower terminal (80 columns) each item is a line of its short fields with its text wrapped
beneath it, since a table squeezed that narrow wraps every summary into a column of words.
"""

import json
import textwrap
from dataclasses import asdict

import click
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from rlforge.console import out as console
from rlforge.plugins import get_registry

INDENT = "    "  # of the text under an item in the narrow layout


def _print_json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def _fits(table: Table) -> bool:
    """Whether every cell of `table` fits on one line in this terminal."""
    unbounded = console.options.update_width(1 << 16)  # measure() caps at the terminal otherwise
    return Measurement.get(console, unbounded, table).maximum <= console.width


def _print_item(heading: Text, text: str) -> None:
    """One item of the narrow layout: its heading, then `text` wrapped and indented beneath it."""
    width = max(20, console.width)
    console.print(heading, overflow="fold", soft_wrap=False, highlight=False)
    for line in textwrap.wrap(text, width=width - len(INDENT), break_long_words=True, break_on_hyphens=False):
        console.print(Text(INDENT + line), highlight=False)


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
    if not specs:
        console.print("no algorithms installed; see 'rlforge plugins'")
        return
    table = Table(title="algorithms")
    for column in ("name", "plugin", "version", "action spaces", "summary"):
        table.add_column(column)
    for s in specs:
        table.add_row(s.name, s.plugin, s.version, ", ".join(s.action_spaces), s.summary)
    if _fits(table):
        console.print(table)
        return
    console.print(Text(f"algorithms ({len(specs)}): name, action spaces, plugin and version, then summary", "bold"))
    name_width = max(len(s.name) for s in specs)
    spaces_width = max(len(", ".join(s.action_spaces)) for s in specs)
    for s in specs:
        spaces = ", ".join(s.action_spaces).ljust(spaces_width)
        _print_item(Text.assemble((s.name.ljust(name_width), "bold"), f"  {spaces}  {s.plugin} {s.version}"), s.summary)


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
    if _fits(table) or not rows:
        console.print(table)
        return
    console.print(Text(f"environments ({len(rows)}): id and source, then summary", "bold"))
    id_width = max(len(r["id"]) for r in rows)
    for r in rows:
        _print_item(Text.assemble((r["id"].ljust(id_width), "bold"), "  ", r["source"]), r["summary"])


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
    rows, engine_keys = [], set()
    for cls in (cfgmod.RunConfig, spec.config_class()):
        types, helps = cfgmod.field_types(cls), cfgmod.field_help(cls)
        defaults = asdict(cls())
        for key in types:
            rows.append({"key": key, "type": _type_name(types[key]), "default": defaults[key], "help": helps[key]})
        if cls is cfgmod.RunConfig:
            engine_keys = set(types)
    if env:
        resolved = cfgmod.resolve(spec, env, None, {})
        values = resolved.to_dict()
        for row in rows:
            row["value"] = values[row["key"]]
    if as_json:
        _print_json(rows)
        return
    title = f"{algo} config" + (f" for {env}" if env else "")
    table = Table(title=title)
    for column in ("key", "type", "default", *(["value"] if env else []), "help"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["key"], row["type"], str(row["default"]), *([str(row["value"])] if env else []), row["help"])
    if _fits(table):
        console.print(table)
        return
    console.print(Text(title, "bold"))
    console.print("key: type = value  (the default, where the preset changes it)" if env else "key: type = default",
                  highlight=False)
    for section, in_section in (("engine keys, shared by every algorithm", True), (f"{algo} keys", False)):
        console.print(Text(f"\n{section}", "bold underline"))
        for row in rows:
            if (row["key"] in engine_keys) == in_section:
                _print_item(_config_heading(row, env is not None), row["help"])


def _config_heading(row: dict, with_value: bool) -> Text:
    """'key: type = value' (the default in brackets where a preset changed it)."""
    value = row["value"] if with_value else row["default"]
    heading = Text.assemble((row["key"], "bold"), f": {row['type']} = {value}")
    if with_value and row["value"] != row["default"]:
        heading.append(f"  (default {row['default']})", "dim")
    return heading


def _type_name(annotation) -> str:
    """A config key's type as a user writes it: `float | None`, `bool | Literal['critic', 'actor']`."""
    import types
    import typing

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " | ".join("None" if arg is type(None) else _type_name(arg) for arg in typing.get_args(annotation))
    return str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
