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
