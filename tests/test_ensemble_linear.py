"""rlforge.nn.EnsembleLinear: n independent linear layers as one module, each member as
nn.Linear would compute it (the output layer of width 1 takes its own, faster path)."""

import pytest
import torch

from rlforge.nn import EnsembleLinear


@pytest.mark.parametrize("out_features", [1, 4])
@pytest.mark.parametrize("shared_input", [False, True])
def test_each_member_is_a_linear_layer_forward_and_backward(out_features, shared_input):
    torch.manual_seed(0)
    layer = EnsembleLinear(3, 6, out_features).double()
    x = torch.randn((5, 6) if shared_input else (3, 5, 6), dtype=torch.float64, requires_grad=True)
    g = torch.randn(3, 5, out_features, dtype=torch.float64)
    out = layer(x)
    assert out.shape == (3, 5, out_features)
    grads = torch.autograd.grad((out * g).sum(), (x, layer.weight, layer.bias))

    members = [(x if shared_input else x[i]) @ layer.weight[i] + layer.bias[i] for i in range(3)]
    expected = torch.stack(members)
    expected_grads = torch.autograd.grad((expected * g).sum(), (x, layer.weight, layer.bias))
    torch.testing.assert_close(out, expected)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want)


def test_the_ensembles_relu_gives_relus_values_and_gradients_eager_and_compiled():
    from rlforge.nn import MaskFreeReLU, ensemble_mlp

    net = ensemble_mlp(2, 5, [16], 1)
    assert isinstance(net[1], MaskFreeReLU)

    def through(layer, x):
        x = x.clone().requires_grad_(True)
        y = layer(x)
        (y * torch.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        return y.detach(), x.grad

    x = torch.randn(2, 64, 16)
    expected = through(torch.nn.ReLU(), x)
    # traced by torch.compile (aot_eager: the graph torch.compile sees, no C++ compiler needed)
    traced = torch.compile(MaskFreeReLU(), backend="aot_eager")
    for layer in (MaskFreeReLU(), traced):
        values, grads = through(layer, x)
        assert torch.equal(values, expected[0]) and torch.equal(grads, expected[1])
    # where the input is exactly 0 the compiled form's gradient is 1/2 (the sign of that path), eager's 0
    zeros = torch.zeros(3)
    assert torch.equal(through(MaskFreeReLU(), zeros)[1], torch.zeros(3))
    assert torch.equal(through(traced, zeros)[1], torch.tensor([0.0, 0.5, 1.0]))


def test_a_copied_lean_adam_steps_its_own_parameters_as_the_original_does():
    import copy

    from rlforge.nn import make_adam

    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    optimizer = make_adam(net.parameters(), 1e-2)
    (net(torch.randn(8, 4)) ** 2).sum().backward()
    optimizer.step()
    net_copy, optimizer_copy = copy.deepcopy((net, optimizer))  # torch's __getstate__ drops extra attributes
    x = torch.randn(8, 4)
    for model, opt in ((net, optimizer), (net_copy, optimizer_copy)):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
    for a, b in zip(net.parameters(), net_copy.parameters()):
        assert torch.equal(a, b) and a is not b
    assert optimizer_copy.state[net_copy.weight]["step"] is not optimizer.state[net.weight]["step"]
