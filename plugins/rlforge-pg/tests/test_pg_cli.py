"""pg, a2c and ppo through `rlforge train`: a few hundred steps of each on CartPole-v1 (discrete)
and Pendulum-v1 (box), a CS285 experiment file, async envs, and resuming a PPO run."""

import json

import pytest
import yaml

from cli_helpers import cli_env, metric_rows, run_cli

ENV = cli_env(RLFORGE_LOAD_PLUGINS="pg")
SMALL = {
    "pg": ["--set", "batch_size=100", "--set", "use_baseline=true", "--set", "gae_lambda=0.95",
           "--set", "reward_to_go=true", "--set", "normalize_advantages=true"],
    "a2c": ["--num-envs", "2", "--set", "n_steps=10"],
    "ppo": ["--num-envs", "2", "--set", "n_steps=50", "--set", "normalize_obs=true", "--set", "normalize_reward=true"],
}
TAGS = {
    "pg": {"losses/actor", "losses/baseline", "charts/entropy"},
    "a2c": {"losses/policy", "losses/value", "charts/entropy"},
    "ppo": {"losses/policy", "losses/value", "losses/entropy", "charts/approx_kl", "charts/clipfrac"},
}


def train(tmp_path, algo, env, steps, *extra):
    return run_cli(["train", "--algo", algo, "--env", env, "--steps", str(steps), "--run-dir", "run",
                    "--set", "torch_threads=1", "--set", "eval_episodes=2", "--set", "log_every=100",
                    "--set", "hidden=[32, 32]", *extra], tmp_path, ENV)


@pytest.mark.parametrize("env", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("algo", ["pg", "a2c", "ppo"])
def test_short_run_writes_the_run_directory(tmp_path, algo, env):
    result = train(tmp_path, algo, env, 400, *SMALL[algo])
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["algo"] == algo and config["env"] == env and config["hidden"] == [32, 32]
    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 400
    assert meta["last_eval"]["return_mean"] is not None
    tags = {tag for _, tag, _ in metric_rows(run)}
    assert TAGS[algo] | {"eval/return_mean", "charts/episode_return"} <= tags
    if env == "Pendulum-v1":
        assert "charts/std" in tags
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_000000000400"


def test_the_preset_is_picked_for_cartpole(tmp_path):
    result = run_cli(["config", "ppo", "--env", "CartPole-v1", "--json"], tmp_path, ENV)
    assert result.returncode == 0, result.stderr
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert rows["num_envs"]["value"] == 8 and rows["n_steps"]["value"] == 32 and rows["n_steps"]["default"] == 128


def test_a_cs285_experiment_file_runs(tmp_path):
    result = run_cli(["train", "--config", "experiments/pg/cartpole_rtg_na", "--steps", "2000", "--run-dir", "run",
                      "--set", "torch_threads=1", "--set", "eval_episodes=2"], tmp_path, ENV)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert (config["env"], config["batch_size"], config["reward_to_go"], config["normalize_advantages"]) == (
        "CartPole-v0", 1000, True, True)
    assert config["eval_deterministic"] is False
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["step"] == 2000


def test_ppo_with_async_envs(tmp_path):
    result = train(tmp_path, "ppo", "CartPole-v1", 200, "--num-envs", "2", "--set", "vector_mode=async",
                   "--set", "n_steps=50")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["step"] == 200


def test_resumed_ppo_run_matches_a_straight_run(tmp_path):
    """Observation and reward statistics are saved: training 400 steps, then resuming to 800,
    logs the same as training 800 steps straight (one env, classic control: exact resume).
    Learning-rate annealing is off: it follows total_steps, which the resume changes."""
    common = ["--algo", "ppo", "--env", "Pendulum-v1", "--set", "torch_threads=1", "--set", "eval_episodes=2",
              "--set", "log_every=100", "--set", "eval_every=400", "--set", "hidden=[16]", "--set", "n_steps=100",
              "--set", "normalize_obs=true", "--set", "normalize_reward=true", "--set", "anneal_lr=false"]
    straight = run_cli(["train", *common, "--steps", "800", "--run-dir", "straight"], tmp_path, ENV)
    assert straight.returncode == 0, straight.stderr
    assert run_cli(["train", *common, "--steps", "400", "--run-dir", "resumed"], tmp_path, ENV).returncode == 0
    second = run_cli(["train", "--resume", "resumed", "--steps", "800"], tmp_path, ENV)
    assert second.returncode == 0, second.stderr
    assert metric_rows(tmp_path / "straight") == metric_rows(tmp_path / "resumed")
