"""`rlforge collect` (record a policy's episodes or steps into a dataset) and `rlforge expert`
(list, export, evaluate experts). Heavy imports happen inside the commands."""

from __future__ import annotations

import json
import shlex
import sys

import click

from rlforge.commands.options import reference_options


def _command_line() -> str:
    return "rlforge " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def rollouts(policy, env_id: str, episodes: int, seed: int, deterministic: bool = True, action_noise: float = 0.0):
    """`episodes` whole episodes of `policy` on one copy of `env_id`, seeded from `seed`
    (rlforge.datasets.recording.record, which `rlforge collect` runs)."""
    from rlforge.datasets.recording import record
    from rlforge.plugins import get_host

    return record(policy, env_id, episodes=episodes, seed=seed, deterministic=deterministic, action_noise=action_noise,
                  plugin_spec=get_host().registry.envs.get(env_id))


def _env_spaces(env_id: str):
    from rlforge.envs import env_spaces
    from rlforge.plugins import get_host

    registry = get_host().registry
    registry.check_env(env_id)
    return env_spaces(env_id, registry.envs.get(env_id))


def _collect_target(out, dataset_id, data_format, force=False):
    """(format, path) to write: --id means a Minari dataset in MINARI_DATASETS_PATH; --out
    means npz when it ends in .npz, else a Minari folder (unless --format says otherwise).
    An existing target is refused before anything is recorded (an npz is replaced with --force)."""
    from pathlib import Path

    from rlforge.datasets import minari_root
    from rlforge.datasets.minari_files import check_dataset_id
    from rlforge.errors import RLForgeError

    if (out is None) == (dataset_id is None):
        raise RLForgeError("give one of --out FILE.npz|FOLDER and --id NAMESPACE/NAME-vN")
    if dataset_id is not None:
        if data_format == "npz":
            raise RLForgeError("--id writes a Minari dataset; use --out FILE.npz for the npz format")
        return "minari", minari_root() / check_dataset_id(dataset_id)
    data_format = data_format or ("npz" if Path(out).suffix == ".npz" else "minari")
    path = Path(out)
    if data_format == "minari" and path.exists():
        raise RLForgeError(f"{str(path)!r} already exists; refusing to overwrite it")
    if data_format == "npz":
        path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")  # save_dataset's name
        if path.exists() and not force:
            raise RLForgeError(f"{str(path)!r} already exists; refusing to overwrite it (--force replaces it)")
    return data_format, path


@click.command()
@click.option("--policy", "-p", "policy_name", required=True, metavar="EXPERT|random",
              help="A shipped expert's name, an rlforge expert file, a run or checkpoint folder, a CS285 .pkl, "
                   "or `random` (uniformly random actions).")
@click.option("--env", "-e", "env_id", required=True, help="Environment id.")
@click.option("--episodes", "-n", type=click.IntRange(min=1), help="Episodes to record (default 10).")
@click.option("--steps", type=click.IntRange(min=1), metavar="N",
              help="Record exactly N transitions instead; the last episode is cut there (marked truncated).")
@click.option("--out", "-o", type=click.Path(), metavar="FILE.npz|FOLDER",
              help="Where to write: FILE.npz (rlforge's npz) or a Minari dataset folder (must not exist).")
@click.option("--id", "dataset_id", metavar="NAMESPACE/NAME-vN",
              help="Write a Minari dataset into MINARI_DATASETS_PATH under this id (instead of --out).")
@click.option("--format", "data_format", type=click.Choice(["minari", "npz"]),
              help="Dataset format (default: npz when --out ends in .npz, else minari).")
@click.option("--force", is_flag=True, help="Replace an existing .npz (a Minari folder is never replaced).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the first episode's reset.")
@click.option("--deterministic/--stochastic", default=True, show_default=True,
              help="Act with the policy's deterministic action, or sample (experts always act deterministically).")
@click.option("--action-noise", type=click.FloatRange(min=0.0), default=0.0, show_default=True, metavar="STD",
              help="Gaussian noise of this standard deviation added to each action, clipped to the action bounds.")
@reference_options
def collect(policy_name, env_id, episodes, steps, out, dataset_id, data_format, force, seed, deterministic,
            action_noise, ref, ref_random, ref_expert):
    """Record EPISODES episodes (or exactly N steps) of a policy into a dataset: a Minari folder
    (or id) or an rlforge .npz (no pickle), with its recipe and, if given, reference returns."""
    from gymnasium import spaces

    from rlforge.console import console
    from rlforge.datasets import with_reference_returns
    from rlforge.datasets.recording import RandomPolicy, record
    from rlforge.datasets.reference import references_from_options
    from rlforge.errors import RLForgeError
    from rlforge.plugins import get_host
    from rlforge_imitation.datasets import save_dataset, save_minari

    if episodes is not None and steps is not None:
        raise RLForgeError("give --episodes or --steps, not both")
    if steps is None:
        episodes = episodes or 10
    data_format, path = _collect_target(out, dataset_id, data_format, force)
    observation_space, action_space = _env_spaces(env_id)
    references = references_from_options(ref, ref_random, ref_expert, env_id)
    if action_noise > 0 and not isinstance(action_space, spaces.Box):
        raise RLForgeError(f"--action-noise needs continuous (Box) actions; {env_id} has {action_space}")
    if policy_name == RandomPolicy.name:
        policy, mode = RandomPolicy(action_space, seed), "uniformly random"
    else:
        from rlforge_imitation.experts import load_expert  # torch: only once the arguments are known to be good

        policy = load_expert(policy_name, observation_space, action_space)
        mode = "deterministic" if deterministic else "stochastic"
    dataset = record(policy, env_id, episodes=episodes, steps=steps, seed=seed, deterministic=deterministic,
                     action_noise=action_noise, plugin_spec=get_host().registry.envs.get(env_id))
    recipe = _recipe(policy_name, env_id, episodes, steps, seed, deterministic, action_noise)
    dataset.metadata.update({"policy": policy_name, "deterministic": deterministic, "command": recipe["command"],
                             "recipe": recipe,
                             "algorithm_name": f"{policy_name} ({mode}"
                                               + (f", action noise {action_noise:g})" if action_noise else ")")})
    if references is not None:
        with_reference_returns(dataset, references.random, references.expert)
    if data_format == "npz":
        path = save_dataset(dataset, path)
    else:
        path = save_minari(dataset, path, observation_space, action_space, env_id=env_id, dataset_id=dataset_id)
    stats = dataset.metadata.get("return_statistics")
    finished = dataset.metadata["finished_episodes"]
    cut = " and one cut at the end" if dataset.metadata.get("last_episode_cut") else ""
    returns = f"return {stats['mean']:.1f} ± {stats['std']:.1f}" if stats else "no episode finished"
    console.print(f"recorded {len(dataset):,} steps ({finished:,} whole episodes{cut}) of {policy_name} on {env_id}: "
                  f"{returns} -> {path}")


def _recipe(policy_name, env_id, episodes, steps, seed, deterministic, action_noise) -> dict:
    """What `rlforge collect` ran, to rebuild the dataset: the policy (a run folder resolved
    to the checkpoint it loaded), the env, the amount, the seed, the noise, the command."""
    from pathlib import Path

    recipe = {"policy": policy_name, "env": env_id, "seed": seed, "deterministic": deterministic,
              "action_noise": action_noise, "command": _command_line()}
    recipe["episodes" if steps is None else "steps"] = episodes if steps is None else steps
    path = Path(policy_name).expanduser()
    if path.exists():
        recipe["policy_path"] = str(path.resolve())
        if path.is_dir():
            from rlforge import checkpoint
            from rlforge.errors import RLForgeError

            try:
                recipe["policy_checkpoint"] = str(checkpoint.resolve(path).resolve())
            except (RLForgeError, OSError):  # the policy loaded already; the recipe then names the folder only
                pass
    return recipe


@click.group()
def expert():
    """Expert policies for imitation: list the shipped ones, export one from a run, evaluate one."""


@expert.command("list")
def expert_list():
    """The shipped experts and datasets, with their measured returns."""
    from rich.table import Table

    from rlforge.console import out
    from rlforge_imitation.experts import shipped_dir, shipped_experts

    table = Table(title="shipped experts")
    for column in ("name", "network", "return (measured)", "source", "dataset"):
        table.add_column(column)
    for name in shipped_experts():
        info = json.loads((shipped_dir() / f"{name}.json").read_text())
        ev, net = info.get("evaluation", {}), info["network"]
        data = shipped_dir() / f"{name}.npz"
        table.add_row(name, f"{net['hidden']} {net['activation']}",
                      f"{ev.get('return_mean', float('nan')):.1f} ± {ev.get('return_std', float('nan')):.1f} ({ev.get('episodes', '?')} ep.)",
                      f"{info.get('source', {}).get('algo', '?')}, step {info.get('source', {}).get('step', '?')}",
                      data.name if data.is_file() else "")
    out.print(table)


@expert.command("export")
@click.argument("source", metavar="RUN_DIR|CHECKPOINT|CS285.pkl")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Expert file to write: FILE.json and FILE.safetensors.")
@click.option("--env", "-e", "env_id", help="Env id (needed for a CS285 pickle; a run knows its env).")
@click.option("--eval-episodes", type=click.IntRange(min=0), default=10, show_default=True,
              help="Deterministic episodes to measure the exported expert's return (0: skip).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the evaluation episodes.")
@click.option("--force", is_flag=True, help="Replace existing FILE.json and FILE.safetensors.")
def expert_export(source, out, env_id, eval_episodes, seed, force):
    """Write an rlforge expert file from a SAC, bc-sac or CrossQ run or checkpoint (its actor's
    mean action only) or from a CS285 expert pickle; measure its return."""
    from pathlib import Path

    from rlforge.console import console
    from rlforge.errors import RLForgeError
    from rlforge.runs import try_read_meta
    from rlforge_imitation.experts import (EXPORTABLE_ALGOS, expert_files, export_sac_actor, load_cs285,
                                           load_run_policy, save_expert)

    existing = [str(file) for file in expert_files(out) if file.exists()]
    if existing and not force:
        raise RLForgeError(f"{existing[0]!r} already exists; refusing to overwrite it (--force replaces it)")
    if Path(source).suffix in (".pkl", ".pickle"):
        if not env_id:
            raise RLForgeError("a CS285 pickle does not name its env: pass --env")
        _, action_space = _env_spaces(env_id)
        exported = load_cs285(source, action_space)
        info = {"env": env_id, "source": {"format": "cs285", "file": str(source)}}
    else:
        policy, metadata = load_run_policy(source)
        if metadata["algo"] not in EXPORTABLE_ALGOS:
            raise RLForgeError(f"only {', '.join(EXPORTABLE_ALGOS)} runs can be exported (this one is "
                               f"{metadata['algo']!r}); other runs can be used as experts directly by their run directory")
        if env_id and env_id != metadata["env"]:
            raise RLForgeError(f"--env {env_id} disagrees with the run's env {metadata['env']}")
        env_id = metadata["env"]
        observation_space, _ = _env_spaces(env_id)
        import numpy as np

        exported = export_sac_actor(policy, int(np.prod(observation_space.shape)))
        info = {"env": env_id, "source": {"algo": metadata["algo"], "checkpoint": metadata["checkpoint"],
                                          "step": metadata["counters"]["step"], "seed": metadata["config"].get("seed"),
                                          "plugin_version": metadata.get("plugin_version")}}
        run_info = try_read_meta(Path(metadata["checkpoint"]).parent.parent)  # RUN_DIR/checkpoints/step_N
        if run_info is not None:
            info["source"]["training_command"] = run_info.get("command")
            if run_info.get("resume_commands"):
                info["source"]["resume_commands"] = run_info["resume_commands"]
    info["export_command"] = _command_line()
    if eval_episodes:
        info["evaluation"] = _evaluate(exported, env_id, eval_episodes, seed)
    files = save_expert(exported, out, info)
    line = f"wrote {files[0]} and {files[1]}"
    if eval_episodes:
        ev = info["evaluation"]
        line += f"; return {ev['return_mean']:.1f} ± {ev['return_std']:.1f} over {eval_episodes} deterministic episodes"
    console.print(line)


@expert.command("eval")
@click.argument("name", metavar="EXPERT")
@click.option("--env", "-e", "env_id", required=True, help="Environment id.")
@click.option("--episodes", "-n", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def expert_eval(name, env_id, episodes, seed, as_json):
    """Deterministic return of any expert on an env."""
    from rlforge.console import out
    from rlforge_imitation.experts import load_expert

    observation_space, action_space = _env_spaces(env_id)
    summary = _evaluate(load_expert(name, observation_space, action_space), env_id, episodes, seed)
    if as_json:
        click.echo(json.dumps({"expert": name, "env": env_id, **summary}, indent=2))
    else:
        out.print(f"{name} on {env_id}: return {summary['return_mean']:.1f} ± {summary['return_std']:.1f} "
                  f"(min {summary['return_min']:.1f}, max {summary['return_max']:.1f}) over {episodes} deterministic episodes")


def _evaluate(policy, env_id: str, episodes: int, seed: int) -> dict:
    from rlforge.envs import EnvAdapter
    from rlforge.evaluation import evaluate
    from rlforge.plugins import get_host

    env = EnvAdapter(env_id, min(episodes, 10), seed, "sync", get_host().registry.envs.get(env_id))
    try:
        result = evaluate(policy, env, episodes, True, seed=seed)
    finally:
        env.close()
    return {**result.summary, "episodes": episodes, "seed": seed}
