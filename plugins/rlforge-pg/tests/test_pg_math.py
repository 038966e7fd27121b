"""The losses and distributions of rlforge-pg against hand-computed numbers."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal

from rlforge.agent import Progress
from rlforge_pg.common import (RunningMeanStd, annealed, categorical_log_prob, clipped_gaussian_log_prob,
                               clipped_surrogate_loss, explained_variance, gaussian_entropy, gaussian_log_prob,
                               normalized, value_loss)


def test_ppo_clipped_objective_by_hand():
    # ratios exp(log_prob - old) = [2, 0.5, 1.1, 0.5] with clip 0.2 and advantages [1, 1, -1, -2]:
    #   row 0: A > 0, r = 2 above 1.2:   max(-2, -1.2) = -1.2  (clipped)
    #   row 1: A > 0, r = 0.5 below 0.8: max(-0.5, -0.8) = -0.5 (unclipped: the pessimistic one)
    #   row 2: A < 0, r = 1.1 inside:    max(1.1, 1.1) = 1.1
    #   row 3: A < 0, r = 0.5 below 0.8: max(1.0, 1.6) = 1.6   (clipped)
    # loss = (-1.2 - 0.5 + 1.1 + 1.6) / 4 = 0.25; |r - 1| > 0.2 in rows 0, 1, 3: clip fraction 0.75
    old = torch.zeros(4)
    log_prob = torch.log(torch.tensor([2.0, 0.5, 1.1, 0.5]))
    advantages = torch.tensor([1.0, 1.0, -1.0, -2.0])
    loss, clip_fraction = clipped_surrogate_loss(log_prob, old, advantages, 0.2)
    assert loss.item() == pytest.approx(0.25, abs=1e-6)
    assert clip_fraction.item() == pytest.approx(0.75)


def test_ppo_objective_gradient_vanishes_where_clipped():
    log_prob = torch.log(torch.tensor([2.0, 1.0])).requires_grad_()
    loss, _ = clipped_surrogate_loss(log_prob, torch.zeros(2), torch.tensor([1.0, 1.0]), 0.2)
    loss.backward()
    # row 0 is clipped (no gradient); row 1: d(-r/2)/dlog r = -r/2 = -0.5
    torch.testing.assert_close(log_prob.grad, torch.tensor([0.0, -0.5]))


def test_value_loss_with_and_without_clipping():
    values, returns, old = torch.tensor([3.0, 0.0]), torch.tensor([1.0, 1.0]), torch.tensor([1.5, 0.5])
    # unclipped: 0.5 * mean(4, 1) = 1.25
    assert value_loss(values, returns).item() == pytest.approx(1.25)
    # clip 0.2: old moved at most 0.2: [1.7, 0.3]; errors^2 [0.49, 0.49]; max with [4, 1] -> [4, 1]
    assert value_loss(values, returns, old, 0.2).item() == pytest.approx(1.25)
    # values close to the returns but far from old: the clipped error dominates
    values = torch.tensor([1.0, 1.0])
    # moved: [1.3, 0.7]; errors^2 [0.09, 0.09]; unclipped 0 -> 0.5 * 0.09 = 0.045
    assert value_loss(values, returns, old, 0.2).item() == pytest.approx(0.045)


def test_categorical_log_prob_and_entropy_match_torch():
    logits = torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    actions = torch.tensor([2, 0])
    log_prob, entropy = categorical_log_prob(logits, actions)
    reference = Categorical(logits=logits)
    assert log_prob.shape == (2,) and entropy.shape == (2,)
    torch.testing.assert_close(log_prob, reference.log_prob(actions))
    torch.testing.assert_close(entropy, reference.entropy())
    assert log_prob[1].item() == pytest.approx(-math.log(3.0))


def test_gaussian_log_prob_and_entropy_match_torch():
    mean = torch.tensor([[0.0, 1.0], [0.5, -1.0], [0.0, 0.0]])
    log_std = torch.tensor([0.0, -1.0])
    actions = torch.tensor([[0.3, 0.9], [0.0, 0.0], [1.0, -1.0]])
    reference = Normal(mean, log_std.exp())
    log_prob = gaussian_log_prob(mean, log_std, actions)
    assert log_prob.shape == (3,)
    torch.testing.assert_close(log_prob, reference.log_prob(actions).sum(-1))
    torch.testing.assert_close(gaussian_entropy(log_std), reference.entropy()[0].sum())


def test_clipped_gaussian_uses_the_tail_mass_on_a_bound():
    mean, log_std = torch.tensor([[0.0, 0.0]]), torch.tensor([0.0, 0.0])
    low, high = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    # inside the bounds: the Gaussian density
    inside = torch.tensor([[0.5, -0.2]])
    torch.testing.assert_close(clipped_gaussian_log_prob(mean, log_std, inside, low, high),
                               gaussian_log_prob(mean, log_std, inside))
    # on the upper bound of dim 0 and the lower bound of dim 1: log P(x >= 1) + log P(x <= -1)
    # for a standard normal: 2 * log(0.158655...) = 2 * log(1 - Phi(1))
    on_bounds = torch.tensor([[1.0, -1.0]])
    tail = math.log(0.5 * math.erfc(1.0 / math.sqrt(2.0)))
    assert clipped_gaussian_log_prob(mean, log_std, on_bounds, low, high).item() == pytest.approx(2 * tail, rel=1e-5)


def test_clipped_gaussian_gradients_are_finite_with_infinite_bounds():
    mean = torch.zeros(3, 1, requires_grad=True)
    log_std = torch.zeros(1, requires_grad=True)
    low, high = torch.tensor([-1e6]), torch.tensor([1e6])  # how PGPolicy stands in for infinite bounds
    log_prob = clipped_gaussian_log_prob(mean, log_std, torch.tensor([[0.0], [2.0], [-3.0]]), low, high)
    log_prob.sum().backward()
    assert torch.isfinite(mean.grad).all() and torch.isfinite(log_std.grad).all()
    torch.testing.assert_close(mean.grad.reshape(-1), torch.tensor([0.0, 2.0, -3.0]))


def test_running_mean_std_matches_numpy_over_batches():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(300, 2))
    rms = RunningMeanStd((2,), epsilon=1e-12)
    for chunk in np.array_split(data, 7):
        rms.update(chunk)
    np.testing.assert_allclose(rms.mean.numpy(), data.mean(0), rtol=1e-9)
    np.testing.assert_allclose(rms.var.numpy(), data.var(0), rtol=1e-9)
    assert set(rms.state_dict()) == {"mean", "var", "count"}
    normalized_data = rms.normalize(torch.as_tensor(data, dtype=torch.float32), clip=10.0)
    assert abs(normalized_data.mean().item()) < 1e-4 and normalized_data.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-4)
    assert rms.normalize(torch.tensor([[1e6, -1e6]]), clip=5.0).tolist() == [[5.0, -5.0]]


def test_normalized_population_and_sample_std():
    x = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(normalized(x), torch.tensor([-1.2247449, 0.0, 1.2247449]))
    torch.testing.assert_close(normalized(x, unbiased=True), torch.tensor([-1.0, 0.0, 1.0]))


def test_learning_rate_annealing_is_linear_from_the_iteration_start():
    # 4 iterations of 100 steps: fractions left at their starts 1, .75, .5, .25
    assert [annealed(1.0, Progress(step, 400, step // 100), 100) for step in (100, 200, 300, 400)] == [1.0, 0.75, 0.5, 0.25]


def test_explained_variance():
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), target) == pytest.approx(0.0)
    assert math.isnan(explained_variance(target, torch.ones(4)))
