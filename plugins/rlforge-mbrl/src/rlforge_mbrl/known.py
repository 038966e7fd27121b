"""Known reward and termination functions of Gymnasium envs, batched in torch.

Each takes (obs, action, next_obs) tensors with any leading dims ([..., obs_dim], [...,
act_dim] in the env's action units) and returns [...] rewards (float) or terminations
(bool). They are registered as the envs' `reward_fn` / `termination_fn` (plugin.py), and
model-based agents find them with `known_functions(env_id)`.

Exact, unless said otherwise:
  HalfCheetah-v4  APPROXIMATE: the env rewards the x-displacement of the torso over the step
                  divided by dt; the observation holds the x-velocity at the end of the step
                  (next_obs[8]), used here in its place. Control cost 0.1 * |a|^2 is exact.
  Hopper-v4       APPROXIMATE forward term the same way (next_obs[5]); healthy reward 1 and
                  control cost 1e-3 * |a|^2 exact; termination exact up to the observation's
                  clipping of velocities to [-10, 10].
  Reacher-v4      exact: -|fingertip - target| before the step (obs[8:11]) - |a|^2.
  Pendulum-v1     exact: -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2) at the state before the step.
"""

from __future__ import annotations

import torch


def half_cheetah_reward(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    return next_obs[..., 8] - 0.1 * action.pow(2).sum(-1)


def hopper_reward(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    return next_obs[..., 5] + 1.0 - 1e-3 * action.pow(2).sum(-1)


def hopper_terminated(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    z, angle = next_obs[..., 0], next_obs[..., 1]
    healthy = (next_obs[..., 1:].abs() < 100.0).all(-1) & (z > 0.7) & (angle > -0.2) & (angle < 0.2)
    return ~healthy


def reacher_reward(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    return -obs[..., 8:11].norm(dim=-1) - action.pow(2).sum(-1)


def pendulum_reward(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    theta = torch.atan2(obs[..., 1], obs[..., 0])  # already in [-pi, pi], as the env normalises it
    u = action[..., 0].clamp(-2.0, 2.0)
    return -(theta.pow(2) + 0.1 * obs[..., 2].pow(2) + 0.001 * u.pow(2))


def never_terminated(obs: torch.Tensor, action: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
    return torch.zeros(next_obs.shape[:-1], dtype=torch.bool, device=next_obs.device)


def known_functions(env_id: str | None):
    """(reward_fn, termination_fn) that an env plugin registered for `env_id` (None where not)."""
    if env_id is None:
        return None, None
    from rlforge.plugins import get_host
    from rlforge.registry import load

    spec = get_host().registry.envs.get(env_id)
    if spec is None:
        return None, None
    reward = _as_torch(load(spec.reward_fn), torch.float32) if spec.reward_fn else None
    termination = _as_torch(load(spec.termination_fn), torch.bool) if spec.termination_fn else None
    return reward, termination


def _as_torch(function, dtype):
    """An env plugin's function may compute with NumPy-style operations and return an array
    (as the plugin guide's example does); its result is turned into a tensor like next_obs."""
    def wrapped(obs, action, next_obs):
        result = function(obs, action, next_obs)
        if not isinstance(result, torch.Tensor):
            result = torch.as_tensor(result, device=next_obs.device)
        return result.to(dtype).expand(next_obs.shape[:-1])
    wrapped.__name__ = getattr(function, "__name__", "known")
    return wrapped

