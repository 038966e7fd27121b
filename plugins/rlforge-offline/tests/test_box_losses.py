"""The Box-action offline agents' math against hand-computed values on tiny tensors: IQL's
expectile loss and advantage weights (with the paper's beta 3 and the clip at 100), CQL's soft
maximum over its three sets of sampled actions, the gap and the Lagrange multiplier's loss,
TD3+BC's normalised Q term, Cal-QL's lower bound, the Gaussian actor's log-likelihood and the
returns-to-go Cal-QL bounds by."""

import math

import numpy as np
import pytest
import torch

from rlforge.datasets import returns_to_go
from rlforge_offline.advantage import advantage_weights, expectile_loss
from rlforge_offline.box_actor import BoxActor, Gaussian
from rlforge_offline.box_losses import (calibrate, cql_gap, cql_penalty, cql_soft_maximum, lagrange_multiplier,
                                        random_log_density, td3bc_actor_loss)


# ----------------------------------------------------------------------------- IQL


def test_iql_expectile_loss_at_the_papers_tau():
    # u = min_i Q'_i(s, a) - V(s) = [1.0, -2.0]: above V weighs tau 0.7, below 0.3
    u = torch.tensor([1.0, -2.0])
    assert expectile_loss(u, 0.7).item() == pytest.approx((0.7 * 1.0 + 0.3 * 4.0) / 2)


def test_iql_awr_weights_with_beta_3_and_the_clip_at_100():
    advantages = torch.tensor([0.0, 0.5, -1.0, 2.0])
    weights = advantage_weights(advantages, temperature=1.0 / 3.0, max_weight=100.0)
    expected = [1.0, math.exp(1.5), math.exp(-3.0), 100.0]  # exp(3 * 2) = 403 is clipped
    assert weights.tolist() == pytest.approx(expected, rel=1e-6)
    assert not weights.requires_grad


# ----------------------------------------------------------------------------- CQL and Cal-QL


def soft_max_by_hand(values):
    return math.log(sum(math.exp(v) for v in values))


def test_cql_soft_maximum_weights_each_set_of_sampled_actions_by_its_density():
    # one critic, one sample per set, one state, two action dimensions: log(0.5^2) = -1.386
    q_random, q_policy, q_next = (torch.tensor([[[v]]]) for v in (1.0, 2.0, 0.5))
    log_pi, log_pi_next = torch.tensor([[0.1]]), torch.tensor([[-0.2]])
    soft = cql_soft_maximum(q_random, q_policy, q_next, log_pi, log_pi_next, act_dim=2)
    expected = soft_max_by_hand([1.0 - 2 * math.log(0.5), 2.0 - 0.1, 0.5 + 0.2])
    assert soft.shape == (1, 1)
    assert soft.item() == pytest.approx(expected, rel=1e-6)


def test_cql_soft_maximum_with_a_temperature_and_several_samples_and_critics():
    torch.manual_seed(0)
    q = torch.randn(2, 9, 4)  # 2 critics, 3 samples per set, 4 states
    log_pi, log_pi_next = torch.randn(3, 4), torch.randn(3, 4)
    soft = cql_soft_maximum(q[:, :3], q[:, 3:6], q[:, 6:], log_pi, log_pi_next, act_dim=3, temperature=2.0)
    for critic in range(2):
        for state in range(4):
            values = ([q[critic, i, state].item() - 3 * math.log(0.5) for i in range(3)]
                      + [q[critic, 3 + i, state].item() - log_pi[i, state].item() for i in range(3)]
                      + [q[critic, 6 + i, state].item() - log_pi_next[i, state].item() for i in range(3)])
            expected = 2.0 * soft_max_by_hand([v / 2.0 for v in values])
            assert soft[critic, state].item() == pytest.approx(expected, rel=1e-5)


def test_cql_soft_maximum_sends_no_gradient_to_the_log_probabilities():
    q = torch.zeros(1, 3, 2, requires_grad=True)
    log_pi = torch.zeros(1, 2, requires_grad=True)
    cql_soft_maximum(q[:, :1], q[:, 1:2], q[:, 2:], log_pi, log_pi, act_dim=1).sum().backward()
    assert log_pi.grad is None and q.grad is not None


def test_cal_ql_bounds_the_policys_values_by_the_return_to_go_but_not_the_random_ones():
    q_random, q_policy, q_next = torch.tensor([[[-5.0]]]), torch.tensor([[[1.0]]]), torch.tensor([[[4.0]]])
    zero = torch.zeros(1, 1)
    bound = torch.tensor([3.0])
    soft = cql_soft_maximum(q_random, q_policy, q_next, zero, zero, act_dim=1, lower_bound=bound)
    # policy 1.0 -> 3.0 (below the bound), next-state policy 4.0 stays, random -5.0 is not bounded
    expected = soft_max_by_hand([-5.0 - math.log(0.5), 3.0, 4.0])
    assert soft.item() == pytest.approx(expected, rel=1e-6)
    assert calibrate(torch.tensor([[1.0, 5.0]]), torch.tensor([2.0, 2.0])).tolist() == [[2.0, 5.0]]


def test_cql_gap_and_penalty():
    soft = torch.tensor([[3.0, 1.0], [2.0, 2.0]])  # 2 critics, 2 states
    q_data = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    gap = cql_gap(soft, q_data)
    assert gap.tolist() == pytest.approx([1.0, 1.5])
    penalty, multiplier_loss = cql_penalty(gap, alpha=5.0)
    assert penalty.tolist() == pytest.approx([5.0, 7.5]) and multiplier_loss is None


def test_lagrange_multiplier_grows_while_the_gap_exceeds_its_target():
    log_multiplier = torch.tensor(math.log(2.0), requires_grad=True)
    multiplier = lagrange_multiplier(log_multiplier)
    gap = torch.tensor([3.0, 1.0], requires_grad=True)
    penalty, loss = cql_penalty(gap, alpha=5.0, multiplier=multiplier, target_action_gap=1.0)
    # penalty: alpha' * alpha * (gap - target) = 2 * 5 * [2, 0]; loss: -mean of it
    assert penalty.tolist() == pytest.approx([20.0, 0.0])
    assert loss.item() == pytest.approx(-10.0)
    loss.backward()
    assert log_multiplier.grad.item() < 0  # a descent step raises log alpha'
    assert gap.grad is None  # the multiplier's loss does not move the critics
    assert lagrange_multiplier(torch.tensor(100.0)).item() == 1e6


def test_random_log_density():
    assert random_log_density(3) == pytest.approx(3 * math.log(0.5))


# ----------------------------------------------------------------------------- TD3+BC


def test_td3bc_actor_loss_normalises_the_q_term():
    q_pi = torch.tensor([2.0, -4.0], requires_grad=True)
    pi = torch.tensor([[0.5, 0.0], [0.0, 0.0]], requires_grad=True)
    data = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    loss, lmbda, bc = td3bc_actor_loss(q_pi, pi, data, alpha=2.5)
    # lambda = 2.5 / mean(|2|, |-4|) = 2.5 / 3; Q term -lambda * mean Q = -(2.5 / 3) * (-1);
    # BC term mean over all four entries of the squared difference = (0.25 + 1) / 4
    assert lmbda.item() == pytest.approx(2.5 / 3)
    assert bc.item() == pytest.approx(1.25 / 4)
    assert loss.item() == pytest.approx(2.5 / 3 + 1.25 / 4)
    loss.backward()
    assert q_pi.grad.tolist() == pytest.approx([-2.5 / 3 / 2] * 2)  # lambda is held constant


# ----------------------------------------------------------------------------- actors


def test_gaussian_log_prob_matches_torch_normal_and_ignores_tanh_squashing():
    mean, log_std = torch.tensor([[0.2, -0.5]]), torch.tensor([-1.0, 0.3])
    actions = torch.tensor([[0.9, -1.0]])
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(actions).sum(-1)
    assert Gaussian(mean, log_std).log_prob(actions).item() == pytest.approx(expected.item(), rel=1e-6)


def test_box_actor_kinds_share_the_deterministic_action_tanh_of_the_mean():
    torch.manual_seed(0)
    obs = torch.randn(5, 3)
    for kind in ("deterministic", "gaussian", "tanh_gaussian"):
        actor = BoxActor(kind, 3, 2, [8])
        out = actor.net(obs)
        assert torch.equal(actor.mode(obs), torch.tanh(out[:, :2]))
        if kind != "deterministic":
            dist = actor.distribution(obs)
            sample = dist.sample((4,))
            assert sample.shape == (4, 5, 2) and sample.abs().max() <= 1.0


# ----------------------------------------------------------------------------- returns-to-go


def test_returns_to_go_by_hand():
    # episode 1: rewards 1, 2, 3, terminated at the end; episode 2: 4, 5, cut by a time limit;
    # episode 3: 6, unfinished at the end of the data
    rewards = np.array([1, 2, 3, 4, 5, 6], np.float32)
    terminated = np.array([0, 0, 1, 0, 0, 0], bool)
    truncated = np.array([0, 0, 0, 0, 1, 0], bool)
    g = 0.5
    expected = [1 + g * (2 + g * 3), 2 + g * 3, 3, 4 + g * 5, 5, 6]
    assert returns_to_go(rewards, terminated, truncated, g).tolist() == pytest.approx(expected)
