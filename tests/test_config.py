from dataclasses import dataclass
from typing import Literal

import pytest

from rlforge.config import RunConfig, coerce_layers, option, parse_overrides, read_yaml, resolve
from rlforge.errors import ConfigError
from rlforge.registry import AlgorithmSpec


@dataclass
class DemoConfig:
    lr: float = option(3e-4, "learning rate")
    hidden: list[int] = option([64, 64], "layer widths")
    backup: Literal["min", "mean"] = option("min", "backup")
    tuned: bool = option(True, "tune")
    batch_size: int = option(256, "batch")
    target_entropy: float | None = option(None, "entropy target")
    compiled: bool | Literal["critic", "actor"] = option(False, "a flag or one of two names")

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError("batch_size must be positive")


def layers(*mappings):
    return coerce_layers(DemoConfig, [(f"layer{i}", m) for i, m in enumerate(mappings)])


def test_later_layers_override_earlier_ones():
    run, agent = layers({"lr": 0.1, "seed": 3}, {"lr": 0.2}, {"lr": "0.3"})
    assert agent == {"lr": 0.3} and run == {"seed": 3}


def test_values_are_coerced_by_field_type():
    run, agent = layers({"lr": "1e-3", "hidden": "[32, 16]", "tuned": "false", "batch_size": "1_000",
                         "target_entropy": "null", "total_steps": "1e5"})
    assert agent == {"lr": 1e-3, "hidden": [32, 16], "tuned": False, "batch_size": 1000, "target_entropy": None}
    assert run == {"total_steps": 100000}


def test_a_flag_or_a_name_takes_either():
    _, agent = layers({"compiled": "true"}, {"compiled": "critic"})
    assert agent["compiled"] == "critic"
    assert layers({"compiled": "off"})[1]["compiled"] is False


def test_optional_float_accepts_a_number():
    _, agent = layers({"target_entropy": "-3"})
    assert agent["target_entropy"] == -3.0


@pytest.mark.parametrize("key, value, message", [
    ("lr", "fast", "config key 'lr' expects a number, got 'fast'"),
    ("batch_size", "2.5", "config key 'batch_size' expects an integer, got '2.5'"),
    ("tuned", "maybe", "config key 'tuned' expects true or false, got 'maybe'"),
    ("hidden", "{a: 1}", "config key 'hidden' expects a list"),
    ("hidden", "[1, x]", "config key 'hidden' expects an integer, got 'x'"),
    ("backup", "mena", "config key 'backup' must be one of 'min', 'mean', got 'mena' (did you mean 'mean'?)"),
    ("seed", True, "config key 'seed' expects an integer, got True"),
    ("compiled", "crtic", "config key 'compiled' expects true or false or one of 'critic', 'actor', got 'crtic' "
                          "(did you mean 'critic'?)"),
])
def test_wrong_types_name_the_key(key, value, message):
    with pytest.raises(ConfigError) as error:
        layers({key: value})
    assert message in str(error.value)


def test_unknown_key_suggests_the_close_one():
    with pytest.raises(ConfigError, match=r"unknown config key 'batchsize' in layer0 \(did you mean 'batch_size'\?\)"):
        layers({"batchsize": 3})


def test_overrides_need_key_equals_value():
    assert parse_overrides(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="--set expects key=value, got 'lr'"):
        parse_overrides(["lr"])


def test_malformed_yaml_is_one_line_with_position(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("lr: 0.1\nhidden: [1, 2\n")
    with pytest.raises(ConfigError) as error:
        read_yaml(path)
    assert "is not valid YAML at line" in str(error.value) and "\n" not in str(error.value)


def test_yaml_must_be_a_mapping_and_must_exist(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_yaml(path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_yaml(tmp_path / "missing.yaml")


def test_run_config_checks_ranges():
    with pytest.raises(ValueError, match="num_envs must be at least 1"):
        RunConfig(num_envs=0)


class FakeSpec(AlgorithmSpec):
    def config_class(self):
        return DemoConfig


def test_resolve_applies_file_then_overrides_and_checks_cross_fields(tmp_path):
    spec = FakeSpec(name="demo", summary="", action_spaces=("box",), config="x:y", agent="x:y")
    resolved = resolve(spec, "Pendulum-v1", {"algo": "demo", "lr": 0.5, "seed": 9}, {"lr": "0.25"}, "file.yaml")
    assert resolved.agent.lr == 0.25 and resolved.run.seed == 9
    assert resolved.to_dict()["algo"] == "demo" and resolved.to_dict()["lr"] == 0.25
    with pytest.raises(ConfigError, match="invalid demo config: batch_size must be positive"):
        resolve(spec, "Pendulum-v1", None, {"batch_size": "0"})


def test_engine_and_algorithm_keys_must_not_collide():
    @dataclass
    class Clashing:
        seed: int = 0

    spec = FakeSpec(name="demo", summary="", action_spaces=("box",), config="x:y", agent="x:y")
    spec.config_class = lambda: Clashing
    with pytest.raises(ConfigError, match="redefines engine config keys: seed"):
        resolve(spec, "Pendulum-v1", None, {})
