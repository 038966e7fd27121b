"""Comparing nested agent states (dicts and lists of tensors, arrays and plain values).

Used by the conformance kit and by tests that check a checkpoint round trip.
"""

from __future__ import annotations

import math


def snapshot(value):
    """A deep copy of a state dict (tensors cloned, arrays copied): state_dict() often returns
    the live tensors, which a later update changes in place."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(v) for v in value)
    return value


def leaves(value, path: str = "state"):
    """(path, tensor or array) for every tensor and array in a nested state."""
    import numpy as np
    import torch

    if isinstance(value, (torch.Tensor, np.ndarray)):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}.{i}")


def diff_states(a, b, path: str = "state", tolerance: float = 0.0, out: list | None = None, limit: int = 3) -> list[str]:
    """Where nested states `a` (expected) and `b` differ: up to `limit` one-line descriptions."""
    import numpy as np
    import torch

    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k not in b:
                out.append(f"{path}.{k} is missing")
        for k in b:
            if k not in a:
                out.append(f"{path}.{k} is new")
        for k in a:
            if k in b:
                diff_states(a[k], b[k], f"{path}.{k}", tolerance, out, limit)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            out.append(f"{path} has {len(b)} items instead of {len(a)}")
        else:
            for i, (x, y) in enumerate(zip(a, b)):
                diff_states(x, y, f"{path}.{i}", tolerance, out, limit)
    elif isinstance(a, (torch.Tensor, np.ndarray)) or isinstance(b, (torch.Tensor, np.ndarray)):
        if type(a) is not type(b) and not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            out.append(f"{path} is a {type(b).__name__} instead of a {type(a).__name__}")
            return out
        ta = torch.as_tensor(a).detach().cpu()
        tb = torch.as_tensor(b).detach().cpu()
        if ta.shape != tb.shape or ta.dtype != tb.dtype:
            out.append(f"{path} has shape {tuple(tb.shape)} {tb.dtype} instead of {tuple(ta.shape)} {ta.dtype}")
        elif ta.is_floating_point() or ta.is_complex():
            if not torch.allclose(ta, tb, rtol=tolerance, atol=tolerance, equal_nan=True):
                gap = (ta.double() - tb.double()).abs().nan_to_num(nan=float("inf")).max().item() if ta.numel() else 0
                out.append(f"{path} differs (largest difference {gap:.3g})")
        elif not torch.equal(ta, tb):
            out.append(f"{path} differs")
    else:
        same = a == b
        if isinstance(a, float) and isinstance(b, (int, float)):
            same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
        if not same:
            out.append(f"{path} is {brief(b)} instead of {brief(a)}")
    return out


def find_optimizers(agent) -> dict:
    """The agent's torch optimisers, by attribute path ('optimizer', "optimizers['actor']")."""
    import torch

    found = {}
    for name, value in vars(agent).items():
        if isinstance(value, torch.optim.Optimizer):
            found[name] = value
        elif isinstance(value, dict):
            found.update({f"{name}[{k!r}]": v for k, v in value.items() if isinstance(v, torch.optim.Optimizer)})
        elif isinstance(value, (list, tuple)):
            found.update({f"{name}[{i}]": v for i, v in enumerate(value) if isinstance(v, torch.optim.Optimizer)})
    return found


def optimizer_moments(optimizer) -> list[tuple[str, object]]:
    """(key, tensor) of each parameter's optimiser state with at least one dimension (the
    moments; scalar counters like Adam's `step` are left out), in parameter order."""
    import torch

    found = []
    for group in optimizer.param_groups:
        for index, param in enumerate(group["params"]):
            for key, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.dim() > 0:
                    found.append((f"{key} of parameter {index}", value))
    return found


def brief(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def requires_grad(value) -> bool:
    import torch

    if isinstance(value, torch.Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(requires_grad(v) for v in value)
    return False


def as_cpu_tensor(value):
    import torch

    return torch.as_tensor(value).detach().cpu()
