"""Batch renormalisation (Ioffe 2017, "Batch Renormalization: Towards Reducing Minibatch
Dependence in Batch-Normalized Models", arXiv:1702.03275) and the networks CrossQ builds from it.

In training mode a layer normalises with the batch's statistics, corrected towards the running
ones once warmed up:

    x_hat = (x - mean_B) / sigma_B * r + d,      sigma_B = sqrt(var_B + eps)
    r = clip(sigma_B / sigma_run, 1/r_max, r_max),  d = clip((mean_B - mean_run) / sigma_run, -d_max, d_max)

with r and d treated as constants by the gradient, then scaled and shifted by learnt
parameters; the running mean and variance move towards the batch's by (1 - momentum). For the
first `warmup_steps` training forwards r = 1 and d = 0 (plain batch normalisation); after them
the clipping is r_max = 3, d_max = 5 at once, as in CrossQ's implementation (SBX's BatchRenorm:
momentum 0.99, eps 1e-3, 100,000 warm-up steps, the biased batch variance), not the gradual
relaxation of Ioffe's paper. (SBX writes the corrected statistics as a mean and variance and
adds eps after dividing by r^2; the form above is the paper's, equal to it where var_B >> eps.)
In evaluation mode it normalises with the running statistics and updates nothing.

The running statistics and the step count are buffers: they are in `state_dict()`, so a
checkpoint holds them and a resumed run continues exactly.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from rlforge.nn import EnsembleLinear, activation


class BatchRenorm(nn.Module):
    """Batch renormalisation over the batch axis (-2) of [batch, features] inputs, or of
    [members, batch, features] with `members` independent layers (an ensemble's, each with its
    own statistics and affine parameters; a [batch, features] input is then shared by all)."""

    def __init__(self, num_features: int, members: int | None = None, momentum: float = 0.99, eps: float = 1e-3,
                 r_max: float = 3.0, d_max: float = 5.0, warmup_steps: int = 100_000):
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum (the running statistics' decay per step) must be in [0, 1), got {momentum}")
        self.num_features, self.members = int(num_features), members
        self.momentum, self.eps, self.r_max, self.d_max = float(momentum), float(eps), float(r_max), float(d_max)
        self.warmup_steps = int(warmup_steps)
        shape = (members, 1, num_features) if members is not None else (1, num_features)
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))
        self.register_buffer("running_mean", torch.zeros(shape))
        self.register_buffer("running_var", torch.ones(shape))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))  # training forwards so far

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.members is not None and x.dim() == 2:
            x = x.unsqueeze(0).expand(self.members, -1, -1)
        if not self.training:
            x_hat = (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps)
            return torch.addcmul(self.bias, x_hat, self.weight)
        out, mean, var = _TrainingRenorm.apply(x, self.weight, self.bias, self.running_mean, self.running_var,
                                               self.eps, self.r_max, self.d_max, int(self.steps) >= self.warmup_steps)
        with torch.no_grad():
            self.running_mean.lerp_(mean, 1.0 - self.momentum)
            self.running_var.lerp_(var, 1.0 - self.momentum)
            self.steps += 1
        return out

    def extra_repr(self) -> str:
        members = f", members={self.members}" if self.members is not None else ""
        return (f"{self.num_features}{members}, momentum={self.momentum}, eps={self.eps}, r_max={self.r_max}, "
                f"d_max={self.d_max}, warmup_steps={self.warmup_steps}")


def renorm_mlp(in_dim: int, hidden: list[int], out_dim: int, act: str = "relu", members: int | None = None,
               **renorm) -> nn.Sequential:
    """CrossQ's network: batch renormalisation of the input and after every hidden activation,
        BRN, (Linear, act, BRN) per hidden layer, Linear
    (SBX's CrossQ critic and actor). With `members`, an ensemble of that many networks
    evaluated together (EnsembleLinear layers, each member's own statistics). `renorm` goes to
    every BatchRenorm (momentum, eps, warmup_steps, ...)."""
    linear = (lambda a, b: EnsembleLinear(members, a, b)) if members is not None else nn.Linear
    layers: list[nn.Module] = [BatchRenorm(in_dim, members, **renorm)]
    width = in_dim
    for size in hidden:
        layers += [linear(width, size), activation(act)(), BatchRenorm(size, members, **renorm)]
        width = size
    layers.append(linear(width, out_dim))
    return nn.Sequential(*layers).train(False)  # evaluation mode unless inside updating_statistics


def evaluation_affine(layer: BatchRenorm) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) with layer(x) == x * scale + shift in evaluation mode: the running
    statistics and the affine parameters as one per-feature map (for a single layer, not an
    ensemble's). Folded into the next Linear, it leaves a plain MLP (an exported actor)."""
    if layer.members is not None:
        raise ValueError("evaluation_affine takes a single BatchRenorm layer, not an ensemble's")
    with torch.no_grad():
        scale = layer.weight * torch.rsqrt(layer.running_var + layer.eps)
        shift = layer.bias - layer.running_mean * scale
    return scale.reshape(-1), shift.reshape(-1)


def renorm_layers(module: nn.Module) -> list[BatchRenorm]:
    return [m for m in module.modules() if isinstance(m, BatchRenorm)]


@contextmanager
def updating_statistics(layers: list[BatchRenorm]):
    """Training mode for these layers inside the block (normalise with, and learn, the batch's
    statistics), evaluation mode after it: acting and every other forward use the running ones."""
    for layer in layers:
        layer.training = True
    try:
        yield
    finally:
        for layer in layers:
            layer.training = False


class _TrainingRenorm(torch.autograd.Function):
    """The training-mode forward, with its backward written out. Autograd's trace of the same
    formula makes about twice as many passes over the batch, which on a CPU cost more than the
    layer's matrix product (docs/performance.md#crossq-step). Returns the output and the
    batch's mean and biased variance (for the running statistics; no gradient flows there).

    With x_hat = (x - mean) * inv_std, y = x_hat * s + t where s = weight * r and
    t = bias + weight * d (r = 1, d = 0 before the warm-up ends; both constants), the
    gradients are, with sums over the batch axis and N rows:
        dbias = sum(g),  dweight = r * sum(g * x_hat) + d * sum(g),
        dx = inv_std * s * (g - sum(g) / N - x_hat * sum(g * x_hat) / N)."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, r_max, d_max, renorm):
        mean = x.mean(dim=-2, keepdim=True)
        # the centred input's mean square: torch.var_mean over this axis is several times slower
        x_hat = x - mean
        var = (x_hat * x_hat).mean(dim=-2, keepdim=True)
        inv_std = torch.rsqrt(var + eps)
        x_hat.mul_(inv_std)
        r = d = None
        scale, shift = weight, bias
        if renorm:
            inv_running_std = torch.rsqrt(running_var + eps)
            r = (inv_running_std / inv_std).clamp_(1.0 / r_max, r_max)
            d = ((mean - running_mean) * inv_running_std).clamp_(-d_max, d_max)
            scale, shift = weight * r, torch.addcmul(bias, weight, d)
        ctx.save_for_backward(x_hat, inv_std, scale, r, d)
        ctx.mark_non_differentiable(mean, var)
        return torch.addcmul(shift, x_hat, scale), mean, var

    @staticmethod
    def backward(ctx, grad, _grad_mean, _grad_var):
        x_hat, inv_std, scale, r, d = ctx.saved_tensors
        rows = grad.shape[-2]
        sum_g = grad.sum(dim=-2, keepdim=True)
        sum_g_xhat = (grad * x_hat).sum(dim=-2, keepdim=True)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad - x_hat * (sum_g_xhat / rows)
            grad_x.sub_(sum_g / rows).mul_(inv_std * scale)
        grad_weight = grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_weight = sum_g_xhat if r is None else sum_g_xhat * r + sum_g * d
        if ctx.needs_input_grad[2]:
            grad_bias = sum_g
        return grad_x, grad_weight, grad_bias, None, None, None, None, None, None
