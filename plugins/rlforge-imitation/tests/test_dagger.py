"""DAgger relabels the observations the learner visited with the expert's actions; beta mixes
the expert into collection; the agent's state round-trips through an rlforge checkpoint."""

import pickle

import numpy as np
import pytest
import torch
from gymnasium import spaces

from imitation_helpers import cs285_expert
from rlforge import checkpoint
from rlforge.agent import Progress, Transitions
from rlforge_imitation.agent import BCAgent, DAggerAgent
from rlforge_imitation.config import BCConfig, DAggerConfig
from rlforge_imitation.datasets import Dataset, save_dataset
from rlforge_imitation.experts import load_cs285

OBS = spaces.Box(-np.inf, np.inf, (3,), np.float32)
ACT = spaces.Box(-2.0, 2.0, (1,), np.float32)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    expert_path = tmp_path / "expert.pkl"
    expert_path.write_bytes(pickle.dumps(cs285_expert(rng, obs_dim=3, act_dim=1, hidden=(16, 16))))
    expert = load_cs285(expert_path, ACT)
    obs = rng.normal(size=(50, 3)).astype(np.float32)
    ends = np.zeros(50, dtype=bool)
    ends[24::25] = True
    save_dataset(Dataset(obs, expert.act(obs), np.zeros(50, np.float32), obs, np.zeros(50, bool), ends,
                         {"env": "test"}), tmp_path / "data.npz")
    return str(expert_path), str(tmp_path / "data.npz"), expert


def batch(rng, steps=6, envs=2) -> Transitions:
    obs = rng.normal(size=(steps, envs, 3)).astype(np.float32)
    return Transitions(obs, rng.uniform(-2, 2, size=(steps, envs, 1)).astype(np.float32),
                       np.zeros((steps, envs), np.float32), obs, np.zeros((steps, envs), bool), np.zeros((steps, envs), bool))


def make_agent(files, **overrides):
    torch.manual_seed(1)
    expert_path, data_path, _ = files
    config = DAggerConfig(dataset=data_path, expert=expert_path, hidden=[8], train_steps=5, train_batch_size=10,
                          collect_steps=6, **overrides)
    return DAggerAgent(config, OBS, ACT, num_envs=2)


def test_relabelling_stores_the_experts_actions_for_the_visited_observations(files):
    agent, rng, expert = make_agent(files), np.random.default_rng(1), files[2]
    first = batch(rng)
    agent.observe(first)  # iteration 0: the untrained learner's batch is not aggregated
    agent.update(Progress(12, 100, 1))
    assert agent.new_size == 0 and len(agent.training_data()[0]) == 50
    second, third = batch(rng), batch(rng)
    agent.observe(second)
    agent.update(Progress(24, 100, 2))
    agent.observe(third)
    visited = np.concatenate([second.flat().obs, third.flat().obs])
    assert agent.new_size == 24
    np.testing.assert_array_equal(agent.new_obs[:24], visited)
    np.testing.assert_allclose(agent.new_actions[:24], expert.act(visited), atol=1e-6)
    # the stored labels are the expert's, not the actions the learner took
    assert not np.allclose(agent.new_actions[:24], np.concatenate([second.flat().actions, third.flat().actions]))
    obs, actions = agent.training_data()
    assert len(obs) == 50 + 24
    np.testing.assert_array_equal(obs[50:], visited)


def test_aggregated_data_keeps_the_newest_within_max_data(files):
    agent, rng = make_agent(files, max_data=60), np.random.default_rng(2)  # room for 10 relabelled steps
    agent.observe(batch(rng))
    last = batch(rng)
    agent.observe(last)
    assert agent.new_size == 10
    assert {tuple(r) for r in agent.new_obs} <= {tuple(r) for r in last.flat().obs}


def test_beta_mixes_expert_actions_into_collection_only(files):
    agent, expert = make_agent(files, beta=1.0, beta_decay=0.5), files[2]
    obs = np.random.default_rng(3).normal(size=(64, 3)).astype(np.float32)
    assert agent.beta() == 0.0  # the first batch: no mixing
    agent.observe(batch(np.random.default_rng(4)))
    assert agent.beta() == 1.0
    np.testing.assert_allclose(agent.policy.act(obs), expert.act(obs), atol=1e-6)
    assert not np.allclose(agent.policy.act(obs, deterministic=True), expert.act(obs))  # evaluation never mixes
    agent.observe(batch(np.random.default_rng(5)))
    assert agent.beta() == 0.5
    mixed = agent.policy.act(obs)
    from_expert = np.isclose(mixed, expert.act(obs), atol=1e-6).all(axis=1)
    assert 10 < from_expert.sum() < 54


def test_collect_noise_perturbs_collection_only_within_bounds(files):
    obs = np.random.default_rng(3).normal(size=(2000, 3)).astype(np.float32)
    quiet, noisy = make_agent(files), make_agent(files, collect_noise=0.1)
    clean = quiet.policy.act(obs)
    np.testing.assert_array_equal(clean, quiet.policy.act(obs, deterministic=True))  # noise 0: the mean action
    collected = noisy.policy.act(obs)
    np.testing.assert_array_equal(noisy.policy.act(obs, deterministic=True), clean)  # evaluation never adds it
    assert collected.min() >= -2.0 and collected.max() <= 2.0
    inside = np.abs(clean) < 0.5  # where clipping cannot bite, the noise has std 0.1 * half range = 0.2
    assert abs(np.std((collected - clean)[inside]) - 0.2) < 0.02
    assert np.mean(collected - clean) == pytest.approx(0.0, abs=0.02)
    wide = make_agent(files, collect_noise=3.0).policy.act(obs)  # far beyond the bounds: clipped onto them
    assert wide.min() == -2.0 and wide.max() == 2.0
    np.testing.assert_array_equal(noisy.policy.act(obs), collected)  # seeded by the observations and iteration


def test_collect_noise_must_not_be_negative(files):
    with pytest.raises(ValueError, match="collect_noise"):
        make_agent(files, collect_noise=-0.1)


def test_state_round_trips_through_a_checkpoint(files, tmp_path):
    agent, rng = make_agent(files, beta=0.5), np.random.default_rng(6)
    for i in range(3):
        agent.observe(batch(rng))
        agent.update(Progress(12 * (i + 1), 100, i + 1))
    path = checkpoint.save(tmp_path / "ckpt", "step", {"agent": agent.state_dict()}, {})
    state, _ = checkpoint.load(path)
    other = make_agent(files, beta=0.5)
    other.load_state_dict(state["agent"])
    obs = rng.normal(size=(8, 3)).astype(np.float32)
    np.testing.assert_array_equal(other.policy.act(obs, deterministic=True), agent.policy.act(obs, deterministic=True))
    b = batch(rng)
    agent.observe(b)
    other.observe(b)
    assert agent.update(Progress(48, 100, 4)) == other.update(Progress(48, 100, 4))
    np.testing.assert_array_equal(other.policy.act(obs), agent.policy.act(obs))


def test_bc_learns_the_dataset(files):
    torch.manual_seed(0)
    _, data_path, expert = files
    agent = BCAgent(BCConfig(dataset=data_path, train_steps=300, train_batch_size=25), OBS, ACT)
    first = agent.update(Progress(0, 1, 1))["losses/mse"]
    last = agent.update(Progress(0, 1, 2))["losses/mse"]
    assert last < 0.2 * first
    obs = np.load(data_path)["obs"]
    assert np.mean((agent.policy.act(obs, deterministic=True) - expert.act(obs)) ** 2) < 0.2 * first


@pytest.fixture
def saturating_files(tmp_path):
    """An expert whose raw actions often lie outside ACT's bounds [-2, 2], and two datasets of its
    actions on the same observations: raw (as the CS285 expert data) and clipped (as `rlforge collect`)."""
    rng = np.random.default_rng(7)
    data = cs285_expert(rng, obs_dim=3, act_dim=1, hidden=(16, 16))
    data["GaussianPolicy"]["out"]["AffineLayer"]["W"] *= 6.0
    expert_path = tmp_path / "expert.pkl"
    expert_path.write_bytes(pickle.dumps(data))
    expert = load_cs285(expert_path, ACT)
    obs = rng.normal(size=(50, 3)).astype(np.float32)
    ends = np.zeros(50, dtype=bool)
    ends[24::25] = True
    paths = {}
    for form, actions in (("raw", expert.mean_action(obs)), ("clipped", expert.act(obs))):
        paths[form] = str(save_dataset(Dataset(obs, actions, np.zeros(50, np.float32), obs, np.zeros(50, bool), ends,
                                               {"env": "test"}), tmp_path / f"{form}.npz"))
    return str(expert_path), paths, expert


@pytest.mark.parametrize("form", ["raw", "clipped"])
def test_labels_take_the_form_of_the_expert_datas_actions(saturating_files, form):
    expert_path, datasets, expert = saturating_files
    obs = np.random.default_rng(8).normal(size=(200, 3)).astype(np.float32)
    raw = expert.mean_action(obs)
    assert (np.abs(raw) > 2.0).mean() > 0.2  # the expert saturates often
    torch.manual_seed(1)
    agent = DAggerAgent(DAggerConfig(dataset=datasets[form], expert=expert_path, hidden=[8]), OBS, ACT)
    np.testing.assert_allclose(agent.expert_labels(obs), raw if form == "raw" else expert.act(obs), atol=1e-5)
    np.testing.assert_allclose(agent.expert_actions(obs), expert.act(obs), atol=1e-6)  # acting is always clipped
    for labels in ("raw", "clipped"):  # an explicit choice overrides the data's form
        torch.manual_seed(1)
        agent = DAggerAgent(DAggerConfig(dataset=datasets[form], expert=expert_path, hidden=[8], labels=labels), OBS, ACT)
        assert agent.raw_labels == (labels == "raw")
