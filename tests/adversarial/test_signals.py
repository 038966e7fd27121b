"""SIGTERM and SIGINT stop a run within a bounded time also in the middle of a long evaluation,
and the evaluation they cut short runs again on resume, at its own step. (Its numbers equal a
straight run's where evaluation acts deterministically, as every bundled algorithm's does; the
toy algorithm here acts at random from its own generator.)"""

import signal
import subprocess
import time

import pytest

from cli_helpers import RLFORGE, cli_env, metric_rows, run_cli

LONG_EVAL = ["train", "--algo", "toy", "--env", "CartPole-v1", "--steps", "2000", "--set", "eval_every=1000",
             "--set", "eval_episodes=20000", "--set", "log_every=500"]


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stop_during_a_long_evaluation_is_prompt_and_resumes_exactly(tmp_path, toy_plugin_module, signum, code):
    env = cli_env(toy_plugin_module)
    process = subprocess.Popen(RLFORGE + LONG_EVAL + ["--run-dir", "run"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.csv"
    assert wait_for(lambda: metrics.exists()), "training did not start"
    # the 1,000 training steps take well under a second, the evaluation at step 1000 (20,000
    # random CartPole episodes) several: a second and a half in, the run is evaluating
    time.sleep(1.5)
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - sent < 5.0, "the stop waited for the evaluation"
    assert process.returncode == code, stderr
    assert "evaluation interrupted" in " ".join(stderr.split())
    assert "eval/return_mean" not in metrics.read_text()  # the cut evaluation logged nothing
    if signum != signal.SIGTERM:
        return  # the resume below is the same for both signals

    resumed = run_cli(["train", "--resume", "run"], cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    evaluated = [step for step, tag, _ in metric_rows(tmp_path / "run") if tag == "eval/return_mean"]
    assert evaluated == [1000, 2000]  # the interrupted evaluation ran on resume, at its own step


@pytest.mark.parametrize("operation", [2, 6])
def test_a_second_signal_during_the_stop_checkpoint_keeps_the_previous_one(tmp_path, toy_plugin_module, operation):
    """SIGTERM during the evaluation at step 1000 asks for a stop checkpoint, the process's
    third write (after the periodic ones at 504 and 1000); a SIGINT arrives before its
    `operation`-th file operation (RLFORGE_CHECKPOINT_FAULT's sigint mode; 2: before its
    tensors are written, 6: after its folder is renamed into place, before `latest` names it).
    The run stops at once with `latest` naming a complete checkpoint of step 1000 (the periodic
    one, or the stop checkpoint where that was already in place), no temporary folder, and
    resumes: the evaluation cut short runs then, at its own step."""
    env = cli_env(toy_plugin_module)
    process = subprocess.Popen(RLFORGE + LONG_EVAL + ["--checkpoint-every", "500", "--run-dir", "run"], cwd=tmp_path,
                               env={**env, "RLFORGE_CHECKPOINT_FAULT": f"3:{operation}:sigint"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: (tmp_path / "run" / "metrics.csv").exists()), "training did not start"
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("rlforge: error:")]
    assert len(errors) == 1 and "a second SIGINT stopped the run at once" in errors[0], stderr
    checkpoints = tmp_path / "run" / "checkpoints"
    assert (checkpoints / "latest").read_text().strip() == "step_000000001000"
    assert (checkpoints / "step_000000001000" / "state.json").is_file()
    assert not list(checkpoints.glob(".tmp-*"))
    stop_checkpoint = checkpoints / "step_000000001000.1"
    assert not stop_checkpoint.exists() or (stop_checkpoint / "state.json").is_file()

    resumed = run_cli(["train", "--resume", "run", "--steps", "1000"], cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr
    evaluated = [step for step, tag, _ in metric_rows(tmp_path / "run") if tag == "eval/return_mean"]
    assert evaluated == [1000]
