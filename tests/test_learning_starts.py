"""A run that ends before its agent's `learning_starts` trains nothing: `rlforge train` says so
in a warning before the run starts and in a note when it ends (it still runs: collecting data
or a smoke test may mean it)."""

import json

import pytest

from cli_helpers import TOY_ALGORITHM, cli_env, run_cli, write_distribution

# The toy algorithm with a learning_starts key (it learns nothing either way: the message is
# about the config, which is all the core can know).
LATE_ALGORITHM = {
    "late_algo.plugin": '''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        @hookimpl
        def register_algorithms(register):
            register(AlgorithmSpec(name="late", summary="the toy with learning_starts", action_spaces=("discrete",),
                                   config="late_algo.config:LateConfig", agent="toy_algo.agent:ToyAgent"))
    ''',
    "late_algo.config": '''
        from dataclasses import dataclass
        from rlforge.config import option
        from toy_algo.config import ToyConfig

        @dataclass
        class LateConfig(ToyConfig):
            learning_starts: int = option(1000, "env steps before the first update")
    ''',
}

WARNING = "warning: learning_starts (1,000) >= total_steps (200): the run ends before the agent learns"


@pytest.fixture
def late_plugin(plugin_dir):
    write_distribution(plugin_dir, "rlforge-toy", {"toy": "toy_algo.plugin"}, TOY_ALGORITHM)
    return write_distribution(plugin_dir, "rlforge-late", {"late": "late_algo.plugin"}, LATE_ALGORITHM)


def train(tmp_path, plugin, *options):
    return run_cli(["train", "--algo", "late", "--env", "CartPole-v1", "--steps", "200", "--run-dir", "run",
                    "--set", "eval_episodes=1", *options], cwd=tmp_path, env=cli_env(plugin, COLUMNS="200"))


def test_a_run_ending_before_learning_starts_says_so_at_start_and_end(tmp_path, late_plugin):
    result = train(tmp_path, late_plugin)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    warning = next(i for i, line in enumerate(lines) if line.startswith(WARNING))
    assert lines[warning + 1].startswith("run directory: ")  # before the run starts
    assert "note: no update was made: the run ended at step 200, before learning_starts=1,000" in lines
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["status"] == "finished"


def test_a_run_reaching_learning_starts_says_nothing(tmp_path, late_plugin):
    result = train(tmp_path, late_plugin, "--set", "learning_starts=100")
    assert result.returncode == 0, result.stderr
    assert "warning:" not in result.stderr and "note:" not in result.stderr
