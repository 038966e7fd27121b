"""Soft Actor-Critic for rlforge (the `sac` algorithm).

Kept import-light: the registry reaches the config and the agent by import strings, so
importing this package (as `rlforge list` does) pulls in neither torch nor gymnasium.
"""

__all__: list[str] = []
