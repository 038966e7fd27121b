"""The rlforge conformance kit on `sac`: registration without torch, config defaults, a short
run on Pendulum-v1, acting, checkpoint round trip, same seed same metrics, resume, and the
refusal of discrete actions. Tiny networks keep it to a few seconds."""

TINY = {"actor_hidden": [32, 32], "critic_hidden": [32, 32], "batch_size": 32}


def test_sac_conforms(rlforge_check):
    rlforge_check("sac", steps=300, overrides=TINY)


def test_sac_conforms_with_the_cs285_variants(rlforge_check):
    # REDQ backup, REINFORCE actor gradient, fixed temperature, hard target updates
    rlforge_check("sac", steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "num_critics": 3, "backup": "redq", "actor_gradient": "reinforce",
                             "actor_samples": 2, "auto_temperature": False, "target_update": "hard",
                             "target_period": 50})


def test_crossq_conforms(rlforge_check):
    rlforge_check("crossq", steps=300, overrides={**TINY, "policy_delay": 2, "bn_warmup_steps": 50})
