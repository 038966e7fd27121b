"""`rlforge eval` on a finished SAC run (MuJoCo, rendered offscreen), videos during training,
`rlforge runs`, and checkpoints that must be refused."""

import json
import shutil

import imageio.v2 as imageio
import pytest

from cli_helpers import TOY_ALGORITHM, cli_env, run_cli, write_distribution

TINY = ["--set", "random_steps=100", "--set", "learning_starts=100", "--set", "batch_size=32",
        "--set", "actor_hidden=[32,32]", "--set", "critic_hidden=[32,32]", "--set", "eval_episodes=2",
        "--set", "log_every=100"]
ENV = cli_env(RLFORGE_LOAD_PLUGINS="sac")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sac-run")
    result = run_cli(["train", "-a", "sac", "-e", "InvertedPendulum-v4", "--steps", "300", "--run-dir", "run",
                      "--video-every", "200", *TINY], cwd=root, env=ENV)
    assert result.returncode == 0, result.stderr
    return root


def test_eval_writes_a_playable_mp4(finished_run, tmp_path):
    video = tmp_path / "episode.mp4"
    result = run_cli(["eval", str(finished_run / "run"), "--episodes", "3", "--video", str(video), "--json"], env=ENV)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["algo"] == "sac" and report["step"] == 300 and report["episodes"] == 3
    assert set(report["return"]) == {"mean", "std", "min", "max"}
    reader = imageio.get_reader(video)
    frames = reader.count_frames()
    assert frames == report["video"]["frames"] == report["video"]["length"] + 1
    assert reader.get_meta_data()["size"] == (480, 480)  # MuJoCo's default render size
    assert reader.get_data(0).mean() > 0  # not a black frame


def test_eval_table_and_stochastic_mode(finished_run):
    result = run_cli(["eval", str(finished_run / "run"), "-n", "2", "--stochastic", "--seed", "3"], env=ENV)
    assert result.returncode == 0, result.stderr
    assert "return" in result.stdout and "length" in result.stdout and "stochastic" in result.stdout


def test_video_every_records_during_training(finished_run):
    videos = sorted((finished_run / "run" / "videos").glob("*.mp4"))
    assert [v.name for v in videos] == ["step_000000000200.mp4"]
    assert imageio.get_reader(videos[0]).count_frames() > 1


def test_runs_lists_the_run(finished_run):
    result = run_cli(["runs", str(finished_run), "--json"], env=ENV)
    (row,) = json.loads(result.stdout)
    assert (row["algo"], row["env"], row["step"], row["total_steps"], row["status"]) == (
        "sac", "InvertedPendulum-v4", 300, 300, "finished")
    assert row["last_eval_return"] is not None


def test_checkpoint_of_another_env_shape_is_refused(finished_run, tmp_path):
    other = run_cli(["train", "-a", "sac", "-e", "Pendulum-v1", "--steps", "150", "--run-dir", str(tmp_path / "p"),
                     *TINY], env=ENV)
    assert other.returncode == 0, other.stderr
    # a Pendulum checkpoint dropped into the InvertedPendulum run: the spaces do not match
    target = shutil.copytree(finished_run / "run", tmp_path / "mixed")
    checkpoint = target / "checkpoints" / (target / "checkpoints" / "latest").read_text().strip()
    pendulum_state = json.loads(next((tmp_path / "p" / "checkpoints").glob("step_*/state.json")).read_text())
    state = json.loads((checkpoint / "state.json").read_text())
    state["observation_space"] = pendulum_state["observation_space"]
    (checkpoint / "state.json").write_text(json.dumps(state))
    result = run_cli(["eval", str(target)], env=ENV)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "observation space" in result.stderr and "does not match InvertedPendulum-v4" in result.stderr


def test_eval_refusals_are_one_line(finished_run, tmp_path):
    missing = run_cli(["eval", str(tmp_path / "nope")], env=ENV)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = run_cli(["eval", str(empty)], env=ENV)
    assert none.returncode == 2 and "no checkpoint found" in none.stderr
    bad_video = run_cli(["eval", str(finished_run / "run"), "--video", "clip.gif"], env=ENV)
    assert bad_video.returncode == 2 and "ending in .mp4" in bad_video.stderr
    truncated = shutil.copytree(finished_run / "run", tmp_path / "truncated")
    checkpoint = truncated / "checkpoints" / (truncated / "checkpoints" / "latest").read_text().strip()
    data = (checkpoint / "arrays.npz").read_bytes()
    (checkpoint / "arrays.npz").write_bytes(data[: len(data) // 2])
    result = run_cli(["eval", str(truncated)], env=ENV)
    assert result.returncode == 2 and "is corrupt: cannot read arrays.npz" in result.stderr
    assert result.stderr.count("\n") == 1


def test_checkpoint_of_another_algorithm_is_refused(finished_run, tmp_path):
    toy_plugin = write_distribution(tmp_path / "site", "rlforge-toy", {"toy": "toy_algo.plugin"}, TOY_ALGORITHM)
    toy = run_cli(["train", "-a", "toy", "-e", "InvertedPendulum-v4", "--steps", "50", "--run-dir", str(tmp_path / "t"),
                   "--set", "eval_episodes=1"], env=cli_env(toy_plugin))
    assert toy.returncode == 0, toy.stderr
    target = shutil.copytree(finished_run / "run", tmp_path / "mixed")
    shutil.rmtree(target / "checkpoints")
    shutil.copytree(tmp_path / "t" / "checkpoints", target / "checkpoints")
    meta = json.loads((target / "meta.json").read_text())
    (target / "meta.json").write_text(json.dumps({**meta, "status": "stopped"}))
    result = run_cli(["train", "--resume", str(target)], env=cli_env(toy_plugin))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "checkpoint is for algorithm 'toy', not 'sac'" in result.stderr
