"""The Atari games whose env ids this plugin registers (no imports: read by `plugin.py`).

Each game gets two ids: `<Name>NoFrameskip-v4` (no sticky actions, the DQN papers' and the
CS285 homework's setting) and `ALE/<Name>-v5` (sticky actions with probability 0.25, as
Machado et al. 2018 recommend). Adding a game is one line: its ALE ROM id.
"""

GAMES = {  # env id name -> ALE ROM id
    "MsPacman": "ms_pacman",
    "Pong": "pong",
    "Breakout": "breakout",
}


def env_ids(name: str) -> tuple[str, str]:
    return f"{name}NoFrameskip-v4", f"ALE/{name}-v5"


def factory_name(env_id: str) -> str:
    """The attribute of rlforge_dqn.atari that builds `env_id`'s raw emulator env."""
    return "make_" + env_id.replace("ALE/", "ale_").replace("-", "_")
