"""The rlforge conformance kit on `bc` and `dagger`.

The kit trains on Pendulum-v1 (the small env of the `box` kind). rlforge ships no Pendulum
expert, so the test writes one (a CS285-format pickle with random weights: the kit checks the
contracts, not learning), records a dataset with it through `rlforge collect`'s code, and
passes both to the kit as config overrides (the `pendulum_files` fixture, in conftest.py).
Tiny settings give several iterations (and so several DAgger relabellings) within the kit's
300 steps.
"""

import pytest


def test_bc_conforms(rlforge_check, pendulum_files):
    rlforge_check("bc", steps=300, overrides=pendulum_files)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_dagger_conforms(rlforge_check, pendulum_files, pendulum_expert, beta):
    rlforge_check("dagger", steps=300, overrides={**pendulum_files, "expert": str(pendulum_expert), "beta": beta})


def test_bc_with_gaussian_loss_conforms(rlforge_check, pendulum_files):
    rlforge_check("bc", steps=300, checks=["trains", "acting", "checkpoint_round_trip", "same_seed"],
                  overrides={**pendulum_files, "loss": "gaussian"})


def test_bc_sac_conforms(rlforge_check, pendulum_files):
    # the kit cuts learning_starts to 100 of its 300 steps: cloning, warm-up collection, the
    # critic fit and SAC steps (with re-fits) all happen within the run
    rlforge_check("bc-sac", steps=300, overrides={
        "dataset": pendulum_files["dataset"], "actor_hidden": [16], "critic_hidden": [16], "bc_steps": 20,
        "critic_fit_steps": 20, "refit_prob": 0.5})


def test_bc_sac_with_every_option_conforms(rlforge_check, pendulum_files):
    rlforge_check("bc-sac", steps=300, overrides={
        "dataset": pendulum_files["dataset"], "actor_hidden": [16], "critic_hidden": [16], "bc_steps": 20,
        "critic_fit_steps": 20, "refit_prob": 0.5, "normalize_obs": True, "critic_layer_norm": True,
        "expert_ratio": 0.5, "imitator_weight": 0.01, "entropy_from_clone": True, "diagnostics_every": 50})
