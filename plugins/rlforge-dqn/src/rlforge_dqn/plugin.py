"""Registers the `dqn` algorithm and the Atari env ids with rlforge.

Imports neither torch nor gymnasium nor ale-py: everything is named by import strings.
"""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec, EnvSpec

from rlforge_dqn.games import GAMES, env_ids, factory_name

ATARI_WRAPPER = "rlforge_dqn.atari:AtariPreprocessing"


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="dqn",
        summary="Deep Q-Network with double-Q, dueling heads, n-step returns; MLP or Nature CNN (Atari)",
        action_spaces=("discrete",),
        config="rlforge_dqn.config:DQNConfig",
        agent="rlforge_dqn.agent:DQNAgent",
    ))


@hookimpl
def register_envs(register):
    for name in GAMES:
        for env_id in env_ids(name):
            sticky = "sticky actions 0.25" if env_id.startswith("ALE/") else "no sticky actions"
            register(EnvSpec(
                id=env_id,
                factory=f"rlforge_dqn.atari:{factory_name(env_id)}",
                summary=f"Atari {name} ({sticky}) with the standard DQN preprocessing: no-op starts, "
                        "frame skip 4 with max-pooling, 84x84 grayscale, 4 stacked frames",
                wrappers=[ATARI_WRAPPER],
            ))
