"""TD3 and DDPG for rlforge (the `td3` and `ddpg` algorithms).

Kept import-light: the registry reaches the config and the agent by import strings, so
importing this package (as `rlforge list` does) pulls in neither torch nor gymnasium.
"""

__all__: list[str] = []
