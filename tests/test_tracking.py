"""Experiment trackers as plugins (rlforge.tracking), with a throwaway tracker whose backend
writes each call to a JSON-lines file: a tracker acts only for runs that ask for it, sees every
logged scalar at its step, the final checkpoint and the run's status, continues its own run on
resume, and a failing one warns once without stopping training. The MLflow and W&B plugins are
tested against the real things beside them (plugins/rlforge-mlflow, plugins/rlforge-wandb)."""

import csv
import json

import pytest

from cli_helpers import STOPPER, TOY_ALGORITHM, cli_env, run_cli, write_distribution

RECORDER = {
    "recorder_tracker.plugin": '''
        from rlforge.tracking import TrackerPlugin

        tracker = TrackerPlugin("recorder", "writes its calls to $RECORDER_FILE",
                                "recorder_tracker.backend:Recorder")
    ''',
    "recorder_tracker.backend": '''
        import json
        import os

        class Recorder:
            def __init__(self):
                self.calls = 0

            def _write(self, *entry):
                self.calls += 1
                if self.calls == int(os.environ.get("RECORDER_FAIL_AT", "0")):
                    raise ConnectionError("the server went away")
                with open(os.environ["RECORDER_FILE"], "a") as handle:
                    handle.write(json.dumps(entry) + "\\n")

            def start(self, run, params, previous):
                self._write("start", params, previous)
                return {"id": (previous or {}).get("id", "run-1"), "starts": (previous or {}).get("starts", 0) + 1}

            def log(self, step, metrics):
                self._write("log", step, metrics)

            def video(self, path, step):
                self._write("video", str(path), step)

            def artifact(self, path, name):
                self._write("artifact", sorted(p.name for p in path.iterdir()), name)

            def end(self, status):
                self._write("end", status)
    ''',
}
TRAIN = ["train", "--algo", "toy", "--env", "CartPole-v1", "--set", "eval_every=100", "--set", "log_every=50",
         "--set", "eval_episodes=1"]


@pytest.fixture
def tracked(tmp_path, toy_plugin):
    """An environment with the toy algorithm, the recorder tracker and the stopper plugin, and
    a function reading the recorder's calls."""
    site = write_distribution(tmp_path / "trackers", "recorder-tracker", {"recorder": "recorder_tracker.plugin:tracker"},
                              RECORDER)
    stopper = write_distribution(tmp_path / "stopper", "stopper", {"stopper": "stopper_plugin"}, STOPPER)
    record = tmp_path / "calls.jsonl"
    env = cli_env(toy_plugin, site, stopper, RECORDER_FILE=str(record), STOP_AT_STEP="-1",
                  RLFORGE_LOAD_PLUGINS="toy,recorder,stopper")

    def calls():
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []

    return env, calls


def _metric_rows(run) -> set:
    with open(run / "metrics.csv", newline="") as handle:
        return {(int(r["step"]), r["tag"], float(r["value"])) for r in csv.DictReader(handle)}


def test_a_tracker_acts_only_for_runs_that_name_it(tmp_path, tracked):
    env, calls = tracked
    result = run_cli([*TRAIN, "--steps", "200", "--run-dir", str(tmp_path / "plain")], env=env)
    assert result.returncode == 0, result.stderr
    assert calls() == [] and not (tmp_path / "plain" / "trackers.json").exists()


def test_the_tracker_gets_the_config_every_metric_the_checkpoint_and_the_status(tmp_path, tracked):
    env, calls = tracked
    run = tmp_path / "run"
    result = run_cli([*TRAIN, "--steps", "200", "--track", "recorder", "--run-dir", str(run)], env=env)
    assert result.returncode == 0, result.stderr
    seen = calls()
    kind, params, previous = seen[0]
    assert (kind, previous) == ("start", None)
    assert params["algo"] == "toy" and params["rate"] == 0.1 and params["track"] == ["recorder"]
    logged = {(step, tag, value) for kind, step, metrics in (c for c in seen if c[0] == "log")
              for tag, value in metrics.items()}
    assert logged == _metric_rows(run)  # every scalar of metrics.csv, at its step, and nothing else
    assert seen[-2] == ["artifact", ["arrays.npz", "state.json", "tensors.safetensors"], "checkpoint"]
    assert seen[-1] == ["end", "finished"]
    assert json.loads((run / "trackers.json").read_text()) == {"recorder": {"id": "run-1", "starts": 1}}


def test_a_resumed_run_continues_the_same_tracker_run(tmp_path, tracked):
    env, calls = tracked
    run = tmp_path / "run"
    stopped = run_cli([*TRAIN, "--steps", "400", "--track", "recorder", "--checkpoint-every", "200",
                       "--run-dir", str(run)], env={**env, "STOP_AT_STEP": "200"})
    assert stopped.returncode == 130, stopped.stderr
    assert calls()[-1] == ["end", "stopped"]
    first = len(calls())
    resumed = run_cli(["train", "--resume", str(run)], env=env)
    assert resumed.returncode == 0, resumed.stderr
    again = calls()[first:]
    assert again[0][0] == "start" and again[0][2] == {"id": "run-1", "starts": 1}
    assert min(step for kind, step, *_ in (c for c in again if c[0] == "log")) > 200
    assert again[-1] == ["end", "finished"]
    assert json.loads((run / "trackers.json").read_text())["recorder"] == {"id": "run-1", "starts": 2}


def test_a_failing_tracker_warns_once_and_training_finishes(tmp_path, tracked):
    env, calls = tracked
    run = tmp_path / "run"
    result = run_cli([*TRAIN, "--steps", "300", "--track", "recorder", "--run-dir", str(run)],
                     env={**env, "RECORDER_FAIL_AT": "3"})
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("recorder: logging failed (ConnectionError: the server went away); training goes on "
                        "without it") == 1
    assert len(calls()) == 2  # start and one log; nothing after the failure
    assert json.loads((run / "meta.json").read_text())["status"] == "finished"


def test_the_track_config_key_and_unknown_names(tmp_path, tracked):
    env, calls = tracked
    config = tmp_path / "tracked.yaml"
    config.write_text("algo: toy\nenv: CartPole-v1\ntotal_steps: 100\ntrack: [recorder]\n")
    assert run_cli(["train", "--config", str(config), "--run-dir", str(tmp_path / "run")], env=env).returncode == 0
    assert calls()[0][0] == "start" and calls()[-1] == ["end", "finished"]
    result = run_cli([*TRAIN, "--track", "recordr", "--run-dir", str(tmp_path / "bad")], env=env)
    assert result.returncode == 2 and not (tmp_path / "bad").exists()
    assert result.stderr.strip() == ("rlforge: error: unknown tracker 'recordr' (did you mean 'recorder'?); installed: "
                                     "recorder (the bundled ones: plugins/rlforge-mlflow, plugins/rlforge-wandb)")


def test_rlforge_list_imports_no_tracker_library():
    """The bundled tracker plugins load with every command, but their libraries only for a run
    that tracks to them."""
    import subprocess
    import sys

    script = ("import json, sys\nfrom rlforge.cli import main\ntry:\n    main(['list'])\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=cli_env(), timeout=300)
    imported = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert {"rlforge_mlflow", "rlforge_wandb"} <= imported  # the plugins did load
    assert not imported & {"mlflow", "wandb", "torch"}
