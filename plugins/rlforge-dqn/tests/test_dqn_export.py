"""`rlforge export` of DQN: the greedy action of the (dueling) Q-network, read by onnxruntime and
torch.jit.load, is the checkpoint's policy's."""

from rlforge.testing.export_parity import check_export_parity, train_small


def test_export_matches_the_policy(tmp_path):
    run = train_small("dqn", "CartPole-v1", tmp_path, overrides={"dueling": True, "hidden": [32, 32]})
    check_export_parity(run, tmp_path)
