"""Model-based RL for rlforge: `mpc` (random shooting, CEM) and `mbpo` (SAC on model rollouts).

Kept import-light: the registry reaches configs, agents and envs by import strings, so
importing this package (as `rlforge list` does) pulls in neither torch nor gymnasium.
"""

__all__: list[str] = []
