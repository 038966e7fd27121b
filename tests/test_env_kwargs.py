"""`env_kwargs`: keyword arguments for the env's constructor, checked before a run exists and
used by every env a run makes (training, evaluation, resume, `rlforge eval`)."""

import pytest
import yaml
from cli_helpers import run_cli

from rlforge.config import env_kwargs_of
from rlforge.errors import ConfigError, RLForgeError
from rlforge.training import build_engine, load_checkpoint_engine, prepare


def gravity(adapter) -> list[float]:
    return [env.unwrapped.g for env in adapter.vec.envs]


def test_env_kwargs_reach_the_training_and_the_evaluation_envs():
    spec, resolved, env_spec = prepare("sac", "Pendulum-v1", None, ["env_kwargs={g: 3.5}", "eval_episodes=2"], {})
    assert resolved.run.env_kwargs == {"g": 3.5}
    engine = build_engine(spec, resolved, env_spec)
    try:
        assert gravity(engine.env) == [3.5]
        assert gravity(engine.eval_env()) == [3.5, 3.5]
    finally:
        engine.close()


def test_a_run_keeps_its_env_kwargs_in_config_yaml_and_its_checkpoint(tmp_path):
    result = run_cli(["train", "--algo", "sac", "--env", "Pendulum-v1", "--steps", "200", "--run-dir", "r",
                      "--set", "env_kwargs={g: 0.0}", "--set", "eval_every=0",
                      "--set", "learning_starts=100", "--set", "random_steps=100"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert saved["env_kwargs"] == {"g": 0.0}
    _, resolved, _ = prepare(None, None, str(tmp_path / "r" / "config.yaml"), [], {})
    assert resolved.run.env_kwargs == {"g": 0.0}
    engine, _, _ = load_checkpoint_engine(str(tmp_path / "r"))  # what `rlforge eval` and --resume build
    try:
        assert gravity(engine.eval_env()) == [0.0] * len(engine.eval_env().vec.envs)
    finally:
        engine.close()


@pytest.mark.parametrize("value, message", [
    ("{bogus: 1}", "Pendulum-v1 does not take env_kwargs {'bogus': 1}: PendulumEnv.__init__() got an unexpected keyword argument 'bogus'"),
    ("[1, 2]", "config key 'env_kwargs' expects a mapping"),
    ("{render_mode: human}", "env_kwargs may not set 'render_mode'"),
    ("{max_episode_steps: 5}", "env_kwargs may not set 'max_episode_steps': use the max_episode_steps key"),
    ("{g: .nan}", "config key 'env_kwargs.g' must be a finite number"),
    ("{g: {a: 1}}", "g must be a number, string, boolean, null or a list of them"),
    ("{1: 2}", "1 is not a keyword argument name"),
])
def test_bad_env_kwargs_are_refused_while_the_run_is_prepared(value, message):
    with pytest.raises(RLForgeError) as refused:
        prepare("sac", "Pendulum-v1", None, [f"env_kwargs={value}"], {})
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_bad_env_kwarg_is_one_line_with_exit_status_2_and_no_run_directory(tmp_path):
    result = run_cli(["train", "--algo", "sac", "--env", "Pendulum-v1", "--steps", "100", "--run-dir", "r",
                      "--set", "env_kwargs={bogus: 1}"], cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "does not take env_kwargs" in result.stderr
    assert not (tmp_path / "r").exists()


def test_stored_env_kwargs_are_checked_like_new_ones():
    assert env_kwargs_of(None) == {} and env_kwargs_of({"env_kwargs": {"g": 1.0}}) == {"g": 1.0}
    with pytest.raises(ConfigError, match="expects a mapping"):
        env_kwargs_of({"env_kwargs": "g"})
