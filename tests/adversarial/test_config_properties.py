"""Property: whatever values the config keys get, `rlforge train` either refuses them in one
line (exit 2, no run directory) or trains to the end (exit 0); never a traceback.

Hypothesis draws 1-3 keys of the algorithm's config and of the run config and gives each an
adversarial value (NaN, infinities, huge or negative integers, tiny floats, wrong types,
lists). Keys whose large values legitimately make a run long (total_steps, eval_episodes,
num_envs, ...) are left out: they are bounded by the user's patience, not by a check.
The examples are derandomised, so CI runs the same ones every time."""

import dataclasses

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlforge.cli import main
from rlforge.config import RunConfig
from rlforge.plugins import get_host

# (algo, env, env steps per example): RND and MBPO update large networks every step
CASES = [("sac", "Pendulum-v1", 300), ("dqn", "CartPole-v1", 300), ("ppo", "CartPole-v1", 300),
         ("a2c", "CartPole-v1", 300), ("pg", "CartPole-v1", 300), ("cql", "CartPole-v1", 300),
         ("rnd", "PointmassEasy-v0", 40), ("mbpo", "Pendulum-v1", 40)]
LONG_RUNNING = {"total_steps", "eval_episodes", "num_envs", "seed", "eval_every", "log_every", "checkpoint_every",
                "video_every", "max_episode_steps", "offline_steps", "batch_steps", "n_steps", "learning_starts",
                "gradient_steps", "epochs", "n_epochs", "train_freq", "rollout_steps"}
FIXED = ["--set", "eval_episodes=1", "--set", "log_every=100", "--set", "eval_every=0"]

SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2**70, max_value=2**70),
    st.sampled_from([0, -1, 1, 2, 2**31, 2**62, 1e-308, 1e308, -0.0, True, "abc", "", "null", "cuda", "cpu"]),
)
VALUES = st.one_of(SCALARS, st.lists(st.one_of(st.integers(-3, 2**40), st.floats(allow_nan=True)), max_size=4))


def keys_of(algo: str) -> list[str]:
    spec = get_host().registry.algorithm(algo)
    names = [f.name for f in dataclasses.fields(spec.config_class())] + [f.name for f in dataclasses.fields(RunConfig)]
    return sorted(set(names) - LONG_RUNNING)


def as_text(value) -> str:
    """A value as --set takes it (YAML), floats spelled so NaN and infinities survive."""
    if isinstance(value, float) and value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


@pytest.mark.parametrize("algo,env,steps", CASES, ids=[c[0] for c in CASES])
def test_any_config_value_is_refused_in_one_line_or_trains(algo, env, steps, tmp_path_factory, capsys):
    keys = keys_of(algo)

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.dictionaries(st.sampled_from(keys), VALUES, min_size=1, max_size=3))
    def check(values):
        run_dir = tmp_path_factory.mktemp("run") / "r"
        args = ["train", "--algo", algo, "--env", env, "--run-dir", str(run_dir), "--steps", str(steps), *FIXED]
        for key, value in values.items():
            args += ["--set", f"{key}={as_text(value)}"]
        with pytest.raises(SystemExit) as info:
            main(args)
        err = capsys.readouterr().err
        code = info.value.code or 0
        assert code in (0, 2), (args, code, err[-2000:])
        if code == 2:
            lines = [line for line in err.splitlines() if line.startswith("rlforge: error:")]
            assert len(lines) == 1, (args, err[-2000:])
            assert not run_dir.exists(), (args, "a refused run left a run directory")

    check()
