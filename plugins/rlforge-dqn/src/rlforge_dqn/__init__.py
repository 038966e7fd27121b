"""DQN for rlforge (the `dqn` algorithm) and the Atari envs it trains on.

Kept import-light: the registry reaches the config, the agent and the env factories by
import strings, so importing this package (as `rlforge list` does) pulls in neither torch
nor gymnasium nor ale-py.
"""

__all__: list[str] = []
