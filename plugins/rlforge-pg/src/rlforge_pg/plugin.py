"""Registers `pg`, `a2c` and `ppo` with rlforge. Imports neither torch nor gymnasium."""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="pg",
        summary="REINFORCE / vanilla policy gradient with the CS285 options: reward-to-go, baseline, GAE, normalisation",
        action_spaces=("box", "discrete"),
        config="rlforge_pg.config:PGConfig",
        agent="rlforge_pg.pg:PGAgent",
    ))
    register(AlgorithmSpec(
        name="a2c",
        summary="Advantage actor-critic: a learned critic, n-step or GAE advantages, synchronous envs",
        action_spaces=("box", "discrete"),
        config="rlforge_pg.config:A2CConfig",
        agent="rlforge_pg.a2c:A2CAgent",
    ))
    register(AlgorithmSpec(
        name="ppo",
        summary="Proximal Policy Optimization: clipped objective, GAE, minibatch epochs, normalisation",
        action_spaces=("box", "discrete"),
        config="rlforge_pg.config:PPOConfig",
        agent="rlforge_pg.ppo:PPOAgent",
    ))
