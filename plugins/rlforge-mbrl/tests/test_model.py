"""The dynamics ensemble and its trainer."""

import numpy as np
import torch

from rlforge_mbrl.model import DynamicsEnsemble, ModelTrainer, is_validation_row


def linear_system(n, rng):
    """s' = s + A s + B a, r = c.s + d.a: a known linear system with 3-D states, 2-D actions."""
    A = np.array([[0.1, -0.2, 0.0], [0.05, 0.0, 0.3], [0.0, 0.1, -0.1]])
    B = np.array([[1.0, 0.0], [0.0, 2.0], [0.5, -0.5]])
    c, d = np.array([1.0, -1.0, 0.5]), np.array([0.2, 0.0])
    obs = rng.normal(size=(n, 3)) * np.array([1.0, 5.0, 0.2]) + np.array([0.0, 3.0, -1.0])  # uneven scales
    actions = rng.uniform(-1, 1, size=(n, 2))
    next_obs = obs + obs @ A.T + actions @ B.T
    rewards = obs @ c + actions @ d
    return obs, actions, rewards, next_obs


def test_ensemble_fits_a_linear_system_to_low_error():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    obs, actions, rewards, next_obs = linear_system(3000, rng)
    model = DynamicsEnsemble(3, 3, 2, [32, 32])
    trainer = ModelTrainer(model, lr=3e-3, batch_size=256, validation_fraction=0.1)
    metrics = trainer.fit(obs, actions, rewards, next_obs, np.zeros(3000), steps=500)

    test_obs, test_actions, test_rewards, test_next = linear_system(500, rng)
    with torch.no_grad():
        pred_next, pred_reward, done = model.predict(torch.tensor(test_obs, dtype=torch.float32),
                                                     torch.tensor(test_actions, dtype=torch.float32))
    delta = test_next - test_obs
    # error relative to the variance of what is predicted, per member: each member learnt the system
    next_error = ((pred_next.numpy() - test_next) ** 2).mean((1, 2)) / delta.var(0).mean()
    reward_error = ((pred_reward.numpy() - test_rewards) ** 2).mean(1) / test_rewards.var()
    assert pred_next.shape == (3, 500, 3) and pred_reward.shape == (3, 500) and not done.any()
    assert next_error.max() < 0.01, next_error
    assert reward_error.max() < 0.01, reward_error
    # the held-out loss is logged and low; the curve went down
    assert metrics["losses/model_validation"] < 0.01
    assert trainer.last_curve[-1] < 0.05 * trainer.last_curve[0]
    assert metrics["charts/model_data"] == (~is_validation_row(np.arange(3000), 0.1)).sum()


def test_members_train_on_their_own_bootstraps():
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    obs, actions, rewards, next_obs = linear_system(200, rng)
    model = DynamicsEnsemble(3, 3, 2, [32])
    with torch.no_grad():  # identical initial members: any difference afterwards comes from their data
        for p in model.net.parameters():
            p.copy_(p[:1].expand_as(p))
    ModelTrainer(model, 1e-3, 64, 0.0).fit(obs, actions, rewards, next_obs, np.zeros(200), steps=20)
    weights = model.net[0].weight
    assert not torch.allclose(weights[0], weights[1]) and not torch.allclose(weights[1], weights[2])


def test_normalisers_are_saved_with_the_model():
    model = DynamicsEnsemble(2, 3, 2, [8])
    model.set_normalisers(torch.randn(50, 5) * 3 + 1, torch.randn(50, 4) * 2)
    other = DynamicsEnsemble(2, 3, 2, [8])
    other.load_state_dict(model.state_dict())
    assert torch.equal(other.in_std, model.in_std) and torch.equal(other.out_mean, model.out_mean)


def test_learnt_termination():
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    obs, actions, rewards, next_obs = linear_system(2000, rng)
    done = (next_obs[:, 0] > 1.0).astype(np.float32)  # a learnable termination rule
    model = DynamicsEnsemble(2, 3, 2, [64, 64], learn_termination=True)
    ModelTrainer(model, 3e-3, 256, 0.0).fit(obs, actions, rewards, next_obs, done, steps=800)
    with torch.no_grad():
        _, _, predicted = model.predict(torch.tensor(obs, dtype=torch.float32), torch.tensor(actions, dtype=torch.float32))
    accuracy = (predicted.numpy() == done.astype(bool)).mean()
    assert accuracy > 0.95


def test_validation_rows_are_a_fixed_share():
    held = is_validation_row(np.arange(100_000), 0.1)
    assert 0.09 < held.mean() < 0.11
    assert np.array_equal(held[:1000], is_validation_row(np.arange(1000), 0.1))
    assert not is_validation_row(np.arange(100), 0.0).any()
