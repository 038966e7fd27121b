"""The mlflow tracker against a real MLflow tracking server, started here on a loopback port with
an SQLite store and served artifacts, and read back through MLflow's client: a PPO run stopped
at its checkpoint and resumed is one MLflow run with the config as parameters, every metric of
metrics.csv at its step, the evaluation videos and the final checkpoint as artifacts, KILLED
while stopped and FINISHED at the end. A server that is not there costs one warning line."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from cli_helpers import STOPPER, cli_env, run_cli, write_distribution

TRAIN = ["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "512", "--checkpoint-every", "256",
         "--video-every", "256", "--track", "mlflow", "--set", "num_envs=1", "--set", "n_steps=128",
         "--set", "eval_every=256", "--set", "eval_episodes=2", "--set", "log_every=128", "--set", "torch_threads=1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URI of an MLflow tracking server on 127.0.0.1 (SQLite store, artifacts it serves)."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = open(root / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the server and its worker (its own session); its store is a temporary
        process.wait(timeout=30)
        log.close()


def _metric_rows(run) -> dict[str, set]:
    rows: dict[str, set] = {}
    with open(run / "metrics.csv", newline="") as handle:
        for r in csv.DictReader(handle):
            rows.setdefault(r["tag"], set()).add((int(r["step"]), float(r["value"])))
    return rows


def test_a_stopped_and_resumed_run_is_one_mlflow_run(server, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(server)
    stopper = write_distribution(tmp_path / "stopper", "stopper", {"stopper": "stopper_plugin"}, STOPPER)
    env = cli_env(stopper, MLFLOW_TRACKING_URI=server, MLFLOW_EXPERIMENT_NAME="rlforge-test", STOP_AT_STEP="256")
    run = tmp_path / "run"
    stopped = run_cli([*TRAIN, "--run-dir", str(run)], env=env)
    assert stopped.returncode == 130, stopped.stderr
    run_id = json.loads((run / "trackers.json").read_text())["mlflow"]["run_id"]
    assert client.get_run(run_id).info.status == "KILLED"

    resumed = run_cli(["train", "--resume", str(run)], env={**env, "STOP_AT_STEP": "-1"})
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "trackers.json").read_text())["mlflow"]["run_id"] == run_id
    found = client.get_run(run_id)
    assert found.info.status == "FINISHED" and found.info.run_name == "run"
    assert client.get_experiment(found.info.experiment_id).name == "rlforge-test"
    params = found.data.params
    assert (params["algo"], params["env"], params["n_steps"], params["track"]) == ("ppo", "CartPole-v1", "128", "['mlflow']")
    for tag, rows in _metric_rows(run).items():
        history = {(m.step, m.value) for m in client.get_metric_history(run_id, tag)}
        assert history == rows, tag
    assert [f.path for f in client.list_artifacts(run_id, "videos")] == [
        "videos/step_000000000256.mp4", "videos/step_000000000512.mp4"]
    saved = sorted(f.path for f in client.list_artifacts(run_id, "checkpoint"))
    assert saved == ["checkpoint/arrays.npz", "checkpoint/state.json", "checkpoint/tensors.safetensors"]
    state = client.download_artifacts(run_id, "checkpoint/state.json", str(tmp_path))
    assert json.loads(open(state).read())["counters"]["step"] == 512


@pytest.mark.parametrize("uri", ["http://127.0.0.1:{port}", "nosuchscheme://nowhere"])
def test_an_unreachable_server_warns_once_and_training_finishes(tmp_path, uri):
    env = cli_env(MLFLOW_TRACKING_URI=uri.format(port=_free_port()))
    run = tmp_path / "run"
    result = run_cli(["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256", "--track", "mlflow",
                      "--set", "num_envs=1", "--set", "n_steps=128", "--set", "eval_episodes=1",
                      "--set", "torch_threads=1", "--run-dir", str(run)], env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("mlflow: ")]
    assert len(warnings) == 1 and warnings[0].startswith("mlflow: start failed (")
    assert json.loads((run / "meta.json").read_text())["status"] == "finished"
    assert not (run / "trackers.json").exists()
