"""Registers the `sac` and `crossq` algorithms with rlforge. Imports neither torch nor gymnasium."""

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
    register(AlgorithmSpec(
        name="crossq",
        summary="CrossQ: SAC without target networks, batch renormalisation and a joint critic forward (Bhatt et al. 2024)",
        action_spaces=("box",),
        config="rlforge_sac.crossq_config:CrossQConfig",
        agent="rlforge_sac.crossq:CrossQAgent",
    ))
