"""`rlforge collect`, `rlforge expert` and training bc/dagger through the CLI (Pendulum-v1, with a
random-weight CS285-format expert: the mechanics, not the learning)."""

import json

import numpy as np

from cli_helpers import cli_env, run_cli
from rlforge_imitation.datasets import load_dataset

ENV = dict(RLFORGE_LOAD_PLUGINS="imitation,sac")


def test_collect_records_whole_episodes_of_the_expert(tmp_path, pendulum_expert):
    result = run_cli(["collect", "--policy", str(pendulum_expert), "--env", "Pendulum-v1", "--episodes", "2",
                      "--out", "data.npz", "--seed", "3"], cwd=tmp_path, env=cli_env(**ENV))
    assert result.returncode == 0, result.stderr
    data = load_dataset(str(tmp_path / "data.npz"))
    assert len(data) == 400 and data.truncated.sum() == 2 and data.truncated[199] and data.truncated[399]
    assert data.metadata["command"].startswith("rlforge collect") and len(data.metadata["episode_returns"]) == 2
    from gymnasium import spaces

    from rlforge_imitation.experts import load_expert

    expert = load_expert(str(pendulum_expert), None, spaces.Box(-2.0, 2.0, (1,), np.float32))
    np.testing.assert_allclose(data.actions, expert.act(data.obs), atol=1e-6)
    np.testing.assert_array_equal(data.obs[1:200], data.next_obs[:199])  # consecutive steps of one episode
    # the same seed records the same episodes
    again = run_cli(["collect", "--policy", str(pendulum_expert), "--env", "Pendulum-v1", "--episodes", "2",
                     "--out", "again.npz", "--seed", "3"], cwd=tmp_path, env=cli_env(**ENV))
    assert again.returncode == 0
    np.testing.assert_array_equal(load_dataset(str(tmp_path / "again.npz")).obs, data.obs)


def test_collect_with_action_noise_into_a_minari_dataset_then_train_bc(tmp_path, pendulum_expert):
    import minari
    from gymnasium import spaces

    from rlforge_imitation.experts import load_expert

    env = cli_env(**ENV, MINARI_DATASETS_PATH=str(tmp_path / "minari"))
    args = ["collect", "-p", str(pendulum_expert), "-e", "Pendulum-v1", "-n", "2", "--seed", "3", "--action-noise", "0.3"]
    result = run_cli([*args, "--out", "noisy"], cwd=tmp_path, env=env)  # no .npz suffix: a Minari folder
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "noisy" / "data" / "main_data.hdf5").is_file()
    data = load_dataset(str(tmp_path / "noisy"))
    assert len(data) == 400 and data.truncated.sum() == 2 and data.metadata["action_noise"] == 0.3
    assert data.metadata["minari"]["algorithm_name"].endswith("(deterministic, action noise 0.3)")
    expert = load_expert(str(pendulum_expert), None, spaces.Box(-2.0, 2.0, (1,), np.float32))
    mean = expert.act(data.obs)
    assert np.all(np.abs(data.actions) <= 2.0)  # clipped to the bounds
    inside = (np.abs(data.actions) < 2.0).ravel()
    assert 0.25 < np.std((data.actions - mean).ravel()[inside]) < 0.35  # the noise taken is the noise recorded
    assert minari.MinariDataset(tmp_path / "noisy" / "data").total_steps == 400
    again = run_cli([*args, "--id", "pendulum/noisy-v0"], cwd=tmp_path, env=env)  # same seed, same noise
    assert again.returncode == 0, again.stderr
    np.testing.assert_array_equal(load_dataset(str(tmp_path / "minari" / "pendulum" / "noisy-v0")).actions, data.actions)
    bc = run_cli(["train", "--algo", "bc", "--env", "Pendulum-v1", "--steps", "200", "--run-dir", "bc",
                  "--set", "torch_threads=1", "--set", "hidden=[16]", "--set", "collect_steps=100",
                  "--set", "train_steps=20", "--set", "eval_episodes=1", "--set", "log_every=100",
                  "--set", "dataset=pendulum/noisy-v0"],
                 cwd=tmp_path, env=env)
    assert bc.returncode == 0, bc.stderr
    assert "losses/mse" in (tmp_path / "bc" / "metrics.csv").read_text()


def test_collect_refuses_what_it_cannot_write(tmp_path, pendulum_expert):
    env = cli_env(**ENV)
    (tmp_path / "taken" / "data").mkdir(parents=True)
    args = ["collect", "-p", str(pendulum_expert), "-e", "Pendulum-v1", "-n", "1"]
    refused = run_cli([*args, "--out", "taken"], cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "already exists; refusing to overwrite it" in refused.stderr
    (tmp_path / "kept.npz").write_bytes(b"an earlier dataset")
    for out in ("kept.npz", "kept"):  # `kept` is written as kept.npz with --format npz
        refused = run_cli([*args, "--out", out, "--format", "npz"], cwd=tmp_path, env=env)
        assert refused.returncode == 2 and "kept.npz' already exists" in refused.stderr and "--force" in refused.stderr
    assert (tmp_path / "kept.npz").read_bytes() == b"an earlier dataset"
    replaced = run_cli([*args, "--out", "kept.npz", "--force"], cwd=tmp_path, env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert len(load_dataset(str(tmp_path / "kept.npz"))) == 200
    refused = run_cli(["collect", "-p", "x", "-e", "CartPole-v1", "--action-noise", "0.1", "-o", "c"], cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "--action-noise needs continuous (Box) actions" in refused.stderr
    refused = run_cli([*args, "--id", "p/x-v0", "--format", "npz"], cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "use --out FILE.npz" in refused.stderr
    refused = run_cli([*args, "--id", "not an id"], cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "is not a Minari dataset id" in refused.stderr


def test_export_eval_and_train_bc_and_dagger(tmp_path, pendulum_expert):
    env = cli_env(**ENV)
    converted = run_cli(["expert", "export", str(pendulum_expert), "--env", "Pendulum-v1", "--out", "pend",
                         "--eval-episodes", "2"], cwd=tmp_path, env=env)
    assert converted.returncode == 0, converted.stderr
    info = json.loads((tmp_path / "pend.json").read_text())
    assert info["evaluation"]["episodes"] == 2 and info["network"]["activation"] == "tanh"
    evaluated = run_cli(["expert", "eval", "pend.json", "--env", "Pendulum-v1", "-n", "2", "--json"], cwd=tmp_path, env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["return_mean"] == info["evaluation"]["return_mean"]
    assert run_cli(["collect", "-p", "pend", "-e", "Pendulum-v1", "-n", "2", "-o", "data.npz"], cwd=tmp_path, env=env).returncode == 0
    small = ["--set", "torch_threads=1", "--set", "hidden=[16]", "--set", "collect_steps=100", "--set", "train_steps=50",
             "--set", "eval_episodes=2", "--set", "log_every=100", "--set", "dataset=data.npz"]
    bc = run_cli(["train", "--algo", "bc", "--env", "Pendulum-v1", "--steps", "200", "--run-dir", "bc", *small],
                 cwd=tmp_path, env=env)
    assert bc.returncode == 0, bc.stderr
    dagger = run_cli(["train", "--algo", "dagger", "--env", "Pendulum-v1", "--steps", "300", "--run-dir", "dagger",
                      "--set", "expert=pend", "--set", "beta=0.5", *small], cwd=tmp_path, env=env)
    assert dagger.returncode == 0, dagger.stderr
    rows = (tmp_path / "dagger" / "metrics.csv").read_text()
    assert "charts/relabelled" in rows and "losses/mse" in rows
    meta = json.loads((tmp_path / "dagger" / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 300


def test_missing_dataset_and_expert_are_one_line_errors(tmp_path):
    env = cli_env(**ENV)
    result = run_cli(["train", "--algo", "bc", "--env", "Pendulum-v1", "--steps", "100", "--run-dir", "r"], cwd=tmp_path, env=env)
    last = result.stderr.strip().splitlines()[-1]  # after the resolved config table
    assert result.returncode == 2 and last.startswith("rlforge: error:") and "no dataset given" in last
    result = run_cli(["train", "--algo", "bc", "--env", "Hopper-v4", "--run-dir", "h", "--set", "dataset=HalfCheetah-v4"],
                     cwd=tmp_path, env=env)
    assert result.returncode == 2 and "the env has (11,)" in result.stderr, result.stderr
    assert not (tmp_path / "h").exists()
    result = run_cli(["collect", "-p", "nothing-here", "-e", "Pendulum-v1", "-o", "x.npz"], cwd=tmp_path, env=env)
    assert result.returncode == 2 and "is neither a shipped expert" in result.stderr


def test_shipped_experts_are_listed(tmp_path):
    result = run_cli(["expert", "list"], cwd=tmp_path, env=cli_env(**ENV, COLUMNS="200"))
    assert result.returncode == 0 and "HalfCheetah-v4" in result.stdout
