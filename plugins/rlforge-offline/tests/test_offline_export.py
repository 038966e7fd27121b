"""`rlforge export` of the discrete offline family: the greedy action of a Q-critic (cql, rnd) and
the most likely action of the categorical actor (awac, iql). rnd collects its own data, and iql
learns from that run's dataset. The files, read by onnxruntime and torch.jit.load, act as the
checkpoint's policy."""

from rlforge.testing.export_parity import check_export_parity, train_small

ENV = "PointmassEasy-v0"
TINY = {"hidden": [16, 16], "batch_size": 32, "target_period": 50}


def test_q_policy_and_actor_exports_match_the_policies(tmp_path):
    explored = train_small("rnd", ENV, tmp_path, overrides={**TINY, "rnd_hidden": [16], "learning_starts": 50})
    check_export_parity(explored, tmp_path / "rnd")
    actor = train_small("iql", ENV, tmp_path, overrides={**TINY, "dataset": str(explored), "value_hidden": [16, 16],
                                                         "actor_hidden": [16, 16]})
    check_export_parity(actor, tmp_path / "iql")
