"""The hooks a plugin may implement. Mark implementations with `rlforge.hookimpl`.

Registration hooks receive a `register` function (the style of simonw/llm), so a plugin
adds what it has with one call per item and needs no return values. Lifecycle hooks are
called by the engine; they must not change the arguments they receive.
"""

import pluggy

hookspec = pluggy.HookspecMarker("rlforge")
hookimpl = pluggy.HookimplMarker("rlforge")


@hookspec
def register_algorithms(register):
    """Add algorithms: call `register(AlgorithmSpec(...))` once for each.

    Called when the registry is first built. Must not import torch: the agent and its
    config are named by import strings and imported only when training starts.
    """


@hookspec
def register_envs(register):
    """Add environment ids: call `register(EnvSpec(...))` once for each."""


@hookspec
def register_trackers(register):
    """Add experiment trackers: call `register(TrackerSpec(...))` once for each. A run logs to
    the trackers its `track` config key names (`rlforge train --track NAME`); the tracker itself
    works through the lifecycle hooks (rlforge.tracking.TrackerPlugin does the common part)."""


@hookspec
def register_commands(cli):
    """Add commands to the `rlforge` click group: `@cli.command()` or `cli.add_command(...)`."""


@hookspec
def on_train_start(run, agent, config):
    """A run is about to start (or resume). `run` is the Run (run directory and counters)."""


@hookspec
def on_iteration_end(run, metrics):
    """One engine iteration finished. `metrics` maps tag -> value for this iteration."""


@hookspec
def on_log(run, step, metrics):
    """Scalars were logged at env step `step`: `metrics` maps TensorBoard tag -> value, exactly
    what went to TensorBoard and metrics.csv (metric rows, episode statistics, evaluations)."""


@hookspec
def on_evaluation(run, result):
    """A periodic evaluation finished. `result` is an EvalResult (returns, lengths, step)."""


@hookspec
def on_checkpoint(run, path):
    """A checkpoint was written to `path` (a folder)."""


@hookspec
def on_train_end(run, status):
    """The run ended with `status`: "finished", "stopped" or "crashed"."""
