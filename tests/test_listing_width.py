"""`rlforge list`, `rlforge list envs` and `rlforge config` in an 80-column terminal: no line is
wider than the terminal and nothing is cut; a terminal wide enough for the table gets the table."""

import json

from cli_helpers import cli_env, run_cli


def narrow(*args: str, columns: int = 80) -> list[str]:
    result = run_cli(list(args), env=cli_env(COLUMNS=str(columns)))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def test_list_fits_80_columns_with_every_summary_whole():
    lines = narrow("list")
    assert max(len(line) for line in lines) <= 80
    algorithms = json.loads(run_cli(["list", "--json"]).stdout)
    for algo in algorithms:  # a heading line per algorithm, then its whole summary
        assert any(line.split()[:1] == [algo["name"]] and f"{algo['plugin']} {algo['version']}" in line for line in lines)
        assert " ".join(algo["summary"].split()) in words(lines)


def test_list_envs_fits_80_columns():
    lines = narrow("list", "envs", "--filter", "Pointmass")
    assert max(len(line) for line in lines) <= 80
    assert lines[1].split() == ["PointmassEasy-v0", "rlforge-offline"]
    assert lines[2].startswith("    CS285 hw5 point-mass maze")


def test_config_fits_80_columns_with_values_defaults_and_help():
    lines = narrow("config", "sac", "--env", "Hopper-v4")
    assert max(len(line) for line in lines) <= 80
    keys = json.loads(run_cli(["config", "sac", "--env", "Hopper-v4", "--json"]).stdout)
    text = words(lines)
    for row in keys:
        changed = f"  (default {row['default']})" if row["value"] != row["default"] else ""
        assert any(line.startswith(f"{row['key']}: {row['type']} = {row['value']}{changed}") for line in lines), row
        assert " ".join(row["help"].split()) in text
    assert "engine keys, shared by every algorithm" in lines and "sac keys" in lines


def test_a_wide_terminal_gets_the_table():
    lines = narrow("list", columns=400)
    assert lines[1].startswith("┏") and "summary" in lines[2]


def test_config_types_read_as_written():
    from typing import Literal

    from rlforge.commands.listing import _type_name

    assert _type_name(float | None) == "float | None"
    assert _type_name(bool | Literal["critic", "actor"]) == "bool | Literal['critic', 'actor']"
    assert _type_name(list[int]) == "list[int]"
