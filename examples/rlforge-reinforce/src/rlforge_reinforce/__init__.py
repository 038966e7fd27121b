"""The `reinforce` algorithm for rlforge. Import-light: rlforge reaches the config and the agent
through import strings, so `rlforge list` imports neither torch nor gymnasium from here."""
