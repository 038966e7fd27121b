"""The rlforge conformance kit on `pg`, `a2c` and `ppo`: registration without torch, config
defaults, short runs on Pendulum-v1 (box) and CartPole-v1 (discrete), acting, checkpoint round
trip, same seed same metrics and resume. Tiny networks keep each to a few seconds."""

import pytest

TINY = {"hidden": [16, 16]}


@pytest.mark.parametrize("algo", ["pg", "a2c", "ppo"])
def test_conforms(rlforge_check, algo):
    rlforge_check(algo, steps=300, overrides=TINY)


def test_pg_conforms_with_a_baseline_and_gae(rlforge_check):
    rlforge_check("pg", steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "batch_size": 50, "use_baseline": True, "gae_lambda": 0.97,
                             "reward_to_go": True, "normalize_advantages": True})


def test_a2c_conforms_with_separate_optimisers_and_normalisation(rlforge_check):
    rlforge_check("a2c", steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "separate_optimizers": True, "optimizer": "adam", "gae_lambda": 0.95,
                             "normalize_obs": True, "normalize_advantages": True, "ent_coef": 0.01})


def test_ppo_conforms_with_normalisation(rlforge_check):
    rlforge_check("ppo", steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, "n_steps": 64, "normalize_obs": True, "normalize_reward": True,
                             "target_kl": 0.02})
