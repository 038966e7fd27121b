"""`rlforge export` of TD3 and DDPG (one agent, one policy): the deterministic actor rescaled to the
bounds. The files, read by onnxruntime and torch.jit.load, act as the checkpoint's policy."""

from rlforge.testing.export_parity import check_export_parity, train_small


def test_export_matches_the_policy(tmp_path):
    run = train_small("td3", "Pendulum-v1", tmp_path, overrides={"actor_hidden": [32, 32], "critic_hidden": [32, 32]})
    check_export_parity(run, tmp_path)
