"""Configs of pg, a2c and ppo: defaults, the homework's spellings, validation errors, and the
presets and experiment files shipped in configs/."""

from pathlib import Path

import pytest

from cli_helpers import cli_env, run_cli
from rlforge import config as cfgmod
from rlforge.errors import ConfigError
from rlforge.plugins import get_registry
from rlforge.presets import find_preset
from rlforge_pg.config import A2CConfig, PGConfig, PPOConfig

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
ENV = cli_env(RLFORGE_LOAD_PLUGINS="pg")


def test_pg_defaults_are_the_homework_script_defaults():
    c = PGConfig()
    assert (c.hidden, c.activation, c.lr, c.gamma, c.batch_size) == ([64, 64], "tanh", 5e-3, 1.0, 1000)
    assert (c.reward_to_go, c.use_baseline, c.normalize_advantages, c.gae_lambda) == (False, False, False, None)
    assert (c.baseline_lr, c.baseline_gradient_steps) == (5e-3, 5)


def test_pg_accepts_the_homework_spellings():
    c = PGConfig(use_reward_to_go=True, discount=0.95, learning_rate=0.01, baseline_learning_rate=0.02,
                 n_layers=3, layer_size=128)
    assert (c.reward_to_go, c.gamma, c.lr, c.baseline_lr, c.hidden) == (True, 0.95, 0.01, 0.02, [128, 128, 128])
    # the aliases are folded into the readable keys, so a saved config has one spelling
    assert (c.use_reward_to_go, c.discount, c.learning_rate, c.n_layers, c.layer_size) == (None,) * 5
    assert PGConfig(n_layers=1).hidden == [64]
    assert PGConfig(layer_size=32).hidden == [32, 32]


def test_the_homework_spellings_through_set(tmp_path):
    spec = get_registry().algorithm("pg")
    resolved = cfgmod.resolve(spec, "CartPole-v1", None, {"use_reward_to_go": "true", "discount": "0.9",
                                                          "n_layers": "1", "layer_size": "16"})
    assert (resolved.agent.reward_to_go, resolved.agent.gamma, resolved.agent.hidden) == (True, 0.9, [16])


@pytest.mark.parametrize("cls, values, message", [
    (PGConfig, {"gae_lambda": 0.95}, "gae_lambda needs a value function: set use_baseline: true (or gae_lambda: null)"),
    (PGConfig, {"gae_lambda": 1.5, "use_baseline": True}, "gae_lambda must be in [0, 1], got 1.5"),
    (PGConfig, {"batch_size": 0}, "batch_size must be at least 1, got 0"),
    (PGConfig, {"lr": 0.0}, "lr must be positive, got 0.0"),
    (PGConfig, {"gamma": 1.01}, "gamma must be in [0, 1], got 1.01"),
    (PGConfig, {"hidden": [64, 0]}, "hidden widths must be positive, got [64, 0]"),
    (PGConfig, {"baseline_gradient_steps": -1}, "baseline_gradient_steps must not be negative, got -1"),
    (A2CConfig, {"n_steps": 0}, "n_steps must be at least 1, got 0"),
    (A2CConfig, {"ent_coef": -0.1}, "ent_coef must not be negative, got -0.1"),
    (A2CConfig, {"max_grad_norm": 0.0}, "max_grad_norm must be positive, got 0.0"),
    (PPOConfig, {"num_minibatches": 0}, "num_minibatches must be at least 1, got 0"),
    (PPOConfig, {"clip_coef": -0.2}, "clip_coef must be positive, got -0.2"),
    (PPOConfig, {"target_kl": 0.0}, "target_kl must be positive, got 0.0"),
])
def test_invalid_values_are_refused(cls, values, message):
    with pytest.raises(ValueError) as error:
        cls(**values)
    assert str(error.value) == message


def test_a_bad_config_is_a_one_line_cli_error(tmp_path):
    result = run_cli(["train", "--algo", "pg", "--env", "CartPole-v1", "--set", "gae_lambda=0.9"], tmp_path, ENV)
    assert result.returncode == 2
    assert result.stderr == ("rlforge: error: invalid pg config: gae_lambda needs a value function: "
                             "set use_baseline: true (or gae_lambda: null)\n")
    assert not (tmp_path / "runs").exists()


def test_batch_size_must_split_over_the_envs(tmp_path):
    result = run_cli(["train", "--algo", "pg", "--env", "CartPole-v1", "--num-envs", "3", "--steps", "300",
                      "--set", "batch_size=100"], tmp_path, ENV)
    assert result.returncode == 2
    assert "batch_size (100) must be a multiple of num_envs (3)" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_both_action_space_kinds_are_claimed():
    registry = get_registry()
    for name in ("pg", "a2c", "ppo"):
        assert set(registry.algorithm(name).action_spaces) == {"box", "discrete"}


# ----------------------------------------------------------------------------- shipped files

PRESETS = sorted(p for algo in ("pg", "a2c", "ppo") for p in (CONFIGS / algo).glob("*.yaml"))
EXPERIMENTS = sorted((CONFIGS / "experiments" / "pg").glob("*.yaml")) + sorted((CONFIGS / "experiments" / "ppo").glob("*.yaml"))


def test_every_cs285_experiment_has_a_file():
    names = {p.stem for p in EXPERIMENTS}
    cartpole = {"cartpole" + lb + rtg + na for lb in ("", "_lb") for rtg in ("", "_rtg") for na in ("", "_na")}
    lunar = {f"lunarlander_lambda{tag}" for tag in ("0", "095", "098", "099", "1")}
    assert cartpole | lunar | {"halfcheetah", "halfcheetah_baseline", "invertedpendulum", "humanoid"} <= names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_preset_resolves(path):
    spec = get_registry().algorithm(path.parent.name)
    assert find_preset(spec, path.stem) == path
    resolved = cfgmod.resolve(spec, path.stem, None, {})
    assert resolved.sources == [str(path)]
    assert path.read_text().startswith("# "), "a preset starts with a header comment saying where its values come from"


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_file_is_complete(path):
    values = cfgmod.read_yaml(path)
    text = path.read_text()
    assert text.startswith("# CS285") or text.startswith("# ")
    assert f"rlforge train --config experiments/{path.parent.name}/{path.stem}" in text
    spec = get_registry().algorithm(values["algo"])
    resolved = cfgmod.resolve(spec, values["env"], values, {}, str(path))
    # The (algo, env) preset is applied first: the file must set every key the preset sets.
    preset = find_preset(spec, values["env"])
    if preset is not None:
        missing = set(cfgmod._without_names(cfgmod.read_yaml(preset))) - set(values)
        assert not missing, f"{path.name} leaves {sorted(missing)} to the preset {preset.name}"
    assert resolved.run.total_steps > 0
    if values["algo"] == "pg":
        assert resolved.run.total_steps % resolved.agent.batch_size == 0, "total_steps = iterations x batch_size"


def test_unknown_key_is_refused_with_a_suggestion(tmp_path):
    result = run_cli(["train", "--algo", "ppo", "--env", "CartPole-v1", "--set", "clip_coeff=0.1"], tmp_path, ENV)
    assert result.returncode == 2
    assert "unknown config key 'clip_coeff'" in result.stderr and "clip_coef" in result.stderr


def test_config_command_lists_the_keys(tmp_path):
    result = run_cli(["config", "pg", "--env", "CartPole-v1", "--json"], tmp_path, ENV)
    assert result.returncode == 0, result.stderr
    import json

    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert rows["reward_to_go"]["value"] is True and rows["reward_to_go"]["default"] is False
    assert rows["batch_size"]["value"] == 1000
