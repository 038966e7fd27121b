"""`rlforge plugin new --template onpolicy|offpolicy|offline`: every template writes a plugin that
passes its own conformance test and learns on a small budget.

Installing each generated plugin with pip would be slow, so the tests make it importable as
pip would: a .dist-info holding its entry point is written beside its package in src/, and
that folder goes on PYTHONPATH (as cli_helpers.write_distribution does for throwaway plugins).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import cli_env, run_cli, write_distribution
from rlforge import scaffold

TEMPLATES = ["onpolicy", "offpolicy", "offline"]


def generate(tmp_path: Path, kind: str, name: str | None = None) -> tuple[Path, dict]:
    """Write `rlforge plugin new NAME --template KIND`; (its folder, an environment that finds it)."""
    name = name or f"tpl_{kind}"
    created = run_cli(["plugin", "new", name, "--template", kind, "--dir", str(tmp_path)])
    assert created.returncode == 0, created.stderr
    target = tmp_path / f"rlforge-{name}"
    write_distribution(target / "src", f"rlforge-{name}", {name: f"rlforge_{name}.plugin"}, {})
    return target, cli_env(target / "src")


def demo_dataset(tmp_path: Path, name: str, env: dict) -> Path:
    """The offline template's dataset, written by the command its README gives."""
    path = tmp_path / "cartpole.npz"
    made = subprocess.run([sys.executable, "-m", f"rlforge_{name}.demo_data", str(path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"wrote {path}: ") and "20 episodes, returns " in made.stdout
    return path


@pytest.mark.parametrize("kind", TEMPLATES)
def test_every_template_renders_python_that_compiles(kind):
    files = scaffold.render("my_algo", kind)
    assert {"pyproject.toml", "README.md", "src/rlforge_my_algo/__init__.py", "src/rlforge_my_algo/plugin.py",
            "src/rlforge_my_algo/config.py", "src/rlforge_my_algo/agent.py", "tests/test_conformance.py"} <= set(files)
    assert "class MyAlgoAgent(Agent):" in files["src/rlforge_my_algo/agent.py"]
    assert all("__" + "NAME" not in text and "__" + "DESCRIPTION" not in text for text in files.values())
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")


def test_an_unknown_template_is_refused(tmp_path):
    result = run_cli(["plugin", "new", "myalgo", "--template", "onpolicyy", "--dir", str(tmp_path)])
    assert result.returncode == 2 and "'onpolicyy' is not one of 'onpolicy', 'offpolicy', 'offline'" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", TEMPLATES)
def test_every_template_passes_its_own_conformance_test(tmp_path, kind):
    """The generated tests/ (the conformance kit through the rlforge_check fixture) pass as written."""
    target, env = generate(tmp_path, kind)
    listed = run_cli(["list", "--json"], env=env)
    spec = {a["name"]: a for a in json.loads(listed.stdout)}[f"tpl_{kind}"]
    assert spec["plugin"] == f"rlforge-tpl_{kind}"
    assert spec["action_spaces"] == (["box"] if kind == "offpolicy" else ["discrete"])
    own_tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                               cwd=target, env=env, capture_output=True, text=True, timeout=600)
    assert own_tests.returncode == 0, own_tests.stdout + own_tests.stderr
    assert "1 passed" in own_tests.stdout


def final_eval_return(run_dir: Path) -> float:
    return json.loads((run_dir / "meta.json").read_text())["last_eval"]["return_mean"]


@pytest.mark.learning
def test_the_onpolicy_template_learns_cartpole(tmp_path):
    # a random policy's return is about 22
    _, env = generate(tmp_path, "onpolicy", "tpl_learn_on")
    trained = run_cli(["train", "--algo", "tpl_learn_on", "--env", "CartPole-v1", "--steps", "3000", "--run-dir", "run",
                       "--set", "eval_episodes=5"], cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr
    assert final_eval_return(tmp_path / "run") > 50


@pytest.mark.learning
def test_the_offpolicy_template_learns_pendulum(tmp_path):
    # a random policy's return is about -1200; seed 1 reached -210 at step 4,000
    _, env = generate(tmp_path, "offpolicy", "tpl_learn_off")
    trained = run_cli(["train", "--algo", "tpl_learn_off", "--env", "Pendulum-v1", "--steps", "5000", "--run-dir", "run",
                       "--set", "eval_episodes=5", "--set", "torch_threads=1"], cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr
    assert final_eval_return(tmp_path / "run") > -400


@pytest.mark.learning
def test_the_offline_template_clones_the_best_episodes(tmp_path):
    # the dataset's returns go from 500 (the controller) down to about 20 (mostly random actions)
    _, env = generate(tmp_path, "offline", "tpl_learn_bc")
    data = demo_dataset(tmp_path, "tpl_learn_bc", env)
    trained = run_cli(["train", "--algo", "tpl_learn_bc", "--env", "CartPole-v1", "--steps", "500", "--run-dir", "run",
                       "--set", f"dataset={data}", "--set", "eval_episodes=3"], cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr
    assert final_eval_return(tmp_path / "run") > 300  # the dataset's mean is about 220
