"""The pieces exported policies are made of: small modules with no Python-side state, so that
torch.jit.trace and torch.onnx.export record them whole, with the batch size left free.

A policy's `export_module()` strings them around a frozen copy of its network, e.g. SAC's
    nn.Sequential(nn.Flatten(), frozen(net), FirstHalf(), nn.Tanh(), ToBounds(scale, bias),
                  Clip(low, high))
Constants are float32 buffers, so they travel in both file formats.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def frozen(module: nn.Module) -> nn.Module:
    """An independent CPU copy of `module` for export: evaluation mode (batch norm layers use
    their running statistics), no gradients, and rlforge.nn.Tanh swapped for nn.Tanh (its
    forward may run in NumPy, which tracing cannot see)."""
    from rlforge.nn import Tanh

    copied = copy.deepcopy(module).to("cpu").eval().requires_grad_(False)
    if isinstance(copied, Tanh):
        return nn.Tanh()
    for parent in list(copied.modules()):
        for name, child in parent.named_children():
            if isinstance(child, Tanh):
                setattr(parent, name, nn.Tanh())
    return copied


def _constant(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float32).detach().to("cpu").clone().reshape(-1)


class Standardize(nn.Module):
    """(obs - mean) / std, clipped to [-clip, clip] where `clip` is given."""

    def __init__(self, mean, std, clip: float | None = None):
        super().__init__()
        self.register_buffer("mean", _constant(mean))
        self.register_buffer("std", _constant(std))
        self.clip = None if clip is None else float(clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        return x if self.clip is None else x.clamp(-self.clip, self.clip)


class FirstHalf(nn.Module):
    """The first half of the last axis: the mean of a (mean, log-std) output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : x.shape[-1] // 2]


class ToBounds(nn.Module):
    """x * scale + bias: from [-1, 1] to the env's bounds."""

    def __init__(self, scale, bias):
        super().__init__()
        self.register_buffer("scale", _constant(scale))
        self.register_buffer("bias", _constant(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias


class Clip(nn.Module):
    """x clipped into [low, high] per action dimension (infinite bounds allowed)."""

    def __init__(self, low, high):
        super().__init__()
        self.register_buffer("low", _constant(low))
        self.register_buffer("high", _constant(high))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(x, self.low), self.high)


class Argmax(nn.Module):
    """The index of the largest output (int64), plus `start` (a Discrete space's first action)."""

    def __init__(self, start: int = 0):
        super().__init__()
        self.start = int(start)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = x.argmax(-1)
        return index + self.start if self.start else index


class ActionShape(nn.Module):
    """Flat actions [B, n] reshaped to the action space's shape [B, *shape]."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def greedy(net: nn.Module, start: int = 0, flatten: bool = True) -> nn.Sequential:
    """The argmax of `net` (Q-values or logits) over flattened observations: the deterministic
    action of a value-based or categorical policy."""
    return nn.Sequential(*([nn.Flatten()] if flatten else []), frozen(net), Argmax(start))
