"""Batch renormalisation (rlforge.batch_renorm) against forward passes worked out by hand.

The batch (4 rows, 3 features) and its statistics (biased variance):
    feature 0: 1, 3, 5, 7   mean 4, var (9 + 1 + 1 + 9) / 4 = 5
    feature 1: 2, 6, 10, 2  mean 5, var (9 + 1 + 25 + 9) / 4 = 11
    feature 2: 0, 2, 4, 6   mean 3, var 5
The affine parameters are weight (2, 0.5, 1) and bias (1, -1, 0); eps is 1e-3 throughout.
"""

import math

import pytest
import torch

from rlforge.batch_renorm import BatchRenorm, renorm_layers, renorm_mlp, updating_statistics

EPS = 1e-3
X = torch.tensor([[1.0, 2.0, 0.0], [3.0, 6.0, 2.0], [5.0, 10.0, 4.0], [7.0, 2.0, 6.0]])
MEAN, VAR = [4.0, 5.0, 3.0], [5.0, 11.0, 5.0]
WEIGHT, BIAS = [2.0, 0.5, 1.0], [1.0, -1.0, 0.0]


def layer(**kwargs) -> BatchRenorm:
    brn = BatchRenorm(3, eps=EPS, **kwargs)
    with torch.no_grad():
        brn.weight.copy_(torch.tensor(WEIGHT))
        brn.bias.copy_(torch.tensor(BIAS))
    return brn


def by_hand(mean, std, r=(1.0, 1.0, 1.0), d=(0.0, 0.0, 0.0)):
    """(x - mean) / std * r + d, then the affine map, feature by feature."""
    return torch.tensor([[((row[j] - mean[j]) / std[j] * r[j] + d[j]) * WEIGHT[j] + BIAS[j] for j in range(3)]
                         for row in X.tolist()])


def test_training_mode_before_warmup_is_batch_normalisation_and_moves_the_running_statistics():
    brn = layer(warmup_steps=10)
    brn.train()
    out = brn(X)
    torch.testing.assert_close(out, by_hand(MEAN, [math.sqrt(v + EPS) for v in VAR]))
    # running = 0.99 * running + 0.01 * batch, from mean 0 and variance 1
    torch.testing.assert_close(brn.running_mean, torch.tensor([[0.04, 0.05, 0.03]]))
    torch.testing.assert_close(brn.running_var, torch.tensor([[1.04, 1.10, 1.04]]))
    assert int(brn.steps) == 1


def test_evaluation_mode_uses_the_running_statistics_and_updates_nothing():
    brn = layer()
    with torch.no_grad():
        brn.running_mean.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
        brn.running_var.copy_(torch.tensor([[4.0, 0.25, 9.0]]))
    brn.eval()
    out = brn(X)
    torch.testing.assert_close(out, by_hand([1.0, -2.0, 0.5], [math.sqrt(4 + EPS), math.sqrt(0.25 + EPS), math.sqrt(9 + EPS)]))
    torch.testing.assert_close(brn.running_mean, torch.tensor([[1.0, -2.0, 0.5]]))
    assert int(brn.steps) == 0


def test_after_warmup_r_and_d_correct_towards_the_running_statistics_and_are_clipped():
    brn = layer(warmup_steps=0, r_max=3.0, d_max=5.0)
    running_mean, running_var = [4.0, -20.0, 2.0], [0.25, 11.0, 3.0]
    with torch.no_grad():
        brn.running_mean.copy_(torch.tensor([running_mean]))
        brn.running_var.copy_(torch.tensor([running_var]))
    brn.train()
    out = brn(X)
    batch_std = [math.sqrt(v + EPS) for v in VAR]
    running_std = [math.sqrt(v + EPS) for v in running_var]
    # feature 0: r = sqrt(5.001 / 0.251) = 4.46, clipped to 3; d = (4 - 4) / 0.501 = 0
    # feature 1: r = 1; d = (5 + 20) / 3.317 = 7.54, clipped to 5
    # feature 2: r = sqrt(5.001 / 3.001) = 1.291 and d = (3 - 2) / 1.733 = 0.577, inside the clips
    r = [3.0, 1.0, batch_std[2] / running_std[2]]
    d = [0.0, 5.0, 1.0 / running_std[2]]
    assert batch_std[0] / running_std[0] > 3.0 and 25.0 / running_std[1] > 5.0
    torch.testing.assert_close(out, by_hand(MEAN, batch_std, r, d))
    torch.testing.assert_close(brn.running_mean, torch.tensor([[0.99 * m + 0.01 * b for m, b in zip(running_mean, MEAN)]]))


def test_r_and_d_are_constants_for_the_gradient():
    # With r and d constant the gradient is batch normalisation's scaled by r: at the input,
    # d(sum(g * out))/dx = r * (that of plain batch normalisation with the same weight).
    brn = layer(warmup_steps=0)
    with torch.no_grad():
        brn.running_var.copy_(torch.tensor([[20.0, 11.0, 5.0]]))  # r = (sqrt(5/20) -> 0.5, 1, 1)
        brn.running_mean.copy_(torch.tensor([[4.0, 5.0, 3.0]]))  # d = 0
    plain = layer(warmup_steps=10)
    g = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0], [3.0, 0.0, -1.0], [-1.0, 2.0, 2.0]])
    grads = []
    for module in (brn, plain):
        module.train()
        x = X.clone().requires_grad_(True)
        (module(x) * g).sum().backward()
        grads.append(x.grad)
    r = torch.tensor([math.sqrt((5 + EPS) / (20 + EPS)), 1.0, 1.0])
    torch.testing.assert_close(grads[0], grads[1] * r)


def test_ensemble_members_keep_their_own_statistics():
    brn = BatchRenorm(3, members=2, eps=EPS, warmup_steps=10)
    brn.train()
    x = torch.stack([X, 2 * X + 1])
    out = brn(x)
    for member in range(2):
        single = BatchRenorm(3, eps=EPS, warmup_steps=10).train()
        torch.testing.assert_close(out[member], single(x[member]))
        torch.testing.assert_close(brn.running_mean[member], single.running_mean)
        torch.testing.assert_close(brn.running_var[member], single.running_var)
    # a [batch, features] input is shared by every member
    assert brn(X).shape == (2, 4, 3)


def test_running_statistics_and_steps_are_in_the_state_dict_and_load_back():
    net = renorm_mlp(3, [8], 1, members=2, warmup_steps=2)
    with updating_statistics(renorm_layers(net)):
        for _ in range(3):
            net(X)
    state = net.state_dict()
    assert {"0.running_mean", "0.running_var", "0.steps", "3.running_mean", "3.steps"} <= set(state)
    assert int(state["0.steps"]) == 3
    fresh = renorm_mlp(3, [8], 1, members=2, warmup_steps=2)
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh(X), net(X))  # evaluation mode: the running statistics
    with updating_statistics(renorm_layers(fresh)), updating_statistics(renorm_layers(net)):
        torch.testing.assert_close(fresh(X), net(X))  # past warm-up: r and d from the loaded statistics


def test_networks_are_in_evaluation_mode_outside_updating_statistics():
    net = renorm_mlp(3, [8, 8], 2)
    layers = renorm_layers(net)
    assert len(layers) == 3 and not any(layer.training for layer in layers)
    with updating_statistics(layers):
        assert all(layer.training for layer in layers)
    assert not any(layer.training for layer in layers)
    net(X)
    assert all(int(layer.steps) == 0 for layer in layers)


def test_momentum_outside_its_range_is_refused():
    with pytest.raises(ValueError, match="momentum"):
        BatchRenorm(3, momentum=1.0)


@pytest.mark.parametrize("members", [None, 2])
@pytest.mark.parametrize("warmed_up", [False, True])
def test_the_written_out_backward_equals_autograd_of_the_formula(members, warmed_up):
    """The training forward's hand-written backward (rlforge.batch_renorm._TrainingRenorm)
    against autograd through the module docstring's formula, in float64."""
    torch.manual_seed(0)
    shape, params = ((members, 7, 5), (members, 1, 5)) if members else ((7, 5), (1, 5))
    brn = BatchRenorm(5, members, eps=EPS, warmup_steps=0 if warmed_up else 10).double().train()
    with torch.no_grad():
        for tensor in (brn.weight, brn.bias, brn.running_mean):
            tensor.copy_(torch.randn(params))
        brn.running_var.copy_(torch.rand(params) * 3 + 0.05)  # some r and d clip, some do not
    running_mean, running_var = brn.running_mean.clone(), brn.running_var.clone()
    x = (torch.randn(shape, dtype=torch.float64) * 3 + 1).requires_grad_(True)
    g = torch.randn(shape, dtype=torch.float64)

    var, mean = torch.var_mean(x, dim=-2, keepdim=True, correction=0)
    x_hat = (x - mean) * torch.rsqrt(var + EPS)
    if warmed_up:
        with torch.no_grad():
            running_inv_std = torch.rsqrt(running_var + EPS)
            r = (running_inv_std * torch.sqrt(var + EPS)).clamp(1 / 3, 3)
            d = ((mean - running_mean) * running_inv_std).clamp(-5, 5)
        x_hat = x_hat * r + d
    expected = x_hat * brn.weight + brn.bias
    expected_grads = torch.autograd.grad((expected * g).sum(), (x, brn.weight, brn.bias))

    out = brn(x)
    grads = torch.autograd.grad((out * g).sum(), (x, brn.weight, brn.bias))
    torch.testing.assert_close(out, expected)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want)


def test_evaluation_affine_is_the_evaluation_forward():
    from rlforge.batch_renorm import evaluation_affine

    torch.manual_seed(0)
    layer = BatchRenorm(5, eps=1e-3)
    with torch.no_grad():
        layer.running_mean.normal_()
        layer.running_var.uniform_(0.1, 4.0)
        layer.weight.normal_()
        layer.bias.normal_()
    x = torch.randn(8, 5, dtype=torch.float64)
    scale, shift = evaluation_affine(layer.double().eval())
    manual = (x - layer.running_mean) / torch.sqrt(layer.running_var + 1e-3) * layer.weight + layer.bias
    torch.testing.assert_close(x * scale + shift, manual)
    torch.testing.assert_close(layer(x), manual)
    with pytest.raises(ValueError, match="not an ensemble"):
        evaluation_affine(BatchRenorm(5, members=2))
