"""One writer per run and per sweep folder (a second process refused in one line, a dead
process's lock taken over); sweep names that stay inside sweeps/; distinct settings in
distinct trial folders; bounded seed lists and sample bounds; `rlforge runs` over a folder
with malformed runs."""

import json
import signal
import subprocess
import time

import pytest

from cli_helpers import RLFORGE, cli_env, run_cli
from rlforge.errors import RLForgeError
from rlforge.runs import LOCK_FILE, FolderLock
from rlforge.sweeps import spec as sweep_spec

LONG_EVAL = ["train", "--algo", "toy", "--env", "CartPole-v1", "--steps", "2000", "--set", "eval_every=1000",
             "--set", "eval_episodes=20000", "--set", "log_every=500"]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("rlforge: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


# ----------------------------------------------------------------------------- locks


def test_a_second_lock_on_a_folder_is_refused_naming_the_holder(tmp_path):
    with FolderLock(tmp_path):
        with pytest.raises(RLForgeError, match=rf"in use by another rlforge process \(pid \d+\)"):
            FolderLock(tmp_path).acquire()
    FolderLock(tmp_path).acquire().release()  # released: free again


def test_a_stale_lock_file_of_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text("999999999")  # a lock file nobody holds
    with FolderLock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text() == str(__import__("os").getpid())


def test_a_second_resume_of_a_running_run_is_refused_and_a_killed_ones_lock_taken_over(tmp_path, toy_plugin_module):
    env = cli_env(toy_plugin_module)
    long_run = ["train", "--algo", "toy", "--env", "CartPole-v1", "--steps", "10000000", "--set", "eval_episodes=2",
                "--checkpoint-every", "500", "--run-dir", "run"]
    first = subprocess.Popen(RLFORGE + long_run, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "checkpoints" / "latest").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_cli(["train", "--resume", "run"], cwd=tmp_path, env=env)
        assert second.returncode == 2
        assert f"in use by another rlforge process (pid {first.pid})" in one_error_line(second.stderr)
        assert not list((tmp_path / "run").glob("events.out.tfevents.*.2"))  # the refused one logged nothing
    finally:
        first.send_signal(signal.SIGKILL)  # dies holding the lock
        first.communicate(timeout=60)
    step = json.loads((tmp_path / "run" / "meta.json").read_text()).get("step", 0)
    resumed = run_cli(["train", "--resume", "run", "--steps", str(step + 1000)], cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr


def test_a_second_sweep_process_on_the_same_folder_is_refused(tmp_path, toy_plugin_module):
    (tmp_path / "s.yaml").write_text("name: s\nalgo: toy\nenvs: [CartPole-v1]\nset: {total_steps: 2000, eval_every: 1000,"
                                     " eval_episodes: 20000}\nseeds: [1]\n")
    env = cli_env(toy_plugin_module)
    first = subprocess.Popen(RLFORGE + ["sweep", "s.yaml", "--workers", "1"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "sweeps" / "s" / "sweep.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_cli(["sweep", "s.yaml"], cwd=tmp_path, env=env)
        assert second.returncode == 2
        assert "sweep" in one_error_line(second.stderr) and "in use by another rlforge process" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)


# ----------------------------------------------------------------------------- sweep files


def write_sweep(tmp_path, text: str):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["../x", "/tmp/abs", ".hidden", "a/b", "..", "x" * 200, "a\\b", "with space"])
def test_a_sweep_name_outside_its_folder_is_refused(tmp_path, name):
    path = write_sweep(tmp_path, f"name: {json.dumps(name)}\nalgo: sac\nenvs: [Pendulum-v1]\n")
    with pytest.raises(RLForgeError, match="must be a plain folder name") as info:
        sweep_spec.load(path)
    assert "\n" not in str(info.value)


def test_settings_that_print_alike_get_distinct_trial_folders(tmp_path):
    path = write_sweep(tmp_path, "name: s\nalgo: sac\nenvs: [Pendulum-v1]\n"
                                 "grid:\n  actor_lr: [0.00012345, 0.00012346, 0.0003]\n  tau: [0.005, 0.0050000001]\n")
    sweep = sweep_spec.load(path)
    labels = [label for label, _ in sweep.settings]
    assert len(labels) == 6 and len(set(labels)) == 6
    assert len({json.dumps(params, sort_keys=True) for _, params in sweep.settings}) == 6
    assert len({t.relpath for t in sweep.trials()}) == 6


def test_a_setting_too_long_for_a_folder_name_gets_a_short_distinct_one(tmp_path):
    widths = ", ".join(["256"] * 120)
    path = write_sweep(tmp_path, f"name: s\nalgo: sac\nenvs: [Pendulum-v1]\ngrid:\n  critic_hidden: [[{widths}], [{widths}, 64]]\n")
    sweep = sweep_spec.load(path)
    names = [t.relpath.split("/")[-2] if "/" in t.relpath else t.relpath for t in sweep.trials()]
    assert all(len(part.encode()) <= 255 for t in sweep.trials() for part in t.relpath.split("/"))
    assert len(set(names)) == 2


@pytest.mark.parametrize("text, message", [
    ('seeds: "1-100000000"', "seeds"),
    ("seeds: [1, 2, 10000000000000000000000]", "seeds"),
    ("seeds: [" + ", ".join(str(i) for i in range(20_000)) + "]", "seeds"),
    ("samples: {count: 2, seed: 1, space: {actor_lr: {loguniform: [.nan, 0.1]}}}", "finite"),
    ("samples: {count: 2, seed: 1, space: {actor_lr: {uniform: [0.1, .inf]}}}", "finite"),
    ("samples: {count: 2, seed: -5, space: {actor_lr: {uniform: [0.1, 0.2]}}}", "seed"),
    ("samples: {count: 2, seed: abc, space: {actor_lr: {uniform: [0.1, 0.2]}}}", "seed"),
    ("samples: {count: 100000000000, seed: 1, space: {actor_lr: {uniform: [0.1, 0.2]}}}", "count"),
])
def test_unbounded_seeds_and_sample_values_are_refused_quickly(tmp_path, text, message):
    path = write_sweep(tmp_path, f"name: s\nalgo: sac\nenvs: [Pendulum-v1]\n{text}\n")
    start = time.perf_counter()
    with pytest.raises(RLForgeError, match=message) as info:
        sweep_spec.load(path)
    assert time.perf_counter() - start < 5 and "\n" not in str(info.value)


def test_the_cli_refuses_a_sweep_that_would_write_outside_in_one_line(tmp_path):
    write_sweep(tmp_path, "name: ../escape\nalgo: sac\nenvs: [Pendulum-v1]\n")
    result = run_cli(["sweep", "sweep.yaml", "--dry-run"], cwd=tmp_path)
    assert result.returncode == 2
    assert "plain folder name" in one_error_line(result.stderr)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "sweeps").exists()


# ----------------------------------------------------------------------------- rlforge runs


@pytest.mark.parametrize("meta", [b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000, None])
def test_runs_lists_a_malformed_run_as_unreadable_beside_the_good_ones(tmp_path, toy_plugin_module, meta):
    env = cli_env(toy_plugin_module)
    good = run_cli(["train", "--algo", "toy", "--env", "CartPole-v1", "--steps", "300", "--set", "eval_episodes=1",
                    "--run-dir", "runs/good"], cwd=tmp_path, env=env)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "runs" / "bad"
    (bad / "checkpoints").mkdir(parents=True)
    (bad / "config.yaml").write_text("algo: toy\n")
    if meta is None:
        (bad / "meta.json").mkdir()  # a folder where the file should be
    else:
        (bad / "meta.json").write_bytes(meta)
    listed = run_cli(["runs", "runs", "--json"], cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["run"].rstrip("/").split("/")[-1]: row for row in json.loads(listed.stdout)}
    assert rows["good"]["status"] == "finished"
    assert rows["bad"]["status"] == "unreadable"


@pytest.mark.parametrize("algo, env, key", [("cql", "CartPole-v1", "dataset"), ("dagger", "Pendulum-v1", "expert")])
def test_a_run_naming_its_own_folder_as_dataset_or_expert_is_refused(tmp_path, algo, env, key):
    """The run's folder exists (empty) but holds no data yet: refused in one line, and the
    folder stays empty."""
    (tmp_path / "runs" / "self").mkdir(parents=True)
    args = ["train", "--algo", algo, "--env", env, "--steps", "300", "--run-dir", "runs/self", "--set", f"{key}=runs/self"]
    if key == "expert":
        args += ["--set", "dataset=runs/self"]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 2
    assert "runs/self" in one_error_line(result.stderr)
    assert not list((tmp_path / "runs" / "self").iterdir())
