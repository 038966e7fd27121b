"""D4RL-style datasets built by rlforge: `rlforge collect -p random` and `--steps N` (the last
episode cut and marked truncated), reference returns from the command line (`--ref-random`
/`--ref-expert`, `--ref d4rl`) stored and used for the normalised score, and `rlforge dataset
create --from A --from B` concatenating datasets with a recipe naming them. Bad input ends in
one line, exit status 2, and nothing written. Pendulum-v1 (200-step episodes), few steps."""

import json

import numpy as np
import pytest
from gymnasium import spaces

from cli_helpers import cli_env, run_cli
from dataset_helpers import make_dataset
from rlforge.datasets import load_dataset, reference_returns, save_dataset, space_to_json
from rlforge.datasets.recording import RandomPolicy, record
from rlforge.datasets.reference import D4RL_REFERENCES, references_from_options
from rlforge.errors import RLForgeError

PENDULUM_ACTIONS = spaces.Box(-2.0, 2.0, (1,), np.float32)


def rlforge(tmp_path, *args):
    return run_cli(list(args), cwd=tmp_path, env=cli_env(RLFORGE_LOAD_PLUGINS="imitation",
                                                         MINARI_DATASETS_PATH=str(tmp_path / "minari")))


def refused(result, message: str) -> bool:
    lines = result.stderr.strip().splitlines()
    return result.returncode == 2 and len(lines) == 1 and message in lines[0]


def test_random_collect_of_exactly_n_steps_with_reference_returns(tmp_path):
    result = rlforge(tmp_path, "collect", "-p", "random", "-e", "Pendulum-v1", "--steps", "450", "--seed", "3",
                     "--ref-random", "-1200", "--ref-expert", "-150", "--id", "pendulum/random-v0")
    assert result.returncode == 0, result.stderr
    data = load_dataset(str(tmp_path / "minari" / "pendulum" / "random-v0"))
    assert len(data) == 450 and not data.terminated.any()
    assert np.flatnonzero(data.truncated).tolist() == [199, 399, 449]  # two time limits, then the cut
    expected = RandomPolicy(PENDULUM_ACTIONS, 3)  # the space's sample(), seeded from --seed
    np.testing.assert_array_equal(data.actions, np.concatenate([expected.act(np.zeros((1, 3))) for _ in range(450)]))
    recipe = data.metadata["recipe"]
    assert recipe["policy"] == "random" and recipe["steps"] == 450 and recipe["seed"] == 3
    assert recipe["command"].startswith("rlforge collect -p random")
    metadata = json.loads((tmp_path / "minari" / "pendulum" / "random-v0" / "data" / "metadata.json").read_text())
    assert (metadata["ref_min_score"], metadata["ref_max_score"]) == (-1200.0, -150.0)  # where minari reads them
    refs = reference_returns(data.metadata)
    assert (refs.random, refs.expert) == (-1200.0, -150.0) and refs.normalized_score(-675.0) == pytest.approx(50.0)


def test_steps_cut_the_running_episode_and_mark_it_truncated():
    data = record(RandomPolicy(PENDULUM_ACTIONS, 0), "Pendulum-v1", steps=250, seed=0)
    assert len(data) == 250 and np.flatnonzero(data.truncated).tolist() == [199, 249]
    assert data.metadata["last_episode_cut"] and data.metadata["finished_episodes"] == 1
    np.testing.assert_array_equal(data.obs[201:250], data.next_obs[200:249])  # one episode, step after step
    exact = record(RandomPolicy(PENDULUM_ACTIONS, 0), "Pendulum-v1", steps=200, seed=0)
    assert "last_episode_cut" not in exact.metadata and np.flatnonzero(exact.truncated).tolist() == [199]
    by_episodes = record(RandomPolicy(PENDULUM_ACTIONS, 0), "Pendulum-v1", episodes=1, seed=0)
    np.testing.assert_array_equal(by_episodes.actions, exact.actions)  # the same seed, the same steps


def test_d4rl_reference_returns_are_named_by_env():
    for env_id, task in (("Hopper-v4", "Hopper"), ("HalfCheetah-v5", "HalfCheetah"), ("Walker2d-v4", "Walker2d")):
        refs = references_from_options("d4rl", None, None, env_id)
        assert (refs.random, refs.expert) == D4RL_REFERENCES[task]
    assert references_from_options("d4rl", None, None, "Hopper-v4").expert == 3234.3
    assert references_from_options(None, None, None, "Pendulum-v1") is None
    with pytest.raises(RLForgeError, match="not Pendulum-v1"):
        references_from_options("d4rl", None, None, "Pendulum-v1")
    with pytest.raises(RLForgeError, match="not both"):
        references_from_options("d4rl", 0.0, 1.0, "Hopper-v4")


def test_bad_reference_options_are_refused_before_anything_is_written(tmp_path):
    collect = ["collect", "-p", "random", "-e", "Pendulum-v1", "--steps", "10", "--out", "x.npz"]
    assert refused(rlforge(tmp_path, *collect, "--ref-random", "-1"), "--ref-random needs --ref-expert too")
    assert refused(rlforge(tmp_path, *collect, "--ref", "d4rl"), "D4RL publishes reference returns for Hopper")
    assert refused(rlforge(tmp_path, *collect, "--episodes", "1"), "give --episodes or --steps, not both")
    save_dataset(make_dataset(np.random.default_rng(0), obs_dim=3, act_dim=1), tmp_path / "a.npz")
    create = ["dataset", "create", "--from", "a.npz", "--env", "Pendulum-v1", "--out", "made"]
    assert refused(rlforge(tmp_path, *create, "--ref-expert", "5"), "--ref-expert needs --ref-random too")
    assert refused(rlforge(tmp_path, *create, "--ref", "d4rl"), "not Pendulum-v1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_concatenation_records_its_sources_and_keeps_episodes_apart(tmp_path):
    medium = record(RandomPolicy(PENDULUM_ACTIONS, 1), "Pendulum-v1", steps=250, seed=1)
    expert = record(RandomPolicy(PENDULUM_ACTIONS, 2), "Pendulum-v1", steps=120, seed=2)
    medium.truncated[-1] = False  # an unfinished last episode: the mix must end it where the part ends
    for name, data in (("medium.npz", medium), ("expert.npz", expert)):
        data.metadata.update({"recipe": {"policy": name, "seed": data.metadata["seed"]}, "ref_min_score": -1200.0,
                              "ref_max_score": -150.0})
        save_dataset(data, tmp_path / name)
    result = rlforge(tmp_path, "dataset", "create", "--from", "medium.npz", "--from", "expert.npz", "--out", "mix")
    assert result.returncode == 0, result.stderr
    mix = load_dataset(str(tmp_path / "mix"))
    assert len(mix) == 370 and np.flatnonzero(mix.truncated).tolist() == [199, 249, 369]
    np.testing.assert_array_equal(mix.actions, np.concatenate([medium.actions, expert.actions]))
    sources = mix.metadata["recipe"]["concatenate"]
    assert [s["source"] for s in sources] == ["medium.npz", "expert.npz"]
    assert [s["transitions"] for s in sources] == [250, 120] and sources[1]["recipe"]["seed"] == 2
    assert mix.metadata["recipe"]["command"].startswith("rlforge dataset create --from medium.npz --from expert.npz")
    refs = reference_returns(mix.metadata)  # the sources agree: the mix keeps their references
    assert (refs.random, refs.expert) == (-1200.0, -150.0)
    expert.metadata.update({"ref_min_score": -1000.0})
    save_dataset(expert, tmp_path / "other.npz")
    args = ["dataset", "create", "--from", "medium.npz", "--from", "other.npz", "--out", "mix2"]
    assert refused(rlforge(tmp_path, *args), "the sources' reference returns differ")
    assert not (tmp_path / "mix2").exists()
    result = rlforge(tmp_path, "dataset", "create", "--from", "other.npz", "--out", "one", "--ref-random", "-1000",
                     "--ref-expert", "0")  # one source: new references replace its own
    assert result.returncode == 0, result.stderr
    one = load_dataset(str(tmp_path / "one"))
    assert reference_returns(one.metadata).normalized_score(-250.0) == pytest.approx(75.0)
    assert one.metadata["recipe"]["created_from"] == "other.npz" and one.metadata["recipe"]["recipe"]["seed"] == 2


def test_mismatched_spaces_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    for name, obs_dim in (("three.npz", 3), ("four.npz", 4)):
        data = make_dataset(rng, obs_dim=obs_dim, act_dim=1)
        data.metadata.update({"observation_space": space_to_json(spaces.Box(-1, 1, (obs_dim,), np.float32)),
                              "action_space": space_to_json(PENDULUM_ACTIONS)})
        save_dataset(data, tmp_path / name)
    result = rlforge(tmp_path, "dataset", "create", "--from", "three.npz", "--from", "four.npz", "--out", "mix")
    assert refused(result, "their observation spaces differ"), result.stderr
    assert not (tmp_path / "mix").exists()
