"""`rlforge plugin new NAME` (write a plugin distribution) and `rlforge plugin check ALGO`
(run the conformance kit). Importing this module imports neither torch nor gymnasium."""

import json
import sys

import click

from rlforge.scaffold import DEFAULT_TEMPLATE, TEMPLATES


@click.group("plugin")
def plugin():
    """Write and check algorithm plugins (see docs/plugins.md)."""


@plugin.command("new")
@click.argument("name")
@click.option("--template", "-t", "kind", type=click.Choice(list(TEMPLATES)), default=DEFAULT_TEMPLATE,
              show_default=True, help="The algorithm to start from (see Templates).")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder in which to create rlforge-NAME/.")
def new(name, kind, directory):
    """Write a ready-to-install plugin distribution rlforge-NAME/ for algorithm NAME.

    It holds a pyproject.toml with the 'rlforge' entry point, the package rlforge_NAME (a config,
    an agent that trains, a preset) and a test that runs the conformance kit. NAME: lowercase
    letters, digits and underscores, starting with a letter. An existing folder is never
    overwritten.

    \b
    Templates:
      onpolicy   REINFORCE with reward-to-go; discrete actions (CartPole-v1)
      offpolicy  DDPG-style actor-critic on rlforge's ReplayBuffer; Box actions
                 (Pendulum-v1)
      offline    filtered behaviour cloning from a dataset; discrete actions
                 (CartPole-v1)

    \b
    Example:
      rlforge plugin new myalgo && pip install -e rlforge-myalgo
      rlforge train --algo myalgo --env CartPole-v1 --steps 2000
    """
    from rlforge import scaffold

    target = scaffold.create(name, directory, kind=kind)
    chosen = scaffold.TEMPLATES[kind]
    steps = [f"pip install -e {target}", "rlforge list"]
    if chosen.prepare:
        steps.append(chosen.prepare.format(package=f"rlforge_{name}"))
    steps += [f"rlforge train --algo {name} --env {chosen.env} {chosen.first_run}", f"pytest {target}/tests"]
    click.echo(f"created {target}/ (algorithm {name!r}, package rlforge_{name}, template {kind})\nnext:\n"
               + "\n".join(f"  {step}" for step in steps))


@plugin.command("check")
@click.argument("algo")
@click.option("--env", "-e", "envs", multiple=True, metavar="ENV",
              help="Env to train on; repeatable (default: Pendulum-v1 for box, CartPole-v1 for discrete actions).")
@click.option("--steps", type=int, default=300, show_default=True, help="Env steps per training run.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the runs.")
@click.option("--set", "-s", "set_pairs", multiple=True, metavar="KEY=VALUE",
              help="Config override applied over the kit's small settings; repeatable.")
@click.option("--only", multiple=True, metavar="CHECK",
              help="Run only the checks whose name starts with this (and registration); repeatable.")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the runs in this folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(algo, envs, steps, seed, set_pairs, only, keep, as_json):
    """Run the conformance kit on algorithm ALGO (exit status 1 if a check fails).

    Checks: registration without torch, config defaults, a short training run per claimed action
    space, acting without a graph, checkpoint round trip, same seed same metrics, and refusal
    of an unclaimed action space.
    """
    from rlforge.config import parse_overrides
    from rlforge.plugins import get_registry
    from rlforge.testing import check_plugin

    get_registry().algorithm(algo)  # an unknown name: one-line error with suggestions
    # the kit's runs print nothing, so say what the wait is for (on stderr: stdout is the report)
    click.echo(f"checking {algo!r}: short runs of {steps:,} steps through the engine; the report follows", err=True)
    report = check_plugin(algo, envs=list(envs) or None, steps=steps, seed=seed, overrides=parse_overrides(set_pairs),
                          checks=list(only) or None, workdir=keep, raise_on_failure=False)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.summary())
    sys.exit(0 if report.ok else 1)
