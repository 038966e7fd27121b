"""Datasets for the Box-action agents: reference returns stored with the data (rlforge .npz and
Minari, read back by rlforge and by minari), the normalised score computed from them, and what
BoxOfflineData makes of a dataset: actions in [-1, 1], standardised observations, rewards
scaled by the return range, Monte-Carlo returns-to-go beside each row (Cal-QL), online episodes
held until they end."""

import json

import numpy as np
import pytest
import torch
from gymnasium import spaces

from offline_box_helpers import PENDULUM_EXPERT, PENDULUM_RANDOM, pendulum_dataset
from rlforge.agent import Progress, Transitions
from rlforge.datasets import (Dataset, load_dataset, normalized_score, reference_returns, returns_to_go, save_dataset,
                              save_minari, with_reference_returns)
from rlforge.datasets.summary import describe
from rlforge.errors import RLForgeError
from rlforge.evaluation import EvalResult
from rlforge_offline.box_config import BoxCQLConfig, BoxIQLConfig, TD3BCConfig
from rlforge_offline.box_data import BoxOfflineData

OBS = spaces.Box(-np.inf, np.inf, (3,), np.float32)
ACTIONS = spaces.Box(-2.0, 2.0, (1,), np.float32)


def small_dataset(n_episodes=3, length=4, seed=0) -> Dataset:
    """Made-up episodes: obs [n, 3], actions in [-2, 2], each episode cut by a time limit, the last terminated."""
    rng = np.random.default_rng(seed)
    n = n_episodes * length
    truncated = np.zeros(n, bool)
    truncated[length - 1::length] = True
    terminated = np.zeros(n, bool)
    terminated[-1], truncated[-1] = True, False
    states = rng.normal(size=(n_episodes, length + 1, 3)).astype(np.float32)  # each episode one sequence
    return Dataset(obs=states[:, :-1].reshape(n, 3), actions=rng.uniform(-2, 2, (n, 1)).astype(np.float32),
                   rewards=np.arange(n, dtype=np.float32), next_obs=states[:, 1:].reshape(n, 3),
                   terminated=terminated, truncated=truncated)


# ----------------------------------------------------------------------------- reference returns


def test_the_normalised_score_is_zero_at_random_and_a_hundred_at_expert():
    assert normalized_score(-1197.0, PENDULUM_RANDOM, PENDULUM_EXPERT) == pytest.approx(0.0)
    assert normalized_score(-145.0, PENDULUM_RANDOM, PENDULUM_EXPERT) == pytest.approx(100.0)
    assert normalized_score(-671.0, -1197.0, -145.0) == pytest.approx(50.0)
    assert normalized_score(3000.0, 0.0, 2000.0) == pytest.approx(150.0)  # above the expert


def test_reference_returns_survive_the_npz_format(tmp_path):
    path = save_dataset(with_reference_returns(small_dataset(), -10.0, 90.0), tmp_path / "d.npz")
    refs = reference_returns(load_dataset(str(path)).metadata)
    assert (refs.random, refs.expert) == (-10.0, 90.0)


def test_reference_returns_survive_the_minari_format_and_minari_reads_them(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    folder = save_minari(with_reference_returns(small_dataset(), -10.0, 90.0), tmp_path / "minari" / "test" / "refs-v0",
                         OBS, ACTIONS)
    body = json.loads((folder / "data" / "metadata.json").read_text())
    assert (body["ref_min_score"], body["ref_max_score"]) == (-10.0, 90.0)  # Minari's own keys, at the top
    loaded = load_dataset(str(folder))
    refs = reference_returns(loaded.metadata)
    assert (refs.random, refs.expert) == (-10.0, 90.0)
    assert describe(loaded, "refs")["reference_returns"] == {"random": -10.0, "expert": 90.0}
    minari = pytest.importorskip("minari")
    stored = minari.load_dataset("test/refs-v0").storage.metadata
    assert (stored["ref_min_score"], stored["ref_max_score"]) == (-10.0, 90.0)
    # a Minari dataset written again keeps them (rlforge dataset create, a copy)
    again = load_dataset(str(save_minari(loaded, tmp_path / "copy", OBS, ACTIONS)))
    assert reference_returns(again.metadata).expert == 90.0


def test_reference_returns_that_cannot_give_a_score_are_refused():
    assert reference_returns({}) is None
    with pytest.raises(RLForgeError, match="ref_max_score"):
        reference_returns({"ref_min_score": 1.0})
    with pytest.raises(RLForgeError, match="equals"):
        reference_returns({"ref_min_score": 1.0, "ref_max_score": 1.0})
    with pytest.raises(RLForgeError, match="not numbers"):
        reference_returns({"ref_min_score": "low", "ref_max_score": 1.0})


def test_agents_data_reports_the_normalised_score_of_an_evaluation(tmp_path):
    path = save_dataset(pendulum_dataset(1), tmp_path / "p.npz")
    data = BoxOfflineData("td3bc", TD3BCConfig(dataset=str(path)), OBS, ACTIONS)
    result = EvalResult(step=10, returns=[-671.0, -671.0], lengths=[200, 200])
    assert data.evaluation_metrics(result.returns) == {"eval/normalized_score": pytest.approx(50.0)}
    no_refs = small_dataset()
    data = BoxOfflineData("td3bc", TD3BCConfig(dataset=str(save_dataset(no_refs, tmp_path / "n.npz"))), OBS, ACTIONS)
    assert data.evaluation_metrics(result.returns) == {}


# ----------------------------------------------------------------------------- what the agents learn from


def test_rows_are_mapped_as_the_networks_see_them(tmp_path):
    raw = small_dataset()
    path = save_dataset(raw, tmp_path / "d.npz")
    data = BoxOfflineData("td3bc", TD3BCConfig(dataset=str(path)), OBS, ACTIONS)  # normalize_obs on by default
    rows = data.buffer.rows_in_order()
    np.testing.assert_allclose(rows["actions"], raw.actions / 2.0, rtol=1e-6)  # [-2, 2] -> [-1, 1]
    mean, std = raw.obs.mean(0), raw.obs.std(0) + 1e-3
    np.testing.assert_allclose(rows["obs"], (raw.obs - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rows["next_obs"], (raw.next_obs - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rows["rewards"], raw.rewards)
    assert len(data.buffer) == len(raw) and data.buffer.capacity == len(raw)  # wholly offline: no room for more


def test_rewards_scaled_by_the_return_range_then_scale_and_bias(tmp_path):
    raw = small_dataset()  # episode returns 0+1+2+3 = 6, 22, 38
    path = save_dataset(raw, tmp_path / "d.npz")
    data = BoxOfflineData("iql", BoxIQLConfig(dataset=str(path), reward_scale=2.0, reward_bias=-1.0), OBS, ACTIONS)
    expected = raw.rewards * (1000.0 / (38.0 - 6.0)) * 2.0 - 1.0
    np.testing.assert_allclose(data.buffer.rows_in_order()["rewards"], expected, rtol=1e-6)
    one_episode = save_dataset(small_dataset(n_episodes=1), tmp_path / "one.npz")
    with pytest.raises(RLForgeError, match="return_range"):
        BoxOfflineData("iql", BoxIQLConfig(dataset=str(one_episode)), OBS, ACTIONS)


def test_actions_outside_the_bounds_are_refused_and_those_just_over_clipped(tmp_path):
    raw = small_dataset()
    raw.actions[0] = 2.01  # half a percent of the half-range over: clipped
    data = BoxOfflineData("td3bc", TD3BCConfig(dataset=str(save_dataset(raw, tmp_path / "a.npz"))), OBS, ACTIONS)
    assert data.buffer.rows_in_order()["actions"][0, 0] == 1.0
    raw.actions[0] = 3.0
    with pytest.raises(RLForgeError, match="outside the env's bounds"):
        BoxOfflineData("td3bc", TD3BCConfig(dataset=str(save_dataset(raw, tmp_path / "b.npz"))), OBS, ACTIONS)
    with pytest.raises(RLForgeError, match="shape"):
        BoxOfflineData("td3bc", TD3BCConfig(dataset=str(save_dataset(raw, tmp_path / "b.npz"))), OBS,
                       spaces.Box(-1.0, 1.0, (2,), np.float32))


def test_returns_to_go_are_stored_beside_each_row_and_sampled_with_it(tmp_path):
    raw = small_dataset()
    path = save_dataset(raw, tmp_path / "d.npz")
    config = BoxCQLConfig(dataset=str(path), calibrated=True, gamma=0.9)
    data = BoxOfflineData("cql", config, OBS, ACTIONS, mc_returns=True)
    expected = returns_to_go(raw.rewards, raw.terminated, raw.truncated, 0.9)
    np.testing.assert_allclose(data.buffer.mc_returns[: len(raw)], expected)
    batch = data.sample(64)
    by_reward = dict(zip(raw.rewards.tolist(), expected.tolist()))  # rewards are distinct: they name the row
    for reward, g in zip(batch["rewards"].tolist(), batch["mc_returns"].tolist()):
        assert g == pytest.approx(by_reward[reward])


def test_online_episodes_enter_the_buffer_with_their_returns_to_go_when_they_end(tmp_path):
    path = save_dataset(small_dataset(), tmp_path / "d.npz")
    config = BoxCQLConfig(dataset=str(path), calibrated=True, gamma=0.5, offline_steps=0, buffer_size=100)
    data = BoxOfflineData("cql", config, OBS, ACTIONS, num_envs=2, mc_returns=True)
    rows = len(data.buffer)

    def step(rewards, terminated, truncated):
        shape = (1, 2)
        return Transitions(obs=np.zeros((*shape, 3), np.float32), actions=np.zeros((*shape, 1), np.float32),
                           rewards=np.array([rewards], np.float32), next_obs=np.zeros((*shape, 3), np.float32),
                           terminated=np.array([terminated]), truncated=np.array([truncated]))

    data.observe(step([1.0, 10.0], [False, False], [False, False]))
    data.observe(step([2.0, 20.0], [True, False], [False, False]))  # env 0's episode ends: 2 rows enter
    assert len(data.buffer) == rows + 2
    np.testing.assert_allclose(data.buffer.mc_returns[rows:rows + 2], [1.0 + 0.5 * 2.0, 2.0])
    state = data.state_dict()
    again = BoxOfflineData("cql", config, OBS, ACTIONS, num_envs=2, mc_returns=True)
    again.load_state_dict(state)  # env 1's open episode is part of the state
    again.observe(step([3.0, 30.0], [False, False], [False, True]))
    assert len(again.buffer) == rows + 5  # and env 1's three steps, cut by a time limit
    np.testing.assert_allclose(again.buffer.mc_returns[rows + 2:rows + 5], [10 + 0.5 * (20 + 0.5 * 30), 20 + 0.5 * 30, 30])
    assert again.schedule.due(Progress(step=3, total_steps=10, iteration=3)) == 6
