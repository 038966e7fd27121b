"""The rlforge conformance kit on `td3` and `ddpg`: registration without torch, config defaults
and presets, a short run on Pendulum-v1, acting, checkpoint round trip, same seed same metrics,
resume, and the refusal of discrete actions. Tiny networks keep it to a few seconds."""

import pytest

TINY = {"actor_hidden": [32, 32], "critic_hidden": [32, 32], "batch_size": 32}


@pytest.mark.parametrize("algo", ["td3", "ddpg"])
def test_conforms(rlforge_check, algo):
    rlforge_check(algo, steps=300, overrides=TINY)
