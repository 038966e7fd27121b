"""Registers the `sac` algorithm with rlforge. Imports neither torch nor gymnasium."""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="sac",
        summary="Soft Actor-Critic: off-policy maximum-entropy actor-critic for continuous actions",
        action_spaces=("box",),
        config="rlforge_sac.config:SACConfig",
        agent="rlforge_sac.agent:SACAgent",
    ))
