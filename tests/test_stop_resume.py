"""Stopping (SIGINT, SIGTERM, SIGKILL mid-checkpoint) and resuming, with the toy algorithm."""

import json
import signal
import subprocess
import time

import pytest

from cli_helpers import KILLER, RLFORGE, cli_env, metric_rows, run_cli, write_distribution

TOY_RUN = ["train", "--algo", "toy", "--env", "CartPole-v1", "--run-dir", "run", "--set", "eval_episodes=2",
           "--set", "log_every=500", "--set", "eval_every=5000"]


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_writes_a_checkpoint_and_explains_how_to_resume(tmp_path, toy_plugin, signum, code):
    process = subprocess.Popen(RLFORGE + TOY_RUN + ["--steps", "5000000"], cwd=tmp_path, env=cli_env(toy_plugin),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.csv"
    assert wait_for(lambda: metrics.exists() and metrics.stat().st_size > 2000), "training did not start"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert f"rlforge train --resume {tmp_path / 'run'}" in stderr.replace("\n", " ") or "rlforge train --resume run" in stderr
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["status"] == "stopped" and 0 < meta["step"] < 5_000_000
    latest = (tmp_path / "run" / "checkpoints" / "latest").read_text().strip()
    assert latest == f"step_{meta['step']:012d}"


def test_sigkill_during_a_checkpoint_write_loses_nothing_and_resumes(tmp_path, toy_plugin):
    killer_site = write_distribution(tmp_path / "killer", "rlforge-killer", {"killer": "killer_plugin"}, KILLER)
    killed = run_cli(TOY_RUN + ["--steps", "12000", "--checkpoint-every", "4000"], cwd=tmp_path,
                     env=cli_env(toy_plugin, killer_site))
    assert killed.returncode == -signal.SIGKILL
    checkpoints = tmp_path / "run" / "checkpoints"
    assert (checkpoints / "latest").read_text().strip() == "step_000000004000"  # the last complete one
    assert list(checkpoints.glob(".tmp-*")), "the interrupted write should have left its temporary folder"
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["status"] == "running"  # as the kill left it
    listed = json.loads(run_cli(["runs", str(tmp_path), "--json"], env=cli_env(toy_plugin)).stdout)
    assert [(r["status"], r["step"]) for r in listed] == [("crashed", 4000)]  # its process is gone

    resumed = run_cli(["train", "--resume", "run"], cwd=tmp_path, env=cli_env(toy_plugin, RLFORGE_LOAD_PLUGINS="toy"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "from step_000000004000 at step 4,000" in resumed.stderr
    assert not list(checkpoints.glob(".tmp-*"))
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 12000
    assert len(meta["machines"]) == 1  # resumed on the same machine: listed once

    straight = run_cli(TOY_RUN[:-6] + ["--run-dir", "straight", "--set", "eval_episodes=2", "--set", "log_every=500",
                                       "--set", "eval_every=5000", "--steps", "12000"],
                       cwd=tmp_path, env=cli_env(toy_plugin, RLFORGE_LOAD_PLUGINS="toy"))
    assert straight.returncode == 0, straight.stderr
    assert metric_rows(tmp_path / "run") == metric_rows(tmp_path / "straight")
    assert tensorboard_series(tmp_path / "run") == tensorboard_series(tmp_path / "straight")


def tensorboard_series(run_dir):
    """{tag: [(step, value)]} as TensorBoard shows it (events after a purge step dropped)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), purge_orphaned_data=True)
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)]
            for tag in events.Tags()["scalars"] if tag != "charts/sps"}


def test_resume_refusals_are_one_line(tmp_path, toy_plugin):
    env = cli_env(toy_plugin)
    missing = run_cli(["train", "--resume", "nowhere"], cwd=tmp_path, env=env)
    assert missing.returncode == 2 and missing.stderr == "rlforge: error: run directory 'nowhere' does not exist\n"
    assert run_cli(TOY_RUN + ["--steps", "1000"], cwd=tmp_path, env=env).returncode == 0
    before = (tmp_path / "run" / "metrics.csv").read_text()
    finished = run_cli(["train", "--resume", "run"], cwd=tmp_path, env=env)
    assert finished.returncode == 2
    assert finished.stderr == ("rlforge: error: run 'run' has finished (1,000 of 1,000 steps); "
                               "pass --steps N with N larger to train it further\n")
    mixed = run_cli(["train", "--resume", "run", "--seed", "3"], cwd=tmp_path, env=env)
    assert mixed.returncode == 2 and "drop --seed" in mixed.stderr
    assert (tmp_path / "run" / "metrics.csv").read_text() == before  # nothing touched


def test_resume_refuses_a_corrupt_checkpoint_without_touching_the_run(tmp_path, toy_plugin):
    env = cli_env(toy_plugin)
    process = subprocess.Popen(RLFORGE + TOY_RUN + ["--steps", "5000000"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = tmp_path / "run" / "metrics.csv"
    assert wait_for(lambda: metrics.exists() and metrics.stat().st_size > 2000)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    checkpoint_dir = tmp_path / "run" / "checkpoints" / (tmp_path / "run" / "checkpoints" / "latest").read_text().strip()
    (checkpoint_dir / "tensors.safetensors").write_bytes(b"\x00" * 10)
    before = metrics.read_text()
    result = run_cli(["train", "--resume", "run"], cwd=tmp_path, env=env)
    assert result.returncode == 2 and "is corrupt: cannot read tensors.safetensors" in result.stderr
    assert result.stderr.count("\n") == 1
    assert metrics.read_text() == before


def test_envs_without_restorable_state_resume_with_fresh_episodes(tmp_path, toy_plugin):
    env = cli_env(toy_plugin)
    args = TOY_RUN + ["--steps", "3000", "--num-envs", "2", "--set", "vector_mode=async"]
    assert run_cli(args, cwd=tmp_path, env=env).returncode == 0
    resumed = run_cli(["train", "--resume", "run", "--steps", "4000"], cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "CartPole-v1 cannot restore its exact state: resuming with fresh episodes" in resumed.stderr
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["step"] == 4000
