"""Policy gradients for rlforge: the `pg`, `a2c` and `ppo` algorithms.

Kept import-light: the registry reaches the configs and the agents by import strings, so
importing this package (as `rlforge list` does) pulls in neither torch nor gymnasium.
"""

__all__: list[str] = []
