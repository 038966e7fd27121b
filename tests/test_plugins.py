"""Plugin loading through real entry points of throwaway distributions (see conftest)."""

import json
import time

from cli_helpers import cli_env, run_cli, write_distribution

BROKEN_ON_IMPORT = {"broken_plugin": "raise ImportError('this plugin needs libfoo')\n"}
BROKEN_ON_REGISTER = {"bad_register": '''
    from rlforge.hookspecs import hookimpl

    @hookimpl
    def register_algorithms(register):
        raise RuntimeError("registration exploded")
'''}


def plugins_json(env):
    result = run_cli(["plugins", "--json"], env=env)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_broken_plugin_is_reported_and_does_not_stop_list(plugin_dir, toy_plugin):
    write_distribution(plugin_dir, "rlforge-broken", {"broken": "broken_plugin"}, BROKEN_ON_IMPORT)
    env = cli_env(plugin_dir)
    listing = run_cli(["list", "--json"], env=env)
    assert listing.returncode == 0, listing.stderr
    assert "toy" in [a["name"] for a in json.loads(listing.stdout)]
    broken = plugins_json(env)["broken"]
    assert broken["status"] == "failed" and broken["distribution"] == "rlforge-broken"
    assert broken["error"] == "ImportError: this plugin needs libfoo"


def test_plugin_failing_in_registration_is_dropped(plugin_dir, toy_plugin):
    write_distribution(plugin_dir, "rlforge-badreg", {"badreg": "bad_register"}, BROKEN_ON_REGISTER)
    info = plugins_json(cli_env(plugin_dir))
    assert info["badreg"]["status"] == "failed" and "registration exploded" in info["badreg"]["error"]
    assert info["toy"]["status"] == "loaded" and info["toy"]["hooks"] == ["register_algorithms"]


def test_strict_mode_makes_a_broken_plugin_fatal(plugin_dir):
    write_distribution(plugin_dir, "rlforge-broken", {"broken": "broken_plugin"}, BROKEN_ON_IMPORT)
    result = run_cli(["list"], env=cli_env(plugin_dir, RLFORGE_STRICT_PLUGINS="1"))
    assert result.returncode == 2
    assert result.stderr.strip() == ("rlforge: error: plugin 'broken' (rlforge-broken) failed: "
                                     "ImportError: this plugin needs libfoo")


def test_load_plugins_limits_what_is_loaded(plugin_dir, toy_plugin):
    write_distribution(plugin_dir, "rlforge-broken", {"broken": "broken_plugin"}, BROKEN_ON_IMPORT)
    only_toy = plugins_json(cli_env(plugin_dir, RLFORGE_LOAD_PLUGINS="toy"))
    assert set(only_toy) == {"builtin", "toy"}
    none = plugins_json(cli_env(plugin_dir, RLFORGE_LOAD_PLUGINS=""))
    assert set(none) == {"builtin"}


def test_two_plugins_registering_one_name_conflict(plugin_dir, toy_plugin):
    other = plugin_dir.parent / "other"
    write_distribution(other, "rlforge-toy2", {"toy2": "toy2_plugin"}, {"toy2_plugin": '''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        @hookimpl
        def register_algorithms(register):
            register(AlgorithmSpec(name="toy", summary="another toy", action_spaces=("box",),
                                   config="toy2_plugin:C", agent="toy2_plugin:A"))
    '''})
    env = cli_env(plugin_dir, other)
    result = run_cli(["list", "--json"], env=env)
    assert result.returncode == 0, result.stderr  # the first to register the name keeps it
    toy = [a for a in json.loads(result.stdout) if a["name"] == "toy"]
    assert len(toy) == 1 and toy[0]["plugin"] == "rlforge-toy"
    info = plugins_json(env)
    assert info["toy2"]["status"] == "failed"
    assert "'toy' is registered by both 'rlforge-toy' and 'rlforge-toy2'" in info["toy2"]["error"]
    strict = run_cli(["list"], env=cli_env(plugin_dir, other, RLFORGE_STRICT_PLUGINS="1"))
    assert strict.returncode == 2 and "registered by both" in strict.stderr


def test_builtin_plugin_registers_the_commands_through_the_hook():
    info = plugins_json(cli_env())
    assert info["builtin"]["hooks"] == ["register_commands"] and info["builtin"]["distribution"] == "rlforge"


def test_help_and_list_do_not_import_torch():
    probe = ("import sys, rlforge.cli as c; sys.argv=['rlforge','list']\n"
             "try: c.main()\nexcept SystemExit: pass\n"
             "assert 'torch' not in sys.modules and 'gymnasium' not in sys.modules, 'heavy import'\n")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env())
    assert result.returncode == 0, result.stderr


RAISES_IN_HOOK = {"hook_raiser": '''
    from rlforge.hookspecs import hookimpl

    @hookimpl
    def on_evaluation(run, result):
        raise ValueError("my logger is misconfigured")
'''}


def test_a_plugin_raising_in_a_hook_is_named(tmp_path, plugin_dir, toy_plugin):
    write_distribution(plugin_dir, "rlforge-raiser", {"raiser": "hook_raiser"}, RAISES_IN_HOOK)
    result = run_cli(["train", "-a", "toy", "-e", "CartPole-v1", "--steps", "300", "--run-dir", "r",
                      "--set", "eval_every=100", "--set", "eval_episodes=1"], cwd=tmp_path, env=cli_env(plugin_dir))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == ("rlforge: error: plugin 'raiser' raised in on_evaluation: "
                                              "ValueError: my logger is misconfigured")
    assert json.loads((tmp_path / "r" / "meta.json").read_text())["status"] == "crashed"


ENV_PLUGIN = {"maze_envs": '''
    import gymnasium

    from rlforge.hookspecs import hookimpl
    from rlforge.registry import EnvSpec

    def make_corridor(**kwargs):
        return gymnasium.make("CartPole-v1", **kwargs).unwrapped  # a stand-in env for the test

    @hookimpl
    def register_envs(register):
        register(EnvSpec(id="Corridor-v0", factory="maze_envs:make_corridor", summary="a test corridor",
                         max_episode_steps=50, wrappers=["gymnasium.wrappers:RecordEpisodeStatistics"]))
'''}


def test_env_plugins_are_listed_with_their_plugin_and_train(tmp_path, plugin_dir, toy_plugin):
    write_distribution(plugin_dir, "rlforge-mazes", {"mazes": "maze_envs"}, ENV_PLUGIN)
    env = cli_env(plugin_dir)
    listed = run_cli(["list", "envs", "--json", "--filter", "corridor"], env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"id": "Corridor-v0", "source": "rlforge-mazes", "summary": "a test corridor"}]
    trained = run_cli(["train", "-a", "toy", "-e", "Corridor-v0", "--steps", "200", "--run-dir", "r",
                       "--set", "eval_episodes=2"], cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr
    assert json.loads((tmp_path / "r" / "meta.json").read_text())["last_eval"]["length_mean"] <= 50  # its time limit
