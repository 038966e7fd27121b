"""Registers `bc`, `dagger` and `bc-sac`, and the commands `rlforge collect` and `rlforge expert`.
Imports neither torch nor gymnasium."""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="bc",
        summary="Behaviour cloning: supervised learning of an expert's actions from a dataset (CS285 hw1)",
        action_spaces=("box",),
        config="rlforge_imitation.config:BCConfig",
        agent="rlforge_imitation.agent:BCAgent",
    ))
    register(AlgorithmSpec(
        name="dagger",
        summary="DAgger: BC, then relabel the learner's visited states with the expert's actions and retrain",
        action_spaces=("box",),
        config="rlforge_imitation.config:DAggerConfig",
        agent="rlforge_imitation.agent:DAggerAgent",
    ))
    register(AlgorithmSpec(
        name="bc-sac",
        summary="Imitation-seeded SAC: actor cloned from expert data, critics fitted to its returns, then SAC",
        action_spaces=("box",),
        config="rlforge_imitation.config:BCSACConfig",
        agent="rlforge_imitation.bc_sac:BCSACAgent",
        presets="rlforge_imitation:presets/bc-sac",
    ))


@hookimpl
def register_commands(cli):
    from rlforge_imitation.commands import collect, expert

    cli.add_command(collect)
    cli.add_command(expert)
