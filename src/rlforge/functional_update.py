"""Pieces for writing an agent's whole update as one function that torch.compile makes one graph:
Adam's step as plain tensor maths on an optimiser's own state, and a module's parameters
swapped for the tensors `torch.func.grad` differentiates.

torch.compile cannot put `optimizer.step()` of rlforge's fused Adam into the same graph as the
losses and their gradients; `adam_step_` makes the same step (torch's Adam without weight
decay or amsgrad, to float rounding) on the very tensors the optimiser holds, its moments and
step counts, so a compiled update and the optimiser stay one state: checkpoints, resume and
a later eager step see what the compiled steps did.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
from torch.nn.utils.stateless import _reparametrize_module  # what torch.func.functional_call uses


@dataclass(frozen=True)
class AdamTensors:
    """One Adam param group's parameters and state, as lists, and its hyper-parameters."""

    params: list[torch.Tensor]
    exp_avgs: list[torch.Tensor]
    exp_avg_sqs: list[torch.Tensor]
    steps: list[torch.Tensor]
    lr: float
    beta1: float
    beta2: float
    eps: float


def adam_tensors(optimizer: torch.optim.Optimizer) -> AdamTensors:
    """The state tensors of a one-group Adam whose state exists already (rlforge's LeanFusedAdam
    creates it up front). Anything else (weight decay, amsgrad, several groups, no state yet)
    raises ValueError: its step is not the one `adam_step_` makes."""
    if not isinstance(optimizer, torch.optim.Adam) or len(optimizer.param_groups) != 1:
        raise ValueError("a functional Adam step needs a torch Adam optimiser with one param group")
    group = optimizer.param_groups[0]
    if group["weight_decay"] or group["amsgrad"] or group["maximize"] or isinstance(group["lr"], torch.Tensor):
        raise ValueError("a functional Adam step covers plain Adam only (no weight decay, amsgrad, maximize "
                         "or tensor learning rate)")
    params = list(group["params"])
    states = [optimizer.state.get(p, {}) for p in params]
    if not all("exp_avg" in s and "exp_avg_sq" in s and "step" in s for s in states):
        raise ValueError("a functional Adam step needs the optimiser's state created up front (make_adam does)")
    beta1, beta2 = group["betas"]
    return AdamTensors(params, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                       [s["step"] for s in states], float(group["lr"]), float(beta1), float(beta2), float(group["eps"]))


@torch.no_grad()
def adam_step_(adam: AdamTensors, grads: list[torch.Tensor], lr: torch.Tensor | None = None) -> None:
    """One Adam step of `adam.params` on `grads`, in place, as torch's Adam computes it:
    m <- lerp(m, g, 1 - beta1); v <- beta2 v + (1 - beta2) g^2;
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    `lr`: this step's learning rate as a 0-d tensor, for a schedule (default: the group's)."""
    torch._foreach_add_(adam.steps, 1)
    step = adam.steps[0]  # every parameter of the group has taken the same steps
    correction1 = 1 - adam.beta1 ** step
    correction2_sqrt = (1 - adam.beta2 ** step).sqrt()
    torch._foreach_lerp_(adam.exp_avgs, grads, 1 - adam.beta1)
    torch._foreach_mul_(adam.exp_avg_sqs, adam.beta2)
    torch._foreach_addcmul_(adam.exp_avg_sqs, grads, grads, value=1 - adam.beta2)
    denominators = torch._foreach_add(torch._foreach_div(torch._foreach_sqrt(adam.exp_avg_sqs), correction2_sqrt),
                                      adam.eps)
    torch._foreach_sub_(adam.params, torch._foreach_div(torch._foreach_div(adam.exp_avgs, denominators),
                                                        correction1 / (adam.lr if lr is None else lr)))


def module_adam(module: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[list[str], AdamTensors]:
    """The names of `module`'s parameters and `optimizer`'s state tensors, which must hold those
    parameters in the same order (as an optimiser made from `module.parameters()` does), so the
    gradients taken with `swapped_parameters` line up with Adam's moments."""
    named = list(module.named_parameters())
    adam = adam_tensors(optimizer)
    if [id(p) for _, p in named] != [id(p) for p in adam.params]:
        raise ValueError("the optimiser does not hold the module's parameters in the module's order")
    return [name for name, _ in named], adam


def swapped_parameters(module: torch.nn.Module, names: list[str], params: list[torch.Tensor]) -> AbstractContextManager:
    """Within the block `module` computes with `params` in place of its parameters `names`
    (torch.func.functional_call's mechanism, for code that calls more than `forward`)."""
    return _reparametrize_module(module, dict(zip(names, params)))
