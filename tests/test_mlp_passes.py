"""The hand-written MLP passes give autograd's values, and the lean gradient clipping gives
torch's."""

import numpy as np
import pytest
import torch
from torch import nn

from rlforge.mlp_passes import MLPGradient, NumpyMLP, mlp_forward, plain_mlp
from rlforge.nn import clip_grad_norm, mlp


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_forward_backward_match_autograd(act):
    torch.manual_seed(0)
    net = mlp(5, [32, 16], 3, act)
    x = torch.randn(64, 5)
    grad_output = torch.randn(64, 3)
    (net(x) * grad_output).sum().backward()
    want = [p.grad.clone() for p in net.parameters()]
    for p in net.parameters():
        p.grad = None

    passes = MLPGradient(plain_mlp(net))
    out = passes.forward(x)
    torch.testing.assert_close(out, net(x).detach())
    torch.testing.assert_close(mlp_forward(plain_mlp(net), x), out)
    passes.backward(grad_output)
    for p, expected in zip(net.parameters(), want):
        torch.testing.assert_close(p.grad, expected, rtol=1e-5, atol=1e-6)
    assert not out.requires_grad  # no autograd graph was recorded


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_numpy_forward_matches_torch_and_follows_in_place_updates(act):
    torch.manual_seed(1)
    net = mlp(4, [64, 64], 2, act)
    numpy_net = NumpyMLP(plain_mlp(net))
    obs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    np.testing.assert_allclose(numpy_net(obs), net(torch.from_numpy(obs)).detach().numpy(), rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # an optimiser step and a state load write in place
        net[0].weight.mul_(-2.0)
        net.load_state_dict({k: v + 0.5 for k, v in net.state_dict().items()})
    np.testing.assert_allclose(numpy_net(obs), net(torch.from_numpy(obs)).detach().numpy(), rtol=1e-5, atol=1e-6)
    net[2].weight.data = net[2].weight.data * 3.0  # a new storage: the views are rebuilt
    np.testing.assert_allclose(numpy_net(obs), net(torch.from_numpy(obs)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_only_plain_cpu_mlps_take_the_hand_written_passes():
    assert plain_mlp(mlp(3, [8], 2, "relu")) is not None
    assert plain_mlp(mlp(3, [], 2)) is not None  # a single linear layer
    assert plain_mlp(mlp(3, [8], 2, "elu")) is None  # no hand-written derivative
    assert plain_mlp(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2), nn.ReLU())) is None
    assert plain_mlp(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))) is None
    assert plain_mlp(nn.Sequential(nn.Linear(3, 8, bias=False))) is None
    assert plain_mlp(mlp(3, [8], 2).double()) is None
    assert plain_mlp(nn.Linear(3, 2)) is None


@pytest.mark.parametrize("max_norm", [0.05, 100.0])
def test_lean_clipping_matches_torch(max_norm):
    torch.manual_seed(2)
    net, twin = mlp(4, [16], 2), mlp(4, [16], 2)
    net(torch.randn(8, 4)).pow(2).sum().backward()
    net[2].bias.grad = None  # parameters without a gradient are skipped, as torch does
    for p, q in zip(net.parameters(), twin.parameters()):
        q.grad = None if p.grad is None else p.grad.clone()
    want = torch.nn.utils.clip_grad_norm_(list(net.parameters()), max_norm, foreach=True)
    got = clip_grad_norm(list(twin.parameters()), max_norm)
    torch.testing.assert_close(got, want)
    for p, q in zip(net.parameters(), twin.parameters()):
        assert (q.grad is None) == (p.grad is None)
        if p.grad is not None:
            torch.testing.assert_close(q.grad, p.grad)
