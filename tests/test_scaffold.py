"""`rlforge plugin new`: the written distribution installs, lists, trains and passes its own tests.

The end-to-end test really installs the new plugin into this environment (`pip install -e`,
its build backend hatchling fetched by pip) and uninstalls it afterwards, whatever happens.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli_env, run_cli
from rlforge import scaffold

REPO = Path(__file__).resolve().parents[1]
NAME = "scaffolded"  # unlikely to clash with a real plugin while the test has it installed


def pip(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)


def algorithms() -> dict:
    listing = run_cli(["list", "--json"])
    assert listing.returncode == 0, listing.stderr
    return {a["name"]: a for a in json.loads(listing.stdout)}


def test_new_plugin_installs_lists_trains_and_passes_its_own_tests(tmp_path):
    created = run_cli(["plugin", "new", NAME, "--dir", str(tmp_path)])
    assert created.returncode == 0, created.stderr
    target = tmp_path / f"rlforge-{NAME}"
    assert f"pip install -e {target}" in created.stdout
    package = target / "src" / f"rlforge_{NAME}"
    assert {p.name for p in package.iterdir()} >= {"__init__.py", "plugin.py", "config.py", "agent.py", "presets"}
    assert (package / "presets" / "CartPole-v1.yaml").is_file() and (target / "tests" / "test_conformance.py").is_file()
    assert f'{NAME} = "rlforge_{NAME}.plugin"' in (target / "pyproject.toml").read_text()

    installed = pip("install", "--quiet", "--no-deps", "-e", str(target))
    try:
        assert installed.returncode == 0, installed.stderr
        listed = algorithms()[NAME]
        assert listed["plugin"] == f"rlforge-{NAME}" and listed["action_spaces"] == ["discrete"]

        trained = run_cli(["train", "--algo", NAME, "--env", "CartPole-v1", "--steps", "2000", "--run-dir", "run"],
                          cwd=tmp_path)
        assert trained.returncode == 0, trained.stderr
        run = tmp_path / "run"
        assert json.loads((run / "meta.json").read_text())["status"] == "finished"
        assert yaml.safe_load((run / "config.yaml").read_text())["batch_steps"] == 200
        assert "CartPole-v1.yaml" in trained.stderr  # the preset shipped inside the package was applied
        tags = {line.split(",")[2] for line in (run / "metrics.csv").read_text().splitlines()[1:]}
        assert {"losses/policy", "charts/entropy", "eval/return_mean"} <= tags

        own_tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                                   cwd=target, env=cli_env(), capture_output=True, text=True, timeout=600)
        assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr
        assert "1 passed" in own_tests.stdout
    finally:
        removed = pip("uninstall", "--yes", f"rlforge-{NAME}")
    assert removed.returncode == 0, removed.stderr
    assert NAME not in algorithms()


@pytest.mark.parametrize("name", ["MyAlgo", "1algo", "my-algo", "my algo", "class", "algo_", "a__b", "", "a" * 41])
def test_invalid_names_are_refused_in_one_line(tmp_path, name):
    result = run_cli(["plugin", "new", name, "--dir", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr.startswith(f"rlforge: error: plugin name {name!r} is not valid: ") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path):
    (tmp_path / "rlforge-mine").mkdir()
    (tmp_path / "rlforge-mine" / "notes.txt").write_text("mine")
    result = run_cli(["plugin", "new", "mine", "--dir", str(tmp_path)])
    assert result.returncode == 2
    assert result.stderr == (f"rlforge: error: '{tmp_path / 'rlforge-mine'}' already exists; not overwriting it "
                             "(pick another name or --dir)\n")
    assert [p.name for p in (tmp_path / "rlforge-mine").iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rlforge-mine"]  # no staging folder left behind


def test_the_name_of_an_installed_algorithm_is_refused(tmp_path, toy_plugin):
    result = run_cli(["plugin", "new", "toy", "--dir", str(tmp_path)], env=cli_env(toy_plugin))
    assert result.returncode == 2
    assert result.stderr == "rlforge: error: an algorithm named 'toy' is already installed (from rlforge-toy); pick another name\n"


def test_names_are_filled_into_every_file():
    files = scaffold.render("my_algo")
    assert "src/rlforge_my_algo/agent.py" in files and "src/rlforge_my_algo/presets/CartPole-v1.yaml" in files
    assert all("__" + "NAME" not in text and "__" + "CLASS" not in text for text in files.values())
    assert "class MyAlgoAgent(Agent):" in files["src/rlforge_my_algo/agent.py"]
    assert 'presets="rlforge_my_algo:presets"' in files["src/rlforge_my_algo/plugin.py"]
    assert 'name = "rlforge-my_algo"' in files["pyproject.toml"]
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")


def test_the_worked_example_is_what_the_scaffold_writes():
    """examples/rlforge-reinforce (docs/plugins.md) is `rlforge plugin new reinforce --dir examples`."""
    example = REPO / "examples" / "rlforge-reinforce"
    on_disk = {str(p.relative_to(example)): p.read_text() for p in example.rglob("*")
               if p.is_file() and not any(part.startswith(".") or part == "__pycache__" or part.endswith(".egg-info")
                                          for part in p.relative_to(example).parts)}
    assert on_disk == scaffold.render("reinforce"), "regenerate the example with `rlforge plugin new reinforce --dir examples`"
    code = sum(len(p.read_text().splitlines()) for p in (example / "src").rglob("*.py"))
    assert code < 150, f"the worked example should stay under 150 lines of plugin code, has {code}"
