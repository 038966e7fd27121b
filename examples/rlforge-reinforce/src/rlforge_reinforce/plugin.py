"""Registers the `reinforce` algorithm with rlforge. Must not import torch (`rlforge list` stays fast)."""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="reinforce",
        summary="REINFORCE with reward-to-go: Monte-Carlo policy gradient for discrete actions",
        action_spaces=("discrete",),
        config="rlforge_reinforce.config:ReinforceConfig",
        agent="rlforge_reinforce.agent:ReinforceAgent",
        presets="rlforge_reinforce:presets",  # folder of <env>.yaml files inside this package
    ))
