"""`rlforge dataset list|info|create`, and training on Minari datasets through the CLI (bc on
Pendulum-v1); every bad dataset ends in one line, exit status 2 and no run directory."""

import json

import numpy as np
import pytest
from gymnasium import spaces

from cli_helpers import cli_env, run_cli
from dataset_helpers import collect_with_minari, make_dataset, write_minari_folder
from rlforge.buffers import ReplayBuffer
from rlforge.datasets import FIELDS, load_dataset, save_dataset, save_minari

SMALL_BC = ["--set", "torch_threads=1", "--set", "hidden=[16]", "--set", "collect_steps=100", "--set", "train_steps=20",
            "--set", "eval_episodes=1", "--set", "log_every=100", "--steps", "200"]


@pytest.fixture
def minari_root(tmp_path, monkeypatch):
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


def rlforge(tmp_path, *args, **env):
    return run_cli(list(args), cwd=tmp_path, env=cli_env(RLFORGE_LOAD_PLUGINS="imitation", **env))


def test_list_and_info(tmp_path, minari_root):
    data = make_dataset(np.random.default_rng(0), lengths=(4, 6, 3), n_actions=2)
    save_minari(data, minari_root / "tests" / "ours-v0", spaces.Box(-np.inf, np.inf, (3,)), spaces.Discrete(2),
                env_id="CartPole-v1", metadata={"algorithm_name": "random", "command": "rlforge made-up"})
    collect_with_minari("tests/theirs-v2", "CartPole-v1", episodes=2)
    write_minari_folder(minari_root / "tests" / "misnamed-v0", dataset_id="other/name-v0")
    (minari_root / "tests" / ".ours-v1.tmp-123" / "data").mkdir(parents=True)  # a write in progress: not listed
    listed = rlforge(tmp_path, "dataset", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert sorted(rows) == ["tests/misnamed-v0", "tests/ours-v0", "tests/theirs-v2"]
    assert rows["tests/ours-v0"]["episodes"] == 3 and rows["tests/ours-v0"]["steps"] == 13
    assert rows["tests/ours-v0"]["env"] == "CartPole-v1" and rows["tests/ours-v0"]["size_bytes"] > 0
    assert rows["tests/theirs-v2"]["episodes"] == 2 and "error" not in rows["tests/theirs-v2"]
    assert "names it 'other/name-v0'" in rows["tests/misnamed-v0"]["error"]
    table = rlforge(tmp_path, "dataset", "list", COLUMNS="200")
    assert table.returncode == 0 and "tests/theirs-v2" in table.stdout and "CartPole-v1" in table.stdout

    info = rlforge(tmp_path, "dataset", "info", "tests/ours-v0", "--json")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    returns = data.episode_returns()
    assert summary["episodes"] == 3 and summary["transitions"] == 13 and summary["env"] == "CartPole-v1"
    assert summary["return"]["mean"] == pytest.approx(np.mean(returns), rel=1e-5)
    assert summary["return"]["min"] == pytest.approx(min(returns), rel=1e-5)
    assert summary["episode_length"] == {"mean": pytest.approx(13 / 3), "std": pytest.approx(np.std([4, 6, 3])),
                                         "min": 3.0, "max": 6.0}
    assert summary["actions"] == {"shape": [], "dtype": "int64"}
    assert summary["provenance"]["command"] == "rlforge made-up" and summary["provenance"]["algorithm_name"] == "random"
    text = rlforge(tmp_path, "dataset", "info", str(minari_root / "tests" / "theirs-v2"), COLUMNS="200")
    assert text.returncode == 0 and "Discrete(2)" in text.stdout and "episode length" in text.stdout


def sac_like_run(run_dir):
    """A run directory whose checkpoint holds a Pendulum replay buffer (no training needed)."""
    from rlforge import checkpoint
    from rlforge.envs import env_spaces

    rng = np.random.default_rng(1)
    buffer = ReplayBuffer(50, (3,), (1,))
    obs = rng.normal(size=(31, 3)).astype(np.float32)
    truncated = np.zeros(30, np.float32)
    truncated[9::10] = 1
    obs[10::10] += 5  # no observation sequence across an episode end
    buffer.add_rows(obs[:-1], rng.uniform(-2, 2, (30, 1)), rng.normal(size=30), obs[1:], np.zeros(30), truncated)
    observation_space, action_space = env_spaces("Pendulum-v1")
    checkpoint.save(run_dir / "checkpoints", "step_000000000030", {"agent": {"buffer": buffer.state_dict()}},
                    {"algo": "mpc", "env": "Pendulum-v1", "observation_space": repr(observation_space),
                     "action_space": repr(action_space), "counters": {"step": 30}, "config": {"seed": 4, "num_envs": 1}})
    (run_dir / "meta.json").write_text(json.dumps({"command": "rlforge train --algo mpc --env Pendulum-v1"}))
    return buffer


def test_create_from_a_run_then_train_bc_on_it(tmp_path, minari_root):
    buffer = sac_like_run(tmp_path / "run")
    made = rlforge(tmp_path, "dataset", "create", "--from-run", "run", "--id", "pendulum/mpc-v0")
    assert made.returncode == 0, made.stderr
    assert "wrote 3 episodes (30 transitions) of Pendulum-v1" in made.stderr
    data = load_dataset("pendulum/mpc-v0")
    rows = buffer.rows_in_order()
    for key in ("obs", "actions", "rewards", "next_obs"):
        np.testing.assert_array_equal(getattr(data, key), rows[key], err_msg=key)
    assert data.metadata["algo"] == "mpc" and data.metadata["training_command"].startswith("rlforge train --algo mpc")
    assert data.metadata["created_from"] == "run" and data.metadata["minari"]["algorithm_name"] == "mpc"
    again = rlforge(tmp_path, "dataset", "create", "--from-run", "run", "--id", "pendulum/mpc-v0")
    assert again.returncode == 2 and "already exists; refusing to overwrite it" in again.stderr
    trained = rlforge(tmp_path, "train", "--algo", "bc", "--env", "Pendulum-v1", "--run-dir", "bc",
                      "--set", "dataset=pendulum/mpc-v0", *SMALL_BC)
    assert trained.returncode == 0, trained.stderr
    assert json.loads((tmp_path / "bc" / "meta.json").read_text())["status"] == "finished"


def test_bc_trains_on_a_dataset_minaris_collector_wrote(tmp_path, minari_root):
    collect_with_minari("pendulum/random-v0", "Pendulum-v1", episodes=3, max_episode_steps=20)
    folder = minari_root / "pendulum" / "random-v0"
    trained = rlforge(tmp_path, "train", "--algo", "bc", "--env", "Pendulum-v1", "--run-dir", "bc",
                      "--set", f"dataset={folder}", *SMALL_BC)
    assert trained.returncode == 0, trained.stderr
    assert "losses/mse" in (tmp_path / "bc" / "metrics.csv").read_text()
    npz = rlforge(tmp_path, "dataset", "create", "--from", str(folder), "--out", "copy")
    assert npz.returncode == 0, npz.stderr
    np.testing.assert_array_equal(load_dataset(str(tmp_path / "copy")).actions, load_dataset(str(folder)).actions)


def bad_dataset(tmp_path, case: str) -> str:
    """A dataset of the kind `case` names, as the value of dataset=."""
    rng = np.random.default_rng(2)
    data = make_dataset(rng, lengths=(5, 5), act_dim=1)
    if case == "missing":
        return str(tmp_path / "nowhere")
    if case == "empty":
        return str(write_minari_folder(tmp_path / "empty-v0", episodes=[]))
    if case == "spaces":  # CartPole's data for Pendulum
        return str(save_minari(make_dataset(rng, obs_dim=4, n_actions=2), tmp_path / "cartpole",
                               spaces.Box(-np.inf, np.inf, (4,)), spaces.Discrete(2)))
    if case in ("nan", "inf"):
        data.next_obs[3, 0] = np.nan if case == "nan" else -np.inf
        return str(save_dataset(data, tmp_path / f"{case}.npz"))
    if case == "corrupt":
        folder = write_minari_folder(tmp_path / "corrupt-v0")
        main = folder / "data" / "main_data.hdf5"
        main.write_bytes(main.read_bytes()[:800])
        return str(folder)
    if case == "object":
        arrays = {k: getattr(data, k) for k in FIELDS}
        np.savez(tmp_path / "object.npz", **{**arrays, "rewards": data.rewards.astype(object)}, metadata=np.array("{}"))
        return str(tmp_path / "object.npz")
    if case == "huge":
        n = 2**45
        make = {key: (lambda shape, dtype, key=key: lambda g: g.create_dataset(key, shape=shape, dtype=dtype,
                                                                              chunks=(64, *shape[1:])))
                for key in ("observations", "actions", "rewards", "terminations", "truncations")}
        folder = write_minari_folder(tmp_path / "huge-v0", [{
            "observations": make["observations"]((n + 1, 3), "f4"), "actions": make["actions"]((n, 1), "f4"),
            "rewards": make["rewards"]((n,), "f8"), "terminations": make["terminations"]((n,), "bool"),
            "truncations": make["truncations"]((n,), "bool")}], total_steps=n)
        return str(folder)
    raise ValueError(case)


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("empty", "holds no transitions"),
    ("spaces", r"holds observations \(4,\) and actions \(\); the env has \(3,\) and \(1,\)"),
    ("nan", "next_obs holds NaN .first at transition 3"),
    ("inf", "next_obs holds inf .first at transition 3"),
    ("corrupt", "cannot read main_data.hdf5"),
    ("object", r"holds an object \(pickled\) array; refusing to load it"),
    ("huge", "claims 35,184,372,088,832 steps"),
])
def test_bad_datasets_stop_training_in_one_line(tmp_path, case, message):
    import re

    dataset = bad_dataset(tmp_path, case)
    result = rlforge(tmp_path, "train", "--algo", "bc", "--env", "Pendulum-v1", "--run-dir", "run",
                     "--set", f"dataset={dataset}", *SMALL_BC)
    last = result.stderr.strip().splitlines()[-1]  # after the resolved config table
    assert result.returncode == 2, result.stderr
    assert last.startswith("rlforge: error:") and re.search(message, last), last
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
