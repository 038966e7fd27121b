"""The CS285 expert-policy loader against a NumPy reference computation of the format."""

import pickle

import numpy as np
import pytest
from gymnasium import spaces

from imitation_helpers import cs285_expert, reference_actions
from rlforge.errors import RLForgeError
from rlforge_imitation.experts import load_cs285, load_expert, load_expert_file, save_expert


@pytest.mark.parametrize("nonlin", ["tanh", "lrelu"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_actions_match_numpy_reference(tmp_path, nonlin, protocol):
    rng = np.random.default_rng(1)
    data = cs285_expert(rng, obs_dim=5, act_dim=2, hidden=(8, 7, 6), nonlin=nonlin)
    path = tmp_path / "expert.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    expert = load_cs285(path)
    obs = rng.normal(size=(32, 5)).astype(np.float32)
    np.testing.assert_allclose(expert.mean_action(obs), reference_actions(data, obs), rtol=1e-4, atol=1e-4)
    assert expert.hidden == [8, 7, 6]


def test_hidden_layers_are_applied_in_sorted_order(tmp_path):
    rng = np.random.default_rng(2)
    data = cs285_expert(rng, obs_dim=4, act_dim=3, hidden=(5, 6, 7, 8, 9, 10), nonlin="tanh")  # layer_0 ... layer_10
    net = data["GaussianPolicy"]["hidden"]["FeedforwardNet"]
    data["GaussianPolicy"]["hidden"]["FeedforwardNet"] = {k: net[k] for k in reversed(list(net))}
    path = tmp_path / "expert.pkl"
    path.write_bytes(pickle.dumps(data))
    obs = rng.normal(size=(10, 4))
    np.testing.assert_allclose(load_cs285(path).mean_action(obs), reference_actions(data, obs), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("env_obs_dim", [3, 8])  # fewer values than the expert expects (padded), more (truncated)
def test_observations_are_padded_or_truncated(tmp_path, env_obs_dim):
    rng = np.random.default_rng(3)
    data = cs285_expert(rng, obs_dim=5, act_dim=2)
    path = tmp_path / "expert.pkl"
    path.write_bytes(pickle.dumps(data))
    expert = load_cs285(path)
    obs = rng.normal(size=(16, env_obs_dim)).astype(np.float32)
    fitted = np.zeros((16, 5))
    fitted[:, :min(5, env_obs_dim)] = obs[:, :5]
    np.testing.assert_allclose(expert.mean_action(obs), reference_actions(data, fitted), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(expert.mean_action(obs), reference_actions(data, obs), rtol=1e-4, atol=1e-4)


def test_actions_are_clipped_to_the_env_bounds_and_deterministic(tmp_path):
    rng = np.random.default_rng(4)
    data = cs285_expert(rng, obs_dim=3, act_dim=2)
    data["GaussianPolicy"]["out"]["AffineLayer"]["b"] += 5.0  # push the means out of bounds
    path = tmp_path / "expert.pkl"
    path.write_bytes(pickle.dumps(data))
    box = spaces.Box(-1.0, 1.0, (2,), np.float32)
    expert = load_expert(str(path), spaces.Box(-np.inf, np.inf, (3,), np.float32), box)
    obs = rng.normal(size=(20, 3)).astype(np.float32)
    actions = expert.act(obs)
    np.testing.assert_allclose(actions, np.clip(reference_actions(data, obs), -1, 1), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(actions, expert.act(obs, deterministic=True))


def test_converted_to_an_rlforge_expert_file_acts_the_same(tmp_path):
    rng = np.random.default_rng(5)
    data = cs285_expert(rng, obs_dim=6, act_dim=2, nonlin="lrelu")
    path = tmp_path / "expert.pkl"
    path.write_bytes(pickle.dumps(data))
    expert = load_cs285(path)
    json_path, weights = save_expert(expert, tmp_path / "converted", {"env": "none"})
    assert json_path.is_file() and weights.is_file()
    again = load_expert_file(tmp_path / "converted.safetensors")
    obs = rng.normal(size=(16, 6)).astype(np.float32)
    np.testing.assert_array_equal(again.mean_action(obs), expert.mean_action(obs))


def test_wrong_layout_and_action_size_are_one_line_errors(tmp_path):
    path = tmp_path / "not_expert.pkl"
    path.write_bytes(pickle.dumps({"nonlin_type": "tanh"}))
    with pytest.raises(RLForgeError, match="not a CS285 expert policy"):
        load_cs285(path)
    path.write_bytes(pickle.dumps(cs285_expert(np.random.default_rng(0), act_dim=2)))
    with pytest.raises(RLForgeError, match="gives 2 actions"):
        load_cs285(path, spaces.Box(-1, 1, (3,), np.float32))
