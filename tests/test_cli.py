"""The CLI end to end, with the toy algorithm plugin (tests/cli_helpers.py)."""

import csv
import json

import pytest
import yaml

from cli_helpers import cli_env, run_cli


def train(tmp_path, toy_plugin, *args):
    return run_cli(["train", *args], cwd=tmp_path, env=cli_env(toy_plugin))


def test_train_writes_a_complete_run_directory(tmp_path, toy_plugin):
    result = train(tmp_path, toy_plugin, "--algo", "toy", "--env", "CartPole-v1", "--steps", "2000",
                   "--set", "eval_every=1000", "--set", "log_every=400", "--set", "eval_episodes=3", "--seed", "4")
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs" / "toy" / "CartPole-v1").iterdir()
    assert run_dir.name.endswith("-s4")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["algo"] == "toy" and config["seed"] == 4 and config["total_steps"] == 2000
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == 2000 and meta["last_eval"]["return_mean"] > 0
    (machine,) = meta["machines"]  # where it ran and at what matmul precision
    assert machine["cores"] >= 1 and machine["cpu"] and machine["update_matmul_precision"] in ("highest", "high", "medium")
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    tags = {row["tag"] for row in rows}
    assert {"charts/episode_return", "charts/episode_length", "charts/sps", "losses/toy",
            "eval/return_mean", "eval/return_std"} <= tags
    eval_steps = [int(r["step"]) for r in rows if r["tag"] == "eval/return_mean"]
    assert eval_steps == [1000, 2000]
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert (run_dir / "checkpoints" / "latest").read_text().strip() == "step_000000002000"
    assert "resolved config" in result.stderr and "finished 2,000 steps" in result.stderr


def test_tensorboard_holds_the_documented_tags(tmp_path, toy_plugin):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(tmp_path, toy_plugin, "-a", "toy", "-e", "CartPole-v1", "--steps", "500", "--run-dir", "run",
          "--set", "log_every=100", "--set", "eval_episodes=2")
    events = EventAccumulator(str(tmp_path / "run"))
    events.Reload()
    assert {"charts/episode_return", "charts/sps", "eval/return_mean", "losses/toy"} <= set(events.Tags()["scalars"])


def test_config_file_names_algo_and_env(tmp_path, toy_plugin):
    (tmp_path / "exp.yaml").write_text("algo: toy\nenv: Pendulum-v1\nrollout: 4\ntotal_steps: 200\neval_episodes: 1\n")
    result = train(tmp_path, toy_plugin, "--config", "exp.yaml", "--set", "rate=0.5", "--run-dir", "r")
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert (config["env"], config["rollout"], config["rate"], config["total_steps"]) == ("Pendulum-v1", 4, 0.5, 200)


BAD_INPUTS = [
    (["--algo", "toi", "--env", "CartPole-v1"], "unknown algorithm 'toi' (did you mean 'toy'?)"),
    (["--algo", "toy", "--env", "CartPol-v1"], "unknown env 'CartPol-v1' (did you mean 'CartPole-v1'"),
    (["--algo", "toy", "--env", "CartPole-v1", "--set", "rat=1"], "unknown config key 'rat' in --set (did you mean 'rate'?)"),
    (["--algo", "toy", "--env", "CartPole-v1", "--set", "rate=high"], "config key 'rate' expects a number, got 'high'"),
    (["--algo", "toy", "--env", "CartPole-v1", "--set", "num_envs=0"], "invalid run config: num_envs must be at least 1"),
    (["--algo", "toy", "--env", "CartPole-v1", "--config", "broken.yaml"], "is not valid YAML at line"),
    (["--algo", "toy", "--env", "CartPole-v1", "--config", "missing.yaml"], "config file 'missing.yaml' does not exist"),
    (["--env", "CartPole-v1"], "no algo given"),
    (["--algo", "toy", "--env", "CartPole-v1", "--bogus"], "No such option '--bogus'"),
    (["--algo", "toy", "--env", "CartPole-v1", "--steps", "many"], "'many' is not a valid integer"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_leaves_no_run(tmp_path, toy_plugin, args, message):
    (tmp_path / "broken.yaml").write_text("rate: [1,\n")
    result = train(tmp_path, toy_plugin, *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("rlforge: error: "), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_existing_run_directory_is_never_overwritten(tmp_path, toy_plugin):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = train(tmp_path, toy_plugin, "-a", "toy", "-e", "CartPole-v1", "--run-dir", "taken")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]


def test_help_texts_explain_every_option():
    result = run_cli(["train", "--help"])
    assert result.returncode == 0
    for option in ("--algo", "--env", "--config", "--set", "--seed", "--steps", "--num-envs", "--run-dir", "--device"):
        options = result.stdout.split("Options:", 1)[1]
        line = next(l for l in options.splitlines() if option in l)
        assert len(line.split(option, 1)[1].strip()) > 10, f"{option} has no help text"


def test_seeds_train_in_parallel_into_sibling_directories(tmp_path, toy_plugin):
    result = train(tmp_path, toy_plugin, "-a", "toy", "-e", "CartPole-v1", "--steps", "600", "--seeds", "1-2,5",
                   "--set", "eval_episodes=1")
    assert result.returncode == 0, result.stderr
    parent = tmp_path / "runs" / "toy" / "CartPole-v1"
    run_dirs = sorted(p for p in parent.iterdir() if p.is_dir())
    assert [p.name.rsplit("-", 1)[1] for p in run_dirs] == ["s1", "s2", "s5"]
    assert len({p.name.rsplit("-", 1)[0] for p in run_dirs}) == 1  # one shared time stamp: siblings
    for run_dir, seed in zip(run_dirs, (1, 2, 5)):
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert config["seed"] == seed and config["total_steps"] == 600
        assert json.loads((run_dir / "meta.json").read_text())["status"] == "finished"
        assert (parent / f"{run_dir.name}.log").is_file()


@pytest.mark.parametrize("args, message", [
    (["--seeds", "1,x"], "--seeds expects numbers like 1,2,3 or 1-5, got '1,x'"),
    (["--seeds", "1,2", "--seed", "3"], "--seeds picks the seeds and run directories itself"),
    (["--seeds", "1,2", "--set", "nope=1"], "unknown config key 'nope'"),
])
def test_bad_seeds_are_refused_before_anything_runs(tmp_path, toy_plugin, args, message):
    result = train(tmp_path, toy_plugin, "-a", "toy", "-e", "CartPole-v1", *args)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_the_progress_bar_shows_the_speed_of_a_run_shorter_than_log_every(tmp_path, toy_plugin):
    result = train(tmp_path, toy_plugin, "--algo", "toy", "--env", "CartPole-v1", "--steps", "200",
                   "--set", "log_every=100000", "--set", "eval_every=0", "--set", "eval_episodes=1")
    assert result.returncode == 0, result.stderr
    bar = [line for line in (result.stdout + result.stderr).splitlines() if "steps/s" in line][-1]
    rate = bar.split("steps/s")[0].split()[-1]
    assert float(rate.replace(",", "")) > 0, bar


@pytest.mark.parametrize("target, ends_at", [(0.0, 1000), (1e9, 3000)])
def test_stop_at_return_ends_the_run_at_the_first_evaluation_that_reaches_it(tmp_path, toy_plugin, target, ends_at):
    """Random CartPole episodes return 10-60: a target of 0 is reached at the first evaluation
    (step 1000), one of 1e9 never, and the run trains all of total_steps."""
    result = train(tmp_path, toy_plugin, "--algo", "toy", "--env", "CartPole-v1", "--steps", "3000", "--run-dir", "r",
                   "--set", "eval_every=1000", "--set", "eval_episodes=3", "--set", f"stop_at_return={target}")
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["step"] == ends_at
    assert meta.get("reached_return_at") == (ends_at if target == 0.0 else None)
    evaluated = [int(row["step"]) for row in csv.DictReader(open(tmp_path / "r" / "metrics.csv"))
                 if row["tag"] == "eval/return_mean"]
    assert evaluated == list(range(1000, ends_at + 1, 1000))  # no second evaluation at the stopping step
