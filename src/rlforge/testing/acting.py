"""Action-space checks.

  acting[ENV]   policy.act(obs) returns a NumPy array of valid actions, builds no autograd
                graph, leaves grad mode and its input alone, and repeats itself when
                deterministic
  refuses[KIND] preparing a run on an env of an action space kind the algorithm does not
                claim raises an RLForgeError naming the algorithm and the kind
"""

from __future__ import annotations

import traceback

from rlforge.errors import RLForgeError
from rlforge.testing.context import SMALL_ENVS, TrainedRun, small_overrides
from rlforge.testing.outcomes import CheckFailed, describe

NO_GRAPH = "act under torch.inference_mode()"


def check_acting(kit, trained: TrainedRun) -> None:
    import numpy as np
    import torch

    policy = trained.engine.agent.policy
    space = trained.engine.env.action_space
    if not isinstance(policy, torch.nn.Module) or not callable(getattr(policy, "act", None)):
        raise CheckFailed(f"agent.policy is a {type(policy).__name__}, not an nn.Module with act(obs, deterministic)")
    obs = kit.observations(trained)
    before = obs.copy()
    spy = _graph_spy()
    grad_mode = torch.is_grad_enabled()
    try:
        with spy:
            sampled = policy.act(obs)
            greedy = policy.act(obs, deterministic=True)
    except Exception as exc:
        if spy.culprit:
            raise CheckFailed(f"policy.act() builds an autograd graph ({spy.culprit} gave a tensor that requires "
                              f"grad); {NO_GRAPH}") from None
        raise CheckFailed(f"policy.act() raised {describe(exc)}", traceback.format_exc()) from None
    if spy.culprit:
        raise CheckFailed(f"policy.act() builds an autograd graph ({spy.culprit} gave a tensor that requires grad); "
                          f"{NO_GRAPH}")
    if torch.is_grad_enabled() != grad_mode:
        raise CheckFailed("policy.act() leaves torch's grad mode switched off; use a context manager "
                          "(torch.inference_mode()) instead of torch.set_grad_enabled(False)")
    if not np.array_equal(obs, before):
        raise CheckFailed("policy.act() changed the observations it was given")
    for label, actions in (("act(obs)", sampled), ("act(obs, deterministic=True)", greedy)):
        problem = action_problem(actions, len(obs), space)
        if problem:
            raise CheckFailed(f"policy.{label} {problem}")
    if not np.array_equal(greedy, policy.act(obs, deterministic=True)):
        raise CheckFailed("policy.act(obs, deterministic=True) gave different actions for the same observations")


def _graph_spy():
    """A torch function mode that notes the first operation giving a tensor that requires grad."""
    from torch.overrides import TorchFunctionMode

    from rlforge.testing.state import requires_grad

    class GraphSpy(TorchFunctionMode):
        culprit = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if self.culprit is None and requires_grad(out):
                self.culprit = getattr(func, "__name__", str(func))
            return out

    return GraphSpy()


def action_problem(actions, n: int, space) -> str | None:
    """Why `actions` are not n valid actions of `space`, or None."""
    import numpy as np
    from gymnasium import spaces

    if not isinstance(actions, np.ndarray):
        return f"returned a {type(actions).__name__}, not a NumPy array"
    expected = (n, *space.shape)
    if actions.shape != expected:
        return f"returned actions of shape {actions.shape} for {n} observations, expected {expected}"
    if isinstance(space, spaces.Discrete):
        if not np.issubdtype(actions.dtype, np.integer):
            return f"returned {actions.dtype} actions; a Discrete space needs integers"
        if actions.min() < space.start or actions.max() >= space.start + space.n:
            return f"returned actions outside {space}"
    elif isinstance(space, spaces.Box):
        if not np.all(np.isfinite(actions)):
            return "returned non-finite actions"
        low, high = np.broadcast_to(space.low, expected), np.broadcast_to(space.high, expected)
        if np.any(actions < low - 1e-6) or np.any(actions > high + 1e-6):
            return f"returned actions outside the bounds of {space}"
    return None


def check_refuses(kit, kind: str) -> None:
    from rlforge import training

    env_id = SMALL_ENVS[kind]
    try:
        training.prepare(kit.algo, env_id, None, [], small_overrides(steps=kit.steps, seed=kit.seed))
    except RLForgeError as exc:
        message = str(exc)
        missing = [what for what, text in (("the algorithm", kit.algo), ("the space kind", kind)) if text not in message]
        if missing:
            raise CheckFailed(f"the error for {env_id} does not name {' or '.join(missing)}: {message}") from None
        return
    except Exception as exc:
        raise CheckFailed(f"preparing {env_id} ({kind} actions) raised {describe(exc)}, not an RLForgeError") from None
    raise CheckFailed(f"{kit.algo} claims {', '.join(kit.spec.action_spaces)} but preparing {env_id} "
                      f"({kind} actions) raised no error")
