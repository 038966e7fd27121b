"""Checkpoints under faults: a process killed (or a disk filling up) at every file operation of
a checkpoint write, broken `latest` pointers, crafted counters and env state.

The fault hook is RLFORGE_CHECKPOINT_FAULT="K:N[:raise]" (rlforge.checkpoint): the K-th
checkpoint write of the process ends the process (or raises ENOSPC) before its N-th file
operation. A checkpoint write has 7 file operations.
"""

import json
import os

import pytest

from cli_helpers import cli_env, metric_rows, run_cli

WRITE_OPERATIONS = 7
TOY = ["train", "--algo", "toy", "--env", "CartPole-v1", "--set", "eval_episodes=2", "--set", "log_every=250",
       "--set", "eval_every=1000", "--steps", "3000", "--checkpoint-every", "1000"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory, toy_plugin_module):
    """The uninterrupted run every faulty run must end up equal to."""
    folder = tmp_path_factory.mktemp("straight")
    result = run_cli(TOY + ["--run-dir", "run"], cwd=folder, env=cli_env(toy_plugin_module))
    assert result.returncode == 0, result.stderr
    return metric_rows(folder / "run")


@pytest.mark.parametrize("operation", range(1, WRITE_OPERATIONS + 1))
def test_a_kill_at_any_operation_of_a_checkpoint_write_resumes_to_the_straight_run(
        tmp_path, toy_plugin_module, straight, operation):
    env = cli_env(toy_plugin_module)
    killed = run_cli(TOY + ["--run-dir", "run"], cwd=tmp_path,
                     env={**env, "RLFORGE_CHECKPOINT_FAULT": f"2:{operation}"})
    assert killed.returncode == 86, killed.stderr  # died inside the second checkpoint write
    checkpoints = tmp_path / "run" / "checkpoints"
    latest = (checkpoints / "latest").read_text().strip()
    assert latest in ("step_000000001000", "step_000000002000")  # always a complete one
    assert (checkpoints / latest / "state.json").is_file()

    resumed = run_cli(["train", "--resume", "run"], cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert not list(checkpoints.glob(".tmp-*"))
    assert metric_rows(tmp_path / "run") == straight


def test_a_full_disk_during_a_checkpoint_is_one_line_and_leaves_no_temporary_folder(tmp_path, toy_plugin_module):
    result = run_cli(TOY + ["--run-dir", "run"], cwd=tmp_path,
                     env={**cli_env(toy_plugin_module), "RLFORGE_CHECKPOINT_FAULT": "2:3:raise"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("rlforge: error: cannot write checkpoint")
    assert "Traceback" not in result.stderr
    checkpoints = tmp_path / "run" / "checkpoints"
    assert not list(checkpoints.glob(".tmp-*"))
    assert (checkpoints / "latest").read_text().strip() == "step_000000001000"
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["status"] == "crashed"


def words(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def stopped_run(tmp_path, plugin):
    """A run stopped at step 2000 with checkpoints at 1000 and 2000."""
    env = cli_env(plugin)
    result = run_cli(TOY[:-4] + ["--steps", "2000", "--checkpoint-every", "1000", "--run-dir", "run"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    meta = tmp_path / "run" / "meta.json"
    data = json.loads(meta.read_text())
    data["status"] = "stopped"
    meta.write_text(json.dumps(data))
    return tmp_path / "run" / "checkpoints", env


@pytest.mark.parametrize("pointer", [b"step_000000009999\n", b"\xff\xfe\x00bad", b"/etc\n", b"../../run\n",
                                     b"checkpoints/step_000000001000\n", b""])
def test_a_broken_latest_falls_back_to_the_newest_complete_checkpoint(tmp_path, toy_plugin_module, pointer):
    checkpoints, env = stopped_run(tmp_path, toy_plugin_module)
    (checkpoints / "latest").write_bytes(pointer)
    result = run_cli(["train", "--resume", "run", "--steps", "2500"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "using the newest complete checkpoint, step_000000002000" in words(result.stderr)
    assert "from step_000000002000 at step 2,000" in words(result.stderr)


def test_latest_as_a_symlink_out_of_the_run_is_not_followed(tmp_path, toy_plugin_module):
    checkpoints, env = stopped_run(tmp_path, toy_plugin_module)
    outside = tmp_path / "outside"
    outside.write_text("step_000000001000\n")
    (checkpoints / "latest").unlink()
    os.symlink(outside, checkpoints / "latest")
    result = run_cli(["train", "--resume", "run", "--steps", "2500"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "from step_000000002000" in words(result.stderr)


def edit_state(checkpoint_dir, change):
    path = checkpoint_dir / "state.json"
    body = json.loads(path.read_text())
    change(body["state"]["engine"])
    path.write_text(json.dumps(body))


@pytest.mark.parametrize("value", [float("nan"), -5, 1.5, True, "100", 10**30])
def test_crafted_counters_are_refused_before_the_run_changes(tmp_path, toy_plugin_module, value):
    checkpoints, env = stopped_run(tmp_path, toy_plugin_module)
    edit_state(checkpoints / "step_000000002000", lambda engine: engine["counters"].__setitem__("step", value))
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file() and p.name != ".lock"}
    result = run_cli(["train", "--resume", "run", "--steps", "2500"], cwd=tmp_path, env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "counter 'step'" in result.stderr or "beyond this run" in result.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file() and p.name != ".lock"}
    assert after == before  # metrics.csv, meta.json, config.yaml, events: untouched


def test_an_extra_env_attribute_in_the_saved_state_is_refused(tmp_path, toy_plugin_module):
    checkpoints, env = stopped_run(tmp_path, toy_plugin_module)

    def add_gravity(engine):
        engine["envs"][0]["env"]["gravity"] = 100.0

    edit_state(checkpoints / "step_000000002000", add_gravity)
    result = run_cli(["train", "--resume", "run", "--steps", "2500"], cwd=tmp_path, env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "gravity" in result.stderr
