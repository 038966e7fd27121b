"""DQN through the CLI: short runs on CartPole-v1 and MsPacman, the Discrete-only refusal,
config validation, presets and experiment files."""

import csv
import json
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_env, run_cli

ONLY_DQN = cli_env(RLFORGE_LOAD_PLUGINS="dqn")
REPO = Path(__file__).resolve().parents[3]


def tags_of(run):
    return {row["tag"] for row in csv.DictReader(open(run / "metrics.csv"))}


def test_short_cartpole_run_logs_td_error_q_values_and_epsilon(tmp_path):
    result = run_cli(["train", "--algo", "dqn", "--env", "CartPole-v1", "--steps", "600", "--run-dir", "run",
                      "--set", "learning_starts=200", "--set", "batch_size=32", "--set", "log_every=100",
                      "--set", "eval_every=300", "--set", "eval_episodes=2", "--set", "torch_threads=1"],
                     cwd=tmp_path, env=ONLY_DQN)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["algo"] == "dqn" and config["batch_size"] == 32
    assert json.loads((run / "meta.json").read_text())["status"] == "finished"
    assert {"losses/td", "charts/td_error", "charts/q_mean", "charts/epsilon", "charts/lr", "charts/grad_norm",
            "eval/return_mean", "charts/episode_return"} <= tags_of(run)
    assert (run / "checkpoints" / "latest").read_text().strip() == "step_000000000600"


def test_short_mspacman_run(tmp_path):
    result = run_cli(["train", "--algo", "dqn", "--env", "MsPacmanNoFrameskip-v4", "--steps", "160", "--run-dir", "run",
                      "--set", "learning_starts=100", "--set", "batch_size=4", "--set", "buffer_size=1000",
                      "--set", "train_frequency=4", "--set", "log_every=40", "--set", "eval_episodes=1",
                      "--set", "max_episode_steps=50", "--set", "torch_threads=1"], cwd=tmp_path, env=ONLY_DQN)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["lr"] == 1e-4 and config["double_q"] is True  # the MsPacman preset
    assert {"losses/td", "charts/q_mean", "eval/return_mean"} <= tags_of(run)


def test_dqn_refuses_a_continuous_action_space(tmp_path):
    result = run_cli(["train", "--algo", "dqn", "--env", "Pendulum-v1"], cwd=tmp_path, env=ONLY_DQN)
    assert result.returncode == 2
    assert result.stderr == ("rlforge: error: dqn does not support box action spaces "
                             "(Pendulum-v1 has Box(-2.0, 2.0, (1,), float32)); dqn supports: discrete\n")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("setting,message", [
    ("epsilon_fraction=0", "invalid dqn config: epsilon_fraction must be in (0, 1], got 0.0"),
    ("loss=l1", "config key 'loss' must be one of 'mse', 'huber', got 'l1'"),
    ("max_grad_norm=-1", "invalid dqn config: max_grad_norm must be positive (or null for no clipping), got -1.0"),
    ("n_step=0", "invalid dqn config: n_step must be at least 1, got 0"),
    ("updates_per_step=0.3", "invalid dqn config: train_frequency * updates_per_step must be a whole number of "
                             "gradient steps, got 1 * 0.3 = 0.3"),
    ("target_update=polyak", "config key 'target_update' must be one of 'hard', 'soft', got 'polyak'"),
])
def test_invalid_settings_are_refused_in_one_line(tmp_path, setting, message):
    result = run_cli(["train", "--algo", "dqn", "--env", "CartPole-v1", "--set", setting], cwd=tmp_path, env=ONLY_DQN)
    assert result.returncode == 2
    assert result.stderr.startswith(f"rlforge: error: {message}") and result.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_defaults_are_the_cs285_settings(tmp_path):
    result = run_cli(["config", "dqn", "--json"], cwd=tmp_path, env=ONLY_DQN)
    assert result.returncode == 0, result.stderr
    defaults = {row["key"]: row["default"] for row in json.loads(result.stdout)}
    assert defaults["hidden"] == [64, 64] and defaults["lr"] == 1e-3 and defaults["gamma"] == 0.99
    assert defaults["target_update"] == "hard" and defaults["target_period"] == 1000
    assert defaults["batch_size"] == 128 and defaults["learning_starts"] == 20000
    assert (defaults["epsilon_start"], defaults["epsilon_end"], defaults["epsilon_fraction"]) == (1.0, 0.02, 0.1)
    assert defaults["max_grad_norm"] is None and defaults["double_q"] is False


def test_presets_and_experiment_files_resolve(tmp_path):
    presets = sorted((REPO / "configs" / "dqn").rglob("*.yaml"))
    experiments = sorted((REPO / "configs" / "experiments" / "dqn").glob("*.yaml"))
    assert len(presets) >= 4 and len(experiments) >= 4
    for preset in presets:
        env_id = str(preset.relative_to(REPO / "configs" / "dqn").with_suffix(""))
        result = run_cli(["config", "dqn", "--env", env_id, "--json"], cwd=tmp_path, env=ONLY_DQN)
        assert result.returncode == 0, (preset, result.stderr)
    for experiment in experiments:
        text = experiment.read_text()
        assert text.startswith("#") and "rlforge train --config experiments/dqn/" + experiment.stem in text
        values = yaml.safe_load(text)
        preset = REPO / "configs" / "dqn" / f"{values['env']}.yaml"
        if preset.exists():  # every key the preset sets is written out
            missing = set(yaml.safe_load(preset.read_text())) - set(values)
            assert not missing, (experiment.name, missing)
        # resolving it builds the config (and the env: Box2D must be installed for LunarLander)
        result = run_cli(["train", "--config", str(experiment), "--steps", "1", "--set", "learning_starts=0",
                          "--set", "eval_episodes=1", "--set", "batch_size=1", "--set", "max_episode_steps=5",
                          "--set", "buffer_size=100", "--set", "torch_threads=1", "--run-dir", experiment.stem],
                         cwd=tmp_path, env=ONLY_DQN)
        assert result.returncode == 0, (experiment.name, result.stderr)
