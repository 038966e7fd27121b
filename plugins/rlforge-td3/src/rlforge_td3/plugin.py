"""Registers the `td3` and `ddpg` algorithms with rlforge. Imports neither torch nor gymnasium."""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="td3",
        summary="Twin Delayed DDPG: clipped double-Q, target policy smoothing, delayed actor updates (Fujimoto et al. 2018)",
        action_spaces=("box",),
        config="rlforge_td3.config:TD3Config",
        agent="rlforge_td3.agent:TD3Agent",
    ))
    register(AlgorithmSpec(
        name="ddpg",
        summary="Deep Deterministic Policy Gradient: one critic, no target smoothing, no delay (TD3's agent)",
        action_spaces=("box",),
        config="rlforge_td3.config:DDPGConfig",
        agent="rlforge_td3.agent:TD3Agent",
    ))
