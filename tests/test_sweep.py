"""`rlforge sweep` on the local backend, with the toy algorithm: trials as run directories,
resume after a stop, a failed trial among finished ones, one-line refusals of bad input."""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from cli_helpers import RLFORGE, cli_env, run_cli, write_distribution

GRID = {"name": "toygrid", "algo": "toy", "envs": ["CartPole-v1"],
        "set": {"total_steps": 2000, "eval_every": 1000, "eval_episodes": 2, "log_every": 250},
        "grid": {"rollout": [8, 16], "rate": [0.1, 0.5]}, "seeds": [1, 2]}
SETTINGS = ["rollout=8,rate=0.1", "rollout=8,rate=0.5", "rollout=16,rate=0.1", "rollout=16,rate=0.5"]
TRIALS = [f"CartPole-v1/{setting}/s{seed}" for setting in SETTINGS for seed in (1, 2)]

# Fails every run of seed 2 as it starts (unless SWEEP_CRASH is unset): a trial that dies.
CRASHER = {"crasher_plugin": '''
    import os

    from rlforge.hookspecs import hookimpl

    @hookimpl
    def on_train_start(run, agent, config):
        if os.environ.get("SWEEP_CRASH") and run.seed == 2:
            raise RuntimeError("seed 2 crashes on purpose")
'''}


def write_sweep(path: Path, **changes) -> Path:
    path.write_text(yaml.safe_dump({**GRID, **changes}, sort_keys=False))
    return path


def meta(run_dir: Path) -> dict:
    return json.loads((run_dir / "meta.json").read_text())


def meta_status(run_dir: Path) -> str:
    return meta(run_dir)["status"] if (run_dir / "meta.json").is_file() else "pending"


def check_png(path: Path) -> None:
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert height > 100 and width > 100


def check_sweep_results(tmp_path: Path, folder: Path, env: dict) -> None:
    """8 finished runs with their grid values, then a PNG plot and a comparison of 4 settings."""
    for trial in TRIALS:
        run_dir = folder / trial
        assert meta(run_dir)["status"] == "finished", trial
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        setting = dict(pair.split("=") for pair in trial.split("/")[1].split(","))
        assert (config["rollout"], config["rate"], config["seed"]) == (int(setting["rollout"]), float(setting["rate"]),
                                                                       int(trial[-1]))
    assert len(list(folder.rglob("meta.json"))) == 8

    plotted = run_cli(["plot", str(folder), "--out", "curves.png", "--smooth", "0.3"], cwd=tmp_path, env=env)
    assert plotted.returncode == 0, plotted.stderr
    assert "4 curve(s)" in plotted.stderr
    check_png(tmp_path / "curves.png")

    table = run_cli(["compare", str(folder)], cwd=tmp_path, env=env)
    assert table.returncode == 0, table.stderr
    assert all(setting in table.stdout for setting in SETTINGS) and "IQM" in table.stdout
    rows = json.loads(run_cli(["compare", str(folder), "--json"], cwd=tmp_path, env=env).stdout)
    assert sorted(r["setting"] for r in rows) == sorted(SETTINGS)
    assert "unfinished" not in table.stdout
    for row in rows:
        assert row["unfinished"] == 0 and row["steps"] == 2000
        finals = [meta(Path(run))["last_eval"]["return_mean"] for run in row["runs"]]
        assert row["seeds"] == 2 and row["final_iqm"] == pytest.approx(sum(finals) / 2)  # 2 seeds: IQM = mean
        assert min(finals) <= row["final_ci"][0] <= row["final_ci"][1] <= max(finals)
    assert [r["final_iqm"] for r in rows] == sorted((r["final_iqm"] for r in rows), reverse=True)


def test_local_sweep_runs_a_grid_over_seeds_and_is_plotted_and_compared(tmp_path, toy_plugin):
    env = cli_env(toy_plugin)
    sweep_file = write_sweep(tmp_path / "grid.yaml")
    done = run_cli(["sweep", str(sweep_file), "--workers", "2"], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "8 trials (toy), 0 finished already" in " ".join(done.stderr.split())
    check_sweep_results(tmp_path, tmp_path / "sweeps" / "toygrid", env)

    again = run_cli(["sweep", str(sweep_file)], cwd=tmp_path, env=env)  # nothing left to do
    assert again.returncode == 0, again.stderr
    assert "8 finished already, 0 to resume, 0 to run" in " ".join(again.stderr.split())


def test_a_stopped_sweep_resumes_only_its_missing_trials(tmp_path, toy_plugin):
    sweep_file = write_sweep(tmp_path / "grid.yaml", set={**GRID["set"], "total_steps": 12000, "eval_every": 4000,
                                                         "checkpoint_every": 2000})
    folder = tmp_path / "sweeps" / "toygrid"
    process = subprocess.Popen(RLFORGE + ["sweep", str(sweep_file), "--workers", "2"], cwd=tmp_path,
                               env=cli_env(toy_plugin), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _midway(folder):
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)  # as `kill` would; running trials checkpoint and stop
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    before = {trial: meta(folder / trial) for trial in TRIALS if (folder / trial / "meta.json").is_file()}
    finished = [t for t, m in before.items() if m["status"] == "finished"]
    stopped = [t for t, m in before.items() if m["status"] == "stopped"]
    assert len(finished) >= 2 and stopped, before
    assert len(finished) < 8
    # compare says which settings hold unfinished seeds, and how far they got
    rows = json.loads(run_cli(["compare", str(folder), "--json"], cwd=tmp_path, env=cli_env(toy_plugin)).stdout)
    unfinished = {row["setting"]: row["unfinished"] for row in rows}
    for setting in SETTINGS:
        expected = sum(1 for seed in (1, 2) if meta_status(folder / f"CartPole-v1/{setting}/s{seed}") != "finished")
        assert unfinished.get(setting, expected) == expected
    table = run_cli(["compare", str(folder)], cwd=tmp_path, env=cli_env(toy_plugin)).stdout
    footnote = "seeds unfinished (stopped, crashed or running), counted with their last values"
    assert (footnote in " ".join(table.split())) == any(row["unfinished"] and row["seeds"] for row in rows)

    resumed = run_cli(["sweep", str(sweep_file), "--workers", "2"], cwd=tmp_path, env=cli_env(toy_plugin))
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} finished already, {len(stopped)} to resume" in " ".join(resumed.stderr.split())
    after = {trial: meta(folder / trial) for trial in TRIALS}
    assert all(m["status"] == "finished" and m["step"] == 12000 for m in after.values())
    for trial in finished:  # untouched
        assert after[trial] == before[trial]
    for trial in stopped:  # continued from its checkpoint, not started again
        assert after[trial]["resumed"] == 1 and after[trial]["started"] == before[trial]["started"]
    for trial in set(TRIALS) - set(before):
        assert "resumed" not in after[trial]


def test_a_sweep_started_with_sigint_ignored_still_stops_on_sigint(tmp_path, toy_plugin):
    """A shell starts background jobs with SIGINT ignored; `kill -INT` must stop the sweep anyway."""
    sweep_file = write_sweep(tmp_path / "grid.yaml", set={**GRID["set"], "total_steps": 10**6, "eval_every": 0},
                             seeds=[1])
    folder = tmp_path / "sweeps" / "toygrid"
    process = subprocess.Popen(RLFORGE + ["sweep", str(sweep_file), "--workers", "1"], cwd=tmp_path,
                               env=cli_env(toy_plugin), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(folder.rglob("meta.json")):
        time.sleep(0.1)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert [meta(path.parent)["status"] for path in folder.rglob("meta.json")] == ["stopped"]


def _midway(folder: Path) -> bool:
    """Two trials finished and one running past its first checkpoint."""
    statuses = []
    # trial folders only (ENV/SETTING/sSEED): a running trial prunes old checkpoint folders,
    # which a recursive walk could be inside of when they vanish
    for path in folder.glob("*/*/*/meta.json"):
        try:
            statuses.append((json.loads(path.read_text())["status"], (path.parent / "checkpoints/latest").exists()))
        except (OSError, ValueError):
            pass
    return sum(s == "finished" for s, _ in statuses) >= 2 and ("running", True) in statuses


def test_a_failed_trial_is_reported_and_the_others_finish_then_it_is_retried(tmp_path, toy_plugin):
    crasher = write_distribution(tmp_path / "crasher", "rlforge-crasher", {"crasher": "crasher_plugin"}, CRASHER)
    sweep_file = write_sweep(tmp_path / "grid.yaml", grid={"rollout": [8]})
    folder = tmp_path / "sweeps" / "toygrid"
    failed = run_cli(["sweep", str(sweep_file), "--workers", "1"], cwd=tmp_path,
                     env=cli_env(toy_plugin, crasher, SWEEP_CRASH="1"))
    assert failed.returncode == 1
    assert "failed CartPole-v1 rollout=8 s2 (exit" in " ".join(failed.stderr.split())
    assert "Traceback" not in failed.stderr  # the trial's traceback is in its log, not the sweep's output
    assert "seed 2 crashes on purpose" in (folder / "CartPole-v1" / "rollout=8" / "s2.log").read_text()
    assert meta(folder / "CartPole-v1/rollout=8/s1")["status"] == "finished"

    retried = run_cli(["sweep", str(sweep_file)], cwd=tmp_path, env=cli_env(toy_plugin, crasher))
    assert retried.returncode == 0, retried.stderr
    assert "1 finished already, 0 to resume, 1 to run" in " ".join(retried.stderr.split())
    assert meta(folder / "CartPole-v1/rollout=8/s2")["status"] == "finished"


@pytest.mark.parametrize("change, args, message", [
    ({"grids": {"rate": [0.1]}}, [], "unknown key 'grids' in sweep file"),
    ({"grid": {"rat": [0.1]}}, [], "unknown config key 'rat'"),
    ({"grid": {"rate": ["fast"]}}, [], "config key 'rate' expects a number"),
    ({"algo": "nosuchalgo"}, [], "nosuchalgo"),
    ({"envs": ["NoSuchEnv-v0"]}, [], "NoSuchEnv-v0"),
    ({"seeds": "1-x"}, [], "--seeds expects numbers"),
    ({"grid": {}, "samples": {"count": 2, "space": {"rate": {"gaussian": [0, 1]}}}}, [], "distribution of 'rate'"),
    ({"samples": {"count": 2, "space": {"rate": {"uniform": [0, 1]}}}}, [], "sets 'rate' in two places"),
    ({}, ["--backend", "slurm"], "unknown backend 'slurm'"),
    ({}, ["--address", "auto"], "--address is for the ray backend"),
    ({}, ["--backend", "ray"], "the ray backend needs Ray"),
])
def test_bad_input_is_one_line_and_creates_nothing(tmp_path, toy_plugin, change, args, message):
    no_ray = write_distribution(tmp_path / "noray", "not-ray", {}, {"ray": "raise ImportError('no ray here')"})
    sweep_file = write_sweep(tmp_path / "grid.yaml", **change)
    result = run_cli(["sweep", str(sweep_file), *args], cwd=tmp_path, env=cli_env(toy_plugin, no_ray))
    assert result.returncode == 2
    assert result.stderr.startswith("rlforge: error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "sweeps").exists()


def test_missing_file_and_a_folder_of_another_sweep_are_refused(tmp_path, toy_plugin):
    env = cli_env(toy_plugin)
    missing = run_cli(["sweep", "nowhere.yaml"], cwd=tmp_path, env=env)
    assert missing.returncode == 2 and "sweep file 'nowhere.yaml' does not exist" in missing.stderr
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    taken = run_cli(["sweep", str(write_sweep(tmp_path / "grid.yaml")), "--out", "taken"], cwd=tmp_path, env=env)
    assert taken.returncode == 2 and "is not a sweep folder" in taken.stderr
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]


def test_dry_run_lists_readable_trial_folders_and_samples_are_reproducible(tmp_path, toy_plugin):
    env = cli_env(toy_plugin)
    sweep_file = write_sweep(tmp_path / "grid.yaml", grid={"rollout": [8, 16]}, seeds="1-2",
                             samples={"count": 2, "seed": 3, "space": {"rate": {"loguniform": [0.01, 0.5]}}})
    first = run_cli(["sweep", str(sweep_file), "--dry-run"], cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 8 and lines[0].startswith("sweeps/toygrid/CartPole-v1/sample1,rollout=8,rate=0.")
    assert lines[0].endswith("/s1") and lines[1].endswith("/s2")
    assert run_cli(["sweep", str(sweep_file), "--dry-run"], cwd=tmp_path, env=env).stdout == first.stdout
    assert not (tmp_path / "sweeps").exists()


def test_an_engine_key_missing_from_an_older_run_counts_as_its_default():
    """Runs made before env_kwargs existed group with newer runs of the same setting."""
    from rlforge.sweeps.results import RunData, group_by_setting

    def run(seed, **config):
        return RunData(Path(f"s{seed}"), {"algo": "cql", "env": "E", "seed": seed, "lr": 0.1, **config}, seed, "finished")

    old, new, other = run(1), run(2, env_kwargs={}), run(3, env_kwargs={"dense_reward": True})
    groups = group_by_setting([old, new, other])
    assert [[r.seed for r in runs] for runs in groups.values()] == [[1, 2], [3]]


def test_runs_of_two_algorithms_are_told_apart_by_the_algorithm_and_what_varies_within_one():
    from rlforge.sweeps.results import RunData, group_by_setting

    def run(seed, algo, **config):
        return RunData(Path(f"{algo}{seed}"), {"algo": algo, "env": "E", "seed": seed, **config}, seed, "finished")

    runs = [run(1, "td3", policy_noise=0.2, lr=1e-3), run(2, "td3", policy_noise=0.2, lr=1e-3),
            run(1, "crossq", adam_beta1=0.5, lr=1e-3), run(1, "crossq", adam_beta1=0.5, lr=3e-4)]
    groups = group_by_setting(runs)
    assert list(groups) == ["td3,lr=0.001", "crossq,lr=0.001", "crossq,lr=0.0003"]
    assert [len(g) for g in groups.values()] == [2, 1, 1]
    assert list(group_by_setting(runs[:3])) == ["td3", "crossq"]


def test_compare_marks_a_setting_whose_seeds_are_unfinished(tmp_path):
    """A stopped seed counts with its last value; the table says so, and how far it got."""
    for seed, status, rows in ((1, "finished", [(1000, 10.0), (2000, 20.0)]), (2, "stopped", [(1000, 12.0)])):
        run_dir = tmp_path / "runs" / f"s{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump({"algo": "toy", "env": "CartPole-v1", "seed": seed}))
        (run_dir / "meta.json").write_text(json.dumps({"status": status, "step": rows[-1][0]}))
        lines = ["step,wall_time,tag,value"] + [f"{step},{step},eval/return_mean,{value}" for step, value in rows]
        (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    rows = json.loads(run_cli(["compare", str(tmp_path / "runs"), "--json"], cwd=tmp_path).stdout)
    assert [(r["seeds"], r["unfinished"], r["steps"], sorted(r["final_values"])) for r in rows] == [(2, 1, 1000, [12.0, 20.0])]
    table = " ".join(run_cli(["compare", str(tmp_path / "runs")], cwd=tmp_path).stdout.split())
    assert "2*" in table and "1 of 2 seeds unfinished" in table and "the fewest steps reached: 1,000" in table
