"""The rlforge conformance kit on `mpc` and `mbpo` (Pendulum-v1, the kit's small box env):
registration without torch, config defaults, a short run, acting without a graph,
checkpoint round trip, same seed same metrics, resume, refusal of discrete actions.
Tiny models and few sequences keep each to seconds; the kit cuts random_steps and
learning_starts to 100 of its 300 steps, so the model is fitted several times within the run."""

MPC_TINY = {"model_hidden": [16], "num_sequences": 20, "horizon": 3, "collect_steps": 50, "model_train_steps": 5,
            "model_batch_size": 32}
MBPO_TINY = {"actor_hidden": [16], "critic_hidden": [16], "model_hidden": [16], "ensemble_size": 2,
             "model_train_steps": 5, "model_train_every": 50, "rollout_batch_size": 8, "model_batch_size": 32,
             "model_buffer_size": 2000}


def test_mpc_conforms(rlforge_check):
    rlforge_check("mpc", steps=300, overrides=MPC_TINY)


def test_mpc_with_cem_and_trajectory_sampling_conforms(rlforge_check):
    rlforge_check("mpc", steps=300, checks=["trains", "acting", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**MPC_TINY, "planner": "cem", "cem_iterations": 2, "cem_elites": 4, "cem_alpha": 0.8,
                             "model_rollout": "ts", "learn_termination": True, "use_known_reward": False})


def test_mbpo_conforms(rlforge_check):
    rlforge_check("mbpo", steps=300, overrides={**MBPO_TINY, "rollout_length": 3})


def test_mbpo_as_plain_sac_conforms(rlforge_check):
    rlforge_check("mbpo", steps=300, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**MBPO_TINY, "rollout_length": 0})
