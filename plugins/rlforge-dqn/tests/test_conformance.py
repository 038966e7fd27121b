"""The rlforge conformance kit on `dqn`: registration without torch, config defaults, a short
run on CartPole-v1, acting, checkpoint round trip, same seed same metrics, resume, and the
refusal of continuous actions. Tiny networks keep it to a few seconds."""

TINY = {"hidden": [32, 32], "batch_size": 32}


def test_dqn_conforms(rlforge_check):
    rlforge_check("dqn", steps=300, overrides=TINY)


def test_dqn_conforms_with_every_option(rlforge_check):
    # double-Q, dueling heads, 3-step returns, soft targets, Huber loss, clipping, a linear lr schedule
    rlforge_check("dqn", steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "double_q": True, "dueling": True, "n_step": 3, "target_update": "soft",
                             "tau": 0.01, "loss": "huber", "max_grad_norm": 10.0, "lr_schedule": "linear",
                             "train_frequency": 4, "updates_per_step": 0.5})
