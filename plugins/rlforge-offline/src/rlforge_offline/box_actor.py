"""The actors of the Box-action offline agents, in [-1, 1] action units, and the policy that
acts with one in the env's units.

Three kinds:
  deterministic   mu(s) = tanh(MLP(s))                          TD3+BC
  gaussian        N(tanh(MLP(s)), exp(log_std)), log_std one     IQL's and AWAC's: the data's actions
                  parameter per action dimension (state-         are scored as they are; samples are
                  independent), clamped                          clipped into [-1, 1]
  tanh_gaussian   tanh(N(mean(s), exp(log_std(s)))), both from   SAC's (rlforge.nn.SquashedNormal), for
                  the MLP, log_std clamped                       CQL, and as an option for IQL/AWAC
The deterministic action (evaluation, export) is tanh of the mean for all three.

Sampling draws from torch's global generator, which the engine seeds and checkpoints, so a
resumed run collects exactly as an uninterrupted one.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlforge.agent import Policy
from rlforge.nn import SquashedNormal, mlp

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class Gaussian:
    """A diagonal Gaussian over [-1, 1] action units, with the interface of SquashedNormal."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor):
        self.mean, self.log_std = mean, log_std.expand_as(mean)
        self.std = self.log_std.exp()

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """log N(actions; mean, std), summed over the action dimensions."""
        z = (actions - self.mean) / self.std
        return (-0.5 * z.pow(2) - self.log_std - LOG_SQRT_2PI).sum(-1)

    def rsample_with_log_prob(self, sample_shape=()) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparametrised sample (not clipped: its log-probability is the Gaussian's) and its log-probability."""
        noise = torch.randn(tuple(sample_shape) + self.mean.shape, dtype=self.mean.dtype, device=self.mean.device)
        actions = self.mean + self.std * noise
        return actions, (-0.5 * noise.pow(2) - self.log_std - LOG_SQRT_2PI).sum(-1)

    def sample(self, sample_shape=()) -> torch.Tensor:
        """A sample clipped into [-1, 1] (what the policy would do), without gradients."""
        with torch.no_grad():
            return self.rsample_with_log_prob(sample_shape)[0].clamp(-1.0, 1.0)

    @property
    def mode(self) -> torch.Tensor:
        return self.mean


class BoxActor(nn.Module):
    """An actor of one of the three kinds over flat (already standardised) observations."""

    KINDS = ("deterministic", "gaussian", "tanh_gaussian")

    def __init__(self, kind: str, obs_dim: int, act_dim: int, hidden, activation: str = "relu",
                 log_std_min: float = -5.0, log_std_max: float = 2.0):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"unknown actor {kind!r}; choose from {', '.join(self.KINDS)}")
        self.kind = kind
        self.net = mlp(int(obs_dim), list(hidden), int(act_dim) * (2 if kind == "tanh_gaussian" else 1), activation)
        self.log_std = nn.Parameter(torch.zeros(int(act_dim))) if kind == "gaussian" else None
        self.log_std_min, self.log_std_max = float(log_std_min), float(log_std_max)

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action in [-1, 1] (differentiable): tanh of the mean."""
        out = self.net(obs)
        if self.kind == "tanh_gaussian":
            out = out[..., : out.shape[-1] // 2]
        return torch.tanh(out)

    forward = mode

    def distribution(self, obs: torch.Tensor) -> Gaussian | SquashedNormal:
        if self.kind == "gaussian":
            return Gaussian(torch.tanh(self.net(obs)), self.log_std.clamp(self.log_std_min, self.log_std_max))
        if self.kind == "tanh_gaussian":
            mean, log_std = self.net(obs).chunk(2, dim=-1)
            return SquashedNormal(mean, log_std.clamp(self.log_std_min, self.log_std_max))
        raise ValueError("a deterministic actor has no distribution")

    def export_head(self) -> nn.Module:
        """The deterministic action as plain modules (for rlforge export)."""
        from rlforge.export import blocks

        parts = [blocks.frozen(self.net)] + ([blocks.FirstHalf()] if self.kind == "tanh_gaussian" else [])
        return nn.Sequential(*parts, nn.Tanh())


class BoxPolicy(Policy):
    """Acts with a BoxActor in the env's units: observations standardised as in training, the
    actor's deterministic action (evaluation) or a sample (collecting; a deterministic actor
    adds Gaussian noise of `exploration_noise`), rescaled from [-1, 1] to the bounds."""

    def __init__(self, actor: BoxActor, action_space: spaces.Box, obs_mean: np.ndarray, obs_std: np.ndarray,
                 exploration_noise: float = 0.0):
        super().__init__()
        self.actor = actor
        self.action_shape = tuple(action_space.shape)
        self.exploration_noise = float(exploration_noise)
        low = np.asarray(action_space.low, dtype=np.float32).reshape(-1)
        high = np.asarray(action_space.high, dtype=np.float32).reshape(-1)
        self.register_buffer("obs_mean", torch.as_tensor(np.asarray(obs_mean, np.float32)))
        self.register_buffer("obs_std", torch.as_tensor(np.asarray(obs_std, np.float32)))
        for name, value in (("action_scale", (high - low) / 2.0), ("action_bias", (high + low) / 2.0),
                            ("action_low", low), ("action_high", high)):
            self.register_buffer(name, torch.as_tensor(value), persistent=False)

    def unit_actions(self, obs: np.ndarray, deterministic: bool) -> torch.Tensor:
        """Actions in [-1, 1] for NumPy observations (no graph)."""
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=self.obs_mean.device).reshape(len(obs), -1)
        x = (x - self.obs_mean) / self.obs_std
        if deterministic or self.actor.kind == "deterministic":
            unit = self.actor.mode(x)
            if not deterministic and self.exploration_noise > 0:
                unit = (unit + self.exploration_noise * torch.randn_like(unit)).clamp_(-1.0, 1.0)
            return unit
        return self.actor.distribution(x).sample()

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        with torch.inference_mode():
            unit = self.unit_actions(obs, deterministic)
            actions = unit.mul(self.action_scale).add_(self.action_bias)
            actions = torch.minimum(torch.maximum(actions, self.action_low), self.action_high)
            return actions.numpy(force=True).reshape(len(obs), *self.action_shape)

    def export_module(self) -> nn.Module:
        """Standardise, tanh of the mean, rescale to the bounds, clip (`rlforge export`)."""
        from rlforge.export import blocks

        return nn.Sequential(nn.Flatten(), blocks.Standardize(self.obs_mean, self.obs_std), self.actor.export_head(),
                             blocks.ToBounds(self.action_scale, self.action_bias),
                             blocks.Clip(self.action_low, self.action_high), blocks.ActionShape(self.action_shape))
