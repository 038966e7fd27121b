"""`rlforge export` of the imitation policies: BC's (DAgger acts through the same policy) with
observation standardisation, and BC-SAC's (SAC's policy with the observation normaliser in front
of its network). The files, read by onnxruntime and torch.jit.load, act as the checkpoint's policy."""

from rlforge.testing.export_parity import check_export_parity, train_small


def test_bc_export_matches_the_policy(tmp_path, pendulum_files):
    run = train_small("bc", "Pendulum-v1", tmp_path, overrides={**pendulum_files, "normalize_obs": True})
    check_export_parity(run, tmp_path)


def test_bc_sac_export_matches_the_policy(tmp_path, pendulum_files):
    run = train_small("bc-sac", "Pendulum-v1", tmp_path, overrides={
        "dataset": pendulum_files["dataset"], "actor_hidden": [16], "critic_hidden": [16], "bc_steps": 20,
        "critic_fit_steps": 20, "normalize_obs": True})
    check_export_parity(run, tmp_path)
