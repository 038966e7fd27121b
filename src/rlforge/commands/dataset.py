"""`rlforge dataset list|info|create`: Minari datasets under MINARI_DATASETS_PATH, what a
dataset holds, and a Minari dataset made from a run. Heavy imports happen inside the commands."""

import json
import shlex
import sys
from pathlib import Path

import click

from rlforge.commands.options import reference_options


@click.group()
def dataset():
    """Offline datasets: list the local Minari datasets, describe one, create one from a run."""


@dataset.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def dataset_list(as_json):
    """The Minari datasets under MINARI_DATASETS_PATH (default ~/.minari/datasets): id,
    episodes, steps, env and size on disk."""
    from rich.table import Table

    from rlforge.console import out
    from rlforge.datasets import minari_root
    from rlforge.datasets.summary import find_minari_datasets, listing_row

    root = minari_root()
    rows = [listing_row(folder, root) for folder in find_minari_datasets(root)] if root.is_dir() else []
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print(f"no Minari datasets under {root} (set MINARI_DATASETS_PATH to look elsewhere)")
        return
    table = Table(title=f"Minari datasets under {root} ({len(rows)})")
    table.add_column("id", overflow="fold")
    for column in ("episodes", "steps", "env", "size"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("episodes", "steps", "size") else "left")
    for r in rows:
        table.add_row(r["id"], _count(r["episodes"]), _count(r["steps"]), r["env"] or "",
                      _size(r["size_bytes"]), end_section=False)
        if r.get("error"):
            table.add_row(f"[red]  {r['error']}[/]", "", "", "", "")
    out.print(table)


@dataset.command("info")
@click.argument("name", metavar="PATH|ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dataset_info(name, as_json):
    """What a dataset holds: episodes, transitions, spaces, return and episode-length
    statistics, and where it came from. PATH|ID: a Minari folder or id, a run directory, an
    rlforge .npz or a CS285 .pkl."""
    from rlforge.datasets import load_dataset
    from rlforge.datasets.summary import describe

    summary = describe(load_dataset(name), name)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


@dataset.command("create")
@click.option("--from-run", "run_dir", type=click.Path(file_okay=False), metavar="RUN_DIR",
              help="A run directory (its dataset/, else its latest checkpoint's replay buffer) or checkpoint folder.")
@click.option("--from", "sources", metavar="PATH|ID", multiple=True,
              help="Any dataset rlforge reads (.npz, CS285 .pkl, Minari folder or id, run or checkpoint folder); "
                   "repeat it to concatenate datasets of one env (D4RL's medium-expert: --from M --from E).")
@click.option("--out", "-o", type=click.Path(), metavar="FOLDER", help="Minari dataset folder to write (must not exist).")
@click.option("--id", "dataset_id", metavar="NAMESPACE/NAME-vN", help="Write into MINARI_DATASETS_PATH under this id.")
@click.option("--env", "-e", "env_id", help="The env whose spaces the data has (when the source does not say).")
@click.option("--description", help="A description kept in the dataset's metadata.")
@reference_options
def dataset_create(run_dir, sources, out, dataset_id, env_id, description, ref, ref_random, ref_expert):
    """Write a Minari dataset from a run (--from-run) or other datasets (--from, repeatable: their
    concatenation), to a folder (--out) or under an id in MINARI_DATASETS_PATH (--id), with its
    recipe and, if given, reference returns (--ref d4rl, or --ref-random and --ref-expert)."""
    from rlforge.console import console
    from rlforge.datasets import minari_root, save_minari
    from rlforge.datasets.minari_files import check_dataset_id
    from rlforge.datasets.reference import check_reference_options, references_from_options
    from rlforge.errors import RLForgeError

    if (run_dir is None) == (not sources):
        raise RLForgeError("give one of --from-run RUN_DIR and --from PATH|ID (repeatable)")
    if (out is None) == (dataset_id is None):
        raise RLForgeError("give one of --out FOLDER and --id NAMESPACE/NAME-vN")
    folder = minari_root() / check_dataset_id(dataset_id) if dataset_id is not None else Path(out)
    if folder.exists():
        raise RLForgeError(f"{str(folder)!r} already exists; refusing to overwrite it")
    check_reference_options(ref, ref_random, ref_expert)
    references = references_from_options(ref, ref_random, ref_expert, env_id) if env_id or not ref else None
    if run_dir is not None and not Path(run_dir).is_dir():
        raise RLForgeError(f"run directory {run_dir!r} does not exist")
    names = [run_dir] if run_dir is not None else list(sources)
    parts, env_id, observation_space, action_space = _load_sources(names, run_dir is not None, env_id)
    if ref and references is None:
        references = references_from_options(ref, None, None, env_id)
    command = "rlforge " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if len(parts) > 1:
        from rlforge.datasets.mixing import concatenate

        data = concatenate(parts, env_id, references)
        data.metadata["recipe"]["command"] = command
        extra = {"command": command, "created_from": names}
    else:
        data = parts[0][1]
        recipe = {"created_from": names[0], "command": command}
        recipe.update({key: data.metadata[key] for key in ("checkpoint", "step", "training_command", "recipe")
                       if data.metadata.get(key) is not None})
        extra = {"command": command, "created_from": names[0], "recipe": recipe}
        if data.metadata.get("command"):  # the run's training command, or the command that recorded the data
            extra["source_command"] = data.metadata["command"]
        if references is not None:
            from rlforge.datasets import with_reference_returns

            with_reference_returns(data, references.random, references.expert)
    if description:
        extra["description"] = description
    written = save_minari(data, folder, observation_space, action_space, env_id=env_id, dataset_id=dataset_id,
                          metadata=extra)
    console.print(f"wrote {len(data.episode_bounds()):,} episodes ({len(data):,} transitions)"
                  f"{f' of {env_id}' if env_id else ''} -> {written}")


def _load_sources(names: list[str], from_run: bool, env_id: str | None):
    """[(name, dataset)], the env id and the spaces of the sources, each checked against its
    spaces, all of one env and one pair of spaces (one-line error naming the first that differs)."""
    from rlforge.datasets import check_dataset, load_dataset
    from rlforge.datasets.from_run import load_run_dataset
    from rlforge.datasets.mixing import check_same_spaces

    parts, found = [], []
    for name in names:
        data = load_run_dataset(name) if from_run else load_dataset(name)
        own_env = env_id or data.metadata.get("env")
        observation_space, action_space = dataset_spaces(data, own_env)
        check_dataset(data, observation_space, action_space, name)
        parts.append((name, data))
        found.append((name, own_env, observation_space, action_space))
    check_same_spaces(found)
    env_id = next((env for _, env, _, _ in found if env), None)
    return parts, env_id, found[0][2], found[0][3]


def dataset_spaces(data, env_id):
    """The spaces a dataset's data lives in: its env's (from the registry) when an env is
    known, else the spaces the dataset stores."""
    from rlforge.datasets import space_from_json
    from rlforge.errors import RLForgeError

    if env_id:
        from rlforge.envs import env_spaces
        from rlforge.plugins import get_host

        registry = get_host().registry
        registry.check_env(env_id)
        return env_spaces(env_id, registry.envs.get(env_id))
    stored = [data.metadata.get(key) for key in ("observation_space", "action_space")]
    if all(stored):
        return tuple(space_from_json(text, key) for text, key in zip(stored, ("observation space", "action space")))
    raise RLForgeError("the source does not say which env its data is from: pass --env ENV_ID")


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else ""


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def _stats(stats: dict | None, digits: int = 1) -> str:
    if not stats:
        return "no finished episode"
    return (f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f} "
            f"(min {stats['min']:.{digits}f}, max {stats['max']:.{digits}f})")


def _print_summary(summary: dict) -> None:
    from rich.table import Table

    from rlforge.console import out

    table = Table(title=f"dataset {summary['name']}", show_header=False, box=None, padding=(0, 2))
    unfinished = summary["episodes"] - summary["finished_episodes"]
    rows = [
        ("format", summary["format"]), ("source", summary["source"]), ("id", summary["dataset_id"]),
        ("env", summary["env"]),
        ("episodes", f"{summary['episodes']:,}" + (f" (the last one unfinished)" if unfinished else "")),
        ("transitions", f"{summary['transitions']:,} ({summary['terminations']:,} terminated, "
                        f"{summary['truncations']:,} truncated)"),
        ("observations", f"{tuple(summary['observations']['shape'])} {summary['observations']['dtype']}"),
        ("actions", f"{tuple(summary['actions']['shape'])} {summary['actions']['dtype']}"),
        ("observation space", _space_text(summary["observation_space"])),
        ("action space", _space_text(summary["action_space"])),
        ("return", _stats(summary["return"])), ("episode length", _stats(summary["episode_length"])),
    ]
    refs = summary.get("reference_returns")
    if refs:
        rows.append(("reference returns", refs.get("error") or f"random {refs['random']:g}, expert {refs['expert']:g} "
                                                                 "(normalised score 0 and 100)"))
    rows += [(key.replace("_", " "), json.dumps(value) if isinstance(value, (dict, list)) else str(value))
             for key, value in summary["provenance"].items()]
    for key, value in rows:
        if value is not None:
            table.add_row(key, str(value))
    out.print(table)


def _space_text(text) -> str | None:
    """A stored space as Gymnasium prints it (the raw JSON when rlforge does not read it)."""
    if not text:
        return None
    from rlforge.datasets import space_from_json
    from rlforge.errors import RLForgeError

    try:
        return repr(space_from_json(text))
    except RLForgeError:
        return str(text)
