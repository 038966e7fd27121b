"""The built-in plugin: the core's own commands arrive through the same hooks as any plugin's."""

from rlforge.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    from rlforge.commands.compare import compare
    from rlforge.commands.dataset import dataset
    from rlforge.commands.evaluate import eval_
    from rlforge.commands.export import export
    from rlforge.commands.listing import config_, list_, plugins
    from rlforge.commands.plot import plot
    from rlforge.commands.plugin import plugin
    from rlforge.commands.runs import runs
    from rlforge.commands.sweep import sweep
    from rlforge.commands.train import train
    from rlforge.commands.tune import tune

    for command in (train, eval_, export, runs, list_, plugins, config_, plugin, sweep, tune, plot, compare, dataset):
        cli.add_command(command)
