"""Command-line options shared by commands of the core and of plugins."""

from __future__ import annotations

import click


def reference_options(command):
    """--ref NAME, --ref-random R, --ref-expert E: the reference returns a written dataset stores
    (rlforge.datasets.reference.references_from_options checks and resolves them)."""
    options = [
        click.option("--ref", "ref", type=click.Choice(["d4rl"]),
                     help="Store D4RL's published reference returns for the env (Hopper, HalfCheetah, Walker2d)."),
        click.option("--ref-random", type=float, metavar="R",
                     help="Reference return of a random policy (normalised score 0); needs --ref-expert."),
        click.option("--ref-expert", type=float, metavar="E",
                     help="Reference return of an expert (normalised score 100); needs --ref-random."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
