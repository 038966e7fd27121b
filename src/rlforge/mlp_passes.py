"""Hand-written passes over small `mlp()` stacks, for hot paths where torch's per-operation
overhead (module calls, autograd's graph) costs more than the math itself.

- `NumpyMLP`: the forward pass in NumPy on live views of the parameters, for acting on a
  few observations (a 4-64-64-2 net: ~10 us instead of ~60 us through nn.Module calls).
- `MLPGradient`: the forward pass keeping each layer's input, then the backward pass of a
  given output gradient, writing each parameter's `.grad` (a DQN gradient step in about
  half of autograd's operations; same values to float32 rounding, tested against autograd).
- `mlp_forward`: the bare forward pass without module calls (targets, no gradient).

They cover what `rlforge.nn.mlp` builds: Linear layers with ReLU or Tanh between them.
`plain_mlp` returns None for anything else, and callers keep the nn.Module/autograd path.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlforge.nn import Tanh, tanh_

_ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh", Tanh: "tanh"}


class PlainMLP:
    """The Linear layers of an `mlp()` stack and the activation between them."""

    def __init__(self, linears: list[nn.Linear], activation: str):
        self.linears, self.activation = linears, activation


def plain_mlp(module: nn.Module) -> PlainMLP | None:
    """The stack as a PlainMLP when it is Linear (act Linear)* with one activation of relu or
    tanh, float32 parameters on the CPU; else None."""
    if not isinstance(module, nn.Sequential) or len(module) % 2 == 0:
        return None
    linears, activations = list(module)[0::2], list(module)[1::2]
    if any(type(layer) is not nn.Linear or layer.bias is None for layer in linears):
        return None
    kinds = {_ACTIVATIONS.get(type(act)) for act in activations}
    if None in kinds or len(kinds) > 1:
        return None
    if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in module.parameters()):
        return None
    return PlainMLP(linears, kinds.pop() if kinds else "relu")


def mlp_forward(net: PlainMLP, x: torch.Tensor, layer_inputs: list[torch.Tensor] | None = None) -> torch.Tensor:
    """The stack's output for x [batch, in], without module calls or autograd's graph; each
    layer's input is appended to `layer_inputs` where one is given (for a backward pass)."""
    with torch.no_grad():
        last = len(net.linears) - 1
        for i, layer in enumerate(net.linears):
            if layer_inputs is not None:
                layer_inputs.append(x)
            x = F.linear(x, layer.weight, layer.bias)
            if i < last:
                x = torch.relu_(x) if net.activation == "relu" else tanh_(x)
    return x


class NumpyMLP:
    """The forward pass in NumPy over views that share the parameters' memory, so in-place
    optimiser steps and state loads are seen without copying. The views are rebuilt when a
    parameter's storage changes (a `.data` swap)."""

    def __init__(self, net: PlainMLP):
        self.net = net
        self._storage: tuple[int, ...] = ()
        self._arrays: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        arrays = self._views()
        h = np.asarray(x, dtype=np.float32)
        last = len(arrays) - 1
        for i, (weight_t, bias) in enumerate(arrays):
            h = h @ weight_t
            h += bias
            if i < last:
                if self.net.activation == "relu":
                    np.maximum(h, 0.0, out=h)
                else:
                    np.tanh(h, out=h)
        return h

    def _views(self) -> list[tuple[np.ndarray, np.ndarray]]:
        storage = tuple(t.data_ptr() for layer in self.net.linears for t in (layer.weight, layer.bias))
        if storage != self._storage:
            self._arrays = [(layer.weight.detach().numpy().T, layer.bias.detach().numpy()) for layer in self.net.linears]
            self._storage = storage
        return self._arrays


class MLPGradient:
    """`forward(x)` keeps each layer's input; `backward(grad_output)` sets every parameter's
    `.grad` to d(sum(grad_output * output))/d(parameter), as autograd would."""

    def __init__(self, net: PlainMLP):
        self.net = net
        self._inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._inputs = []
        return mlp_forward(self.net, x, self._inputs)

    def backward(self, grad_output: torch.Tensor) -> None:
        grad = grad_output
        with torch.no_grad():
            for i in range(len(self.net.linears) - 1, -1, -1):
                layer, layer_input = self.net.linears[i], self._inputs[i]
                layer.weight.grad = torch.mm(grad.t(), layer_input)
                layer.bias.grad = grad.sum(0)
                if i:  # the gradient at the previous layer's activation output, then before it
                    grad = torch.mm(grad, layer.weight)
                    grad = (torch.ops.aten.threshold_backward(grad, layer_input, 0) if self.net.activation == "relu"
                            else torch.ops.aten.tanh_backward(grad, layer_input))
        self._inputs = []
