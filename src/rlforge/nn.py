"""Network builders and action distributions shared by algorithm plugins."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _numpy_runs(x: torch.Tensor) -> bool:
    """NumPy's tanh pays off on CPU float32 tensors big enough to outweigh the ~20 us of an
    autograd.Function call (benchmarks/tanh_speed.py: at 8x64 torch's is faster)."""
    return x.is_cpu and x.dtype == torch.float32 and x.numel() >= 4096


def tanh_(x: torch.Tensor) -> torch.Tensor:
    """In-place tanh of a tensor outside autograd: NumPy's on CPU float32 (see Tanh), else torch's."""
    if _numpy_runs(x):
        array = x.numpy()
        np.tanh(array, out=array)
        return x
    return torch.tanh_(x)


class _NumpyTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.from_numpy(np.tanh(x.detach().numpy()))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(grad, y)


class Tanh(nn.Tanh):
    """nn.Tanh whose forward of larger CPU float32 inputs is NumPy's: torch's CPU tanh kernel
    is about 8x slower (256x64 here: 45 us against NumPy's 6 us; forward and backward of the
    activation 76 vs 44 us; benchmarks/tanh_speed.py). Same values to float32 rounding (6e-8);
    the backward is torch's tanh_backward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _NumpyTanh.apply(x) if _numpy_runs(x) else torch.tanh(x)


class MaskFreeReLU(nn.ReLU):
    """nn.ReLU that torch.compile sees as (x + |x|) / 2: the same values (exactly: x + x is 2x,
    and x + |x| is 0 for x < 0) and, at x = 0 only, a gradient of 1/2 instead of 0. Its backward
    needs no boolean mask, which Inductor's CPU code stores and loads about 50 times slower than
    floats (docs/performance.md, "compiling the critic"); eager calls are torch.relu."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return (x + x.abs()) * 0.5
        return torch.relu(x)


ACTIVATIONS = {"relu": nn.ReLU, "tanh": Tanh, "elu": nn.ELU, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}


def activation(name: str) -> type[nn.Module]:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}") from None


def mlp(in_dim: int, hidden: list[int], out_dim: int, act: str = "relu") -> nn.Sequential:
    """Linear layers of the given hidden widths with `act` between them, no output activation."""
    from rlforge.resources import check_fits

    widths = [int(in_dim), *(int(h) for h in hidden), int(out_dim)]
    parameters = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    # parameters, their gradients and Adam's two moments: 4 float32 copies
    check_fits(16.0 * parameters, f"an MLP with layers {widths}")
    layers, width = [], in_dim
    for size in hidden:
        layers += [nn.Linear(width, size), activation(act)()]
        width = size
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class EnsembleLinear(nn.Module):
    """`n` independent linear layers applied as one batched matrix product.

    Input [n, batch, in] (or [batch, in], shared by all members), output [n, batch, out].
    Each member is initialised as nn.Linear would be.
    """

    def __init__(self, n: int, in_features: int, out_features: int):
        super().__init__()
        self.n, self.in_features, self.out_features = n, in_features, out_features
        from rlforge.resources import check_fits

        check_fits(16.0 * n * (in_features + 1) * out_features, f"an ensemble of {n} layers {in_features}x{out_features}")
        self.weight = nn.Parameter(torch.empty(n, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(n, 1, out_features))
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -bound, bound)  # same range as nn.Linear's default init
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.out_features == 1:
            # A critic's output layer: a batched product with one output column runs 3x slower
            # forward and backward than this multiply-and-sum (docs/performance.md#ensemble-output-layer).
            members_x = x.unsqueeze(0) if x.dim() == 2 else x
            return (members_x * self.weight.transpose(1, 2)).sum(-1, keepdim=True) + self.bias
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n, -1, -1)
        return torch.baddbmm(self.bias, x, self.weight)

    def extra_repr(self) -> str:
        return f"n={self.n}, in_features={self.in_features}, out_features={self.out_features}"


def ensemble_mlp(n: int, in_dim: int, hidden: list[int], out_dim: int, act: str = "relu") -> nn.Sequential:
    """`n` MLPs of the same shape evaluated together: one batched product per layer."""
    layers, width = [], in_dim
    act_layer = MaskFreeReLU if act == "relu" else activation(act)  # critics are what compile_update compiles
    for size in hidden:
        layers += [EnsembleLinear(n, width, size), act_layer()]
        width = size
    layers.append(EnsembleLinear(n, width, out_dim))
    return nn.Sequential(*layers)


class SquashedNormal:
    """A diagonal Gaussian squashed by tanh into (-1, 1), with exact log-probabilities."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor):
        self.mean, self.log_std = mean, log_std
        self.std = log_std.exp()

    def rsample(self, sample_shape=()) -> torch.Tensor:
        """A reparametrised sample (gradients flow to mean and std)."""
        noise = torch.randn(tuple(sample_shape) + self.mean.shape, dtype=self.mean.dtype, device=self.mean.device)
        return torch.tanh(self.mean + self.std * noise)

    def sample(self, sample_shape=()) -> torch.Tensor:
        with torch.no_grad():
            return self.rsample(sample_shape)

    def rsample_with_log_prob(self, sample_shape=()) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparametrised sample and its log-probability (summed over action dims)."""
        noise = torch.randn(tuple(sample_shape) + self.mean.shape, dtype=self.mean.dtype, device=self.mean.device)
        pre_tanh = self.mean + self.std * noise
        gaussian = (-0.5 * noise.pow(2) - self.log_std - LOG_SQRT_2PI).sum(-1)
        return torch.tanh(pre_tanh), gaussian - tanh_log_det(pre_tanh).sum(-1)

    def log_prob(self, action: torch.Tensor) -> torch.Tensor:
        """log-probability of squashed actions (clipped just inside (-1, 1) for atanh).
        Prefer `squashed_log_prob` on the pre-tanh sample where you have it: atanh loses
        precision where tanh saturates."""
        eps = torch.finfo(action.dtype).eps
        return squashed_log_prob(torch.atanh(action.clamp(-1 + eps, 1 - eps)), self.mean, self.log_std)

    @property
    def mode(self) -> torch.Tensor:
        return torch.tanh(self.mean)


def tanh_log_det(x: torch.Tensor) -> torch.Tensor:
    """log(1 - tanh(x)^2), computed stably as 2 * (log 2 - x - softplus(-2x))."""
    return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


def squashed_log_prob(pre_tanh: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log pi(tanh(u)) of a tanh-squashed diagonal Gaussian N(mean, exp(log_std)), given the
    pre-squash sample u; summed over the last (action) axis. Gradients flow to mean and log_std."""
    z = (pre_tanh - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - LOG_SQRT_2PI - tanh_log_det(pre_tanh)).sum(-1)


class LeanFusedAdam(torch.optim.Adam):
    """torch's fused Adam (the same kernel, the same numbers, the same state_dict) with a lean
    step and zero_grad. torch's own step regroups the tensors by device and dtype and runs
    its bookkeeping in Python on every call, about 0.1 ms: much of a small network's update
    on a CPU. Here, once every parameter has its state, a step is one `_foreach_add_` of the
    step counts and one `_fused_adam_` per param group, exactly the calls torch makes.
    Anything unusual (amsgrad, a closure, a missing gradient, mixed devices) takes torch's path.

    The state is created up front (as torch's first step would) and torch's optimizer methods
    are called without their `torch._disable_dynamo` wrappers: the first call of any of those
    imports torch._dynamo, 1.2-1.6 s of a run's start-up on this project's machine, for a
    guard that only matters inside torch.compile (which never traces these methods here)."""

    def __init__(self, params, lr: float, **kwargs):
        super().__init__(params, lr=lr, fused=True, **kwargs)
        self._init_state()
        self._lean: list | None = self._lean_groups()

    def add_param_group(self, param_group) -> None:
        _without_dynamo_guard(torch.optim.Optimizer.add_param_group)(self, param_group)

    def state_dict(self):
        return _without_dynamo_guard(torch.optim.Optimizer.state_dict)(self)

    def _init_state(self) -> None:
        """Adam's per-parameter state as torch's fused first step creates it (zero moments, a
        float32 step count on the parameter's device)."""
        with torch.no_grad():
            for group in self.param_groups:
                if group["amsgrad"]:  # it needs one more moment: torch's first step creates all of it
                    continue
                for p in group["params"]:
                    if p not in self.state or not self.state[p]:
                        self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                                         "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                         "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}

    @torch.no_grad()
    def step(self, closure=None):
        if closure is not None or self._lean is None:
            loss = torch.optim.Adam.step(self, closure)
            self._lean = self._lean_groups()
            return loss
        for group, (params, exp_avgs, exp_avg_sqs, steps) in zip(self.param_groups, self._lean):
            grads = [p.grad for p in params]
            if any(g is None for g in grads):  # torch skips such parameters: let it
                self._lean = None
                return self.step()
            beta1, beta2 = group["betas"]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                               beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                               maximize=False, grad_scale=None, found_inf=None)
        return None

    step.hooked = True  # keep torch from wrapping this step in its profiling hook on every call

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none or self._lean is None:
            return _without_dynamo_guard(torch.optim.Optimizer.zero_grad)(self, set_to_none)
        for params, *_ in self._lean:
            for p in params:
                p.grad = None

    def load_state_dict(self, state_dict) -> None:
        _without_dynamo_guard(torch.optim.Optimizer.load_state_dict)(self, state_dict)
        self._lean = self._lean_groups()  # the state tensors were replaced

    def __setstate__(self, state) -> None:
        """A copy (copy.deepcopy goes through torch's __getstate__, which keeps only defaults,
        state and param_groups) gets its own lean groups of its own tensors."""
        super().__setstate__(state)
        self._lean = self._lean_groups()

    def _lean_groups(self) -> list | None:
        """Per group: params, exp_avgs, exp_avg_sqs, steps; None where the lean step does not apply."""
        lean = []
        for group in self.param_groups:
            params = group["params"]
            plain = not (group["amsgrad"] or group["maximize"] or group["differentiable"] or group["capturable"]
                         or group.get("decoupled_weight_decay", False) or isinstance(group["lr"], torch.Tensor))
            same = len({(p.device, p.dtype) for p in params}) <= 1
            if not (plain and same and all(p in self.state and "exp_avg" in self.state[p] for p in params)):
                return None
            lean.append(([p for p in params], [self.state[p]["exp_avg"] for p in params],
                         [self.state[p]["exp_avg_sq"] for p in params], [self.state[p]["step"] for p in params]))
        return lean


def _without_dynamo_guard(method):
    """A torch.optim.Optimizer method without its `torch._disable_dynamo` wrapper (the wrapper
    keeps the original as `__wrapped__`; where it does not, the method itself)."""
    return getattr(method, "__wrapped__", method)


def make_adam(params, lr: float, **kwargs) -> torch.optim.Optimizer:
    """Adam with the fastest implementation available (fused with a lean step, else foreach)."""
    params = list(params)
    try:
        return LeanFusedAdam(params, lr=lr, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True, **kwargs)


def maybe_compile(fn, enabled: bool):
    """`fn` through torch.compile when `enabled`; `fn` itself (with one warning) where
    torch.compile is missing or fails on a call. Random draws inside use torch's own
    generator (inductor's fallback_random), so a compiled run stays seeded and resumable."""
    if not enabled:
        return fn
    try:
        import torch._inductor.config as inductor_config

        inductor_config.fallback_random = True
        compiled = torch.compile(fn)
    except Exception as exc:  # no inductor, or an unsupported Python
        warnings.warn(f"torch.compile is unavailable ({exc}); running eagerly", stacklevel=2)
        return fn
    current = [compiled]

    def call(*args, **kwargs):
        if current[0] is fn:
            return fn(*args, **kwargs)
        try:
            return compiled(*args, **kwargs)
        except Exception as exc:  # e.g. no C++ compiler: the eager function gives the same numbers' math
            warnings.warn(f"torch.compile failed ({type(exc).__name__}: {exc}); running eagerly", stacklevel=2)
            current[0] = fn
            return fn(*args, **kwargs)

    return call


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """torch.nn.utils.clip_grad_norm_ (foreach, L2) for parameters on one device, in five
    operations instead of torch's ~15 (its grouping by device and dtype costs more than the
    math for small networks). Returns the norm before clipping."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, torch.clamp(max_norm / (norm + 1e-6), max=1.0))
    return norm


def optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """An optimiser's state_dict for an agent's `state_dict()`: tensors cloned (torch's
    load_state_dict may keep the very tensors it is given, so an uncloned state would share
    its moments with the optimiser it came from), keys as strings, no tuples."""
    saved = optimizer.state_dict()
    return {
        "state": {str(key): {name: v.clone() if isinstance(v, torch.Tensor) else v for name, v in value.items()}
                  for key, value in saved["state"].items()},
        "param_groups": [{k: list(v) if isinstance(v, tuple) else v for k, v in group.items()}
                         for group in saved["param_groups"]],
    }


def load_optimizer_state(optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Restore what `optimizer_state` returned (torch's own state_dict format works too)."""
    state = {int(key): value for key, value in saved["state"].items()}
    groups = [{k: tuple(v) if k == "betas" else v for k, v in group.items()} for group in saved["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from rlforge.errors import RLForgeError

        raise RLForgeError("--device cuda was asked for but torch sees no CUDA device")
    return torch.device(name)
