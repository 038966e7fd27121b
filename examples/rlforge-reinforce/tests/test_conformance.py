"""The rlforge conformance kit on `reinforce`: registration without torch, config defaults, a short
training run on CartPole-v1, acting, checkpoint round trip, determinism, and refusal of Box actions.
The `rlforge_check` fixture comes with rlforge (pytest plugin `rlforge`)."""


def test_reinforce_conforms(rlforge_check):
    rlforge_check("reinforce")
