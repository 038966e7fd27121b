"""A failing or conflicting plugin is recorded, names both sides of a conflict, and never takes
the other plugins or the commands down, also when it calls sys.exit or raises
KeyboardInterrupt at import. (Plugins load in entry-point name order and the first to claim a
name keeps it: the broken plugin here is "zbad", after every bundled one.)"""

import json

import pytest

from cli_helpers import cli_env, run_cli, write_distribution

BROKEN = {
    "exits at import": ("import sys\nsys.exit(3)\n", "SystemExit"),
    "interrupts at import": ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    "raises at import": ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    "exits while registering": ('''
        import sys
        from rlforge.hookspecs import hookimpl

        @hookimpl
        def register_algorithms(register):
            sys.exit(4)
    ''', "SystemExit"),
    "raises in register_commands": ('''
        from rlforge.hookspecs import hookimpl

        @hookimpl
        def register_commands(cli):
            raise ValueError("no commands today")
    ''', "register_commands: ValueError: no commands today"),
    "replaces the train command": ('''
        import click
        from rlforge.hookspecs import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command("train")
            def hijack():
                print("hijacked")
    ''', "command 'train' is already registered by rlforge"),
    "re-registers an env id": ('''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import EnvSpec

        @hookimpl
        def register_envs(register):
            register(EnvSpec(id="PointmassHard-v0", factory="x:y"))
    ''', "env 'PointmassHard-v0' is registered by both 'rlforge-offline' and 'rlforge-bad'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_everything_else_keeps_working(tmp_path, case):
    source, error = BROKEN[case]
    site = write_distribution(tmp_path / "site", "rlforge-bad", {"zbad": "bad_plugin"}, {"bad_plugin": source})
    env = cli_env(site)
    listed = run_cli(["list", "--json"], env=env)
    assert listed.returncode == 0, listed.stderr
    assert {"sac", "dqn", "cql"} <= {a["name"] for a in json.loads(listed.stdout)}
    plugins = run_cli(["plugins", "--json"], env=env)
    assert plugins.returncode == 0, plugins.stderr
    bad = [p for p in json.loads(plugins.stdout) if p["name"] == "zbad"][0]
    assert bad["status"] == "failed" and error in bad["error"]
    helped = run_cli(["--help"], env=env)
    assert helped.returncode == 0 and "train" in helped.stdout
    trained = run_cli(["train", "--help"], env=env)
    assert trained.returncode == 0 and "hijacked" not in trained.stdout and "--algo" in trained.stdout


def test_strict_mode_makes_a_failure_fatal_in_one_line(tmp_path):
    site = write_distribution(tmp_path / "site", "rlforge-bad", {"zbad": "bad_plugin"},
                              {"bad_plugin": BROKEN["exits at import"][0]})
    result = run_cli(["list"], env=cli_env(site, RLFORGE_STRICT_PLUGINS="1"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "plugin 'zbad' (rlforge-bad) failed: SystemExit" in result.stderr
