"""The wandb tracker in W&B's offline mode, read back from the run files W&B writes: a PPO run
stopped at its checkpoint and resumed is one W&B run id (one offline folder per process), with
the config, every metric of metrics.csv at its step (as `global_step`), the evaluation videos,
the final checkpoint as an artifact, and each process's exit code. Without W&B credentials
online, the tracker warns once and training finishes."""

import csv
import json
import struct

from cli_helpers import STOPPER, cli_env, run_cli, write_distribution

TRAIN = ["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "512", "--checkpoint-every", "256",
         "--video-every", "256", "--track", "wandb", "--set", "num_envs=1", "--set", "n_steps=128",
         "--set", "eval_every=256", "--set", "eval_episodes=2", "--set", "log_every=128", "--set", "torch_threads=1"]

BLOCK, HEADER = 32768, 7  # a .wandb file: a 7-byte header, then LevelDB-log records in 32 KiB blocks
FULL, LAST = 1, 4


def wandb_records(path):
    """The protobuf Records of a run-<id>.wandb file, read without W&B's service."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    position, pieces = HEADER, []
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        length, kind = struct.unpack("<HB", data[position + 4:position + 7]) if left >= HEADER else (0, 0)
        if length == 0 and kind == 0:  # the rest of the block is padding
            position += left
            continue
        pieces.append(data[position + HEADER:position + HEADER + length])
        position += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(pieces))
            pieces = []
            yield record


def _items(update) -> dict:
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in update}


def _read_run(folder):
    """(run id, config, history rows, artifacts, exit code) of one offline run folder."""
    (path,) = folder.glob("run-*.wandb")
    run_id, config, rows, artifacts, exit_code = None, {}, [], [], None
    for record in wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":  # the config given to wandb.init travels in the run record
            run_id = record.run.run_id
            config.update(_items(record.run.config.update))
        elif kind == "config":
            config.update(_items(record.config.update))
        elif kind == "history":
            rows.append(_items(record.history.item))
        elif kind == "artifact":
            artifacts.append((record.artifact.name, sorted(m.path for m in record.artifact.manifest.contents)))
        elif kind == "exit":
            exit_code = record.exit.exit_code
    return run_id, config, rows, artifacts, exit_code


def test_a_stopped_and_resumed_run_is_one_wandb_run(tmp_path):
    stopper = write_distribution(tmp_path / "stopper", "stopper", {"stopper": "stopper_plugin"}, STOPPER)
    env = cli_env(stopper, WANDB_MODE="offline", WANDB_SILENT="true", STOP_AT_STEP="256", HOME=str(tmp_path))
    run = tmp_path / "run"
    assert run_cli([*TRAIN, "--run-dir", str(run)], env=env).returncode == 130
    resumed = run_cli(["train", "--resume", str(run)], env={**env, "STOP_AT_STEP": "-1"})
    assert resumed.returncode == 0, resumed.stderr
    wandb_id = json.loads((run / "trackers.json").read_text())["wandb"]["id"]
    first, second = (_read_run(f) for f in sorted((run / "wandb").glob(f"offline-run-*-{wandb_id}")))
    assert first[0] == second[0] == wandb_id
    config = first[1]
    assert (config["algo"], config["n_steps"], config["track"]) == ("ppo", 128, ["wandb"])
    assert (first[4], second[4]) == (130, 0)  # stopped, then finished

    rows = first[2] + second[2]
    logged = {(row["global_step"], tag, value) for row in rows for tag, value in row.items()
              if not tag.startswith(("_", "eval/video/")) and tag != "global_step"}
    with open(run / "metrics.csv", newline="") as handle:
        assert logged == {(int(r["step"]), r["tag"], float(r["value"])) for r in csv.DictReader(handle)}
    # a video is a media entry (its fields as nested keys); its file is in the run folder
    videos = [(row["global_step"], row["eval/video/_type"]) for row in rows if "eval/video/_type" in row]
    assert videos == [(256, "video-file"), (512, "video-file")]
    assert len(list((run / "wandb").glob("offline-run-*/files/media/videos/eval/*.mp4"))) == 2
    assert second[3] == [(f"checkpoint-{wandb_id}", ["arrays.npz", "state.json", "tensors.safetensors"])]


def test_without_credentials_online_it_warns_once_and_training_finishes(tmp_path):
    env = cli_env(WANDB_MODE="online", HOME=str(tmp_path), WANDB_API_KEY="", WANDB_BASE_URL="http://127.0.0.1:9")
    run = tmp_path / "run"
    result = run_cli(["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256", "--track", "wandb",
                      "--set", "num_envs=1", "--set", "n_steps=128", "--set", "eval_episodes=1",
                      "--set", "torch_threads=1", "--run-dir", str(run)], env=env)
    assert result.returncode == 0, result.stderr
    failures = [line for line in (result.stdout + result.stderr).splitlines() if "training goes on without it" in line]
    assert len(failures) == 1 and failures[0].startswith("wandb: start failed (")
    assert json.loads((run / "meta.json").read_text())["status"] == "finished"
