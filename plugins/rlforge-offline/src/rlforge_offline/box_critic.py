"""The critics of the Box-action offline agents: `num_critics` Q(s, a) MLPs as one batched
ensemble (one matrix product per layer for all of them), their target copy with Polyak updates,
and the lean fused Adam (rlforge.nn.make_adam); the core's shared pieces
(rlforge.actor_critic) do the work."""

from __future__ import annotations

import torch

from rlforge.actor_critic import critic_ensemble, q_values, set_requires_grad, soft_update
from rlforge.nn import load_optimizer_state, make_adam, optimizer_state


class Critics:
    def __init__(self, num_critics: int, obs_dim: int, act_dim: int, hidden, activation: str, lr: float, tau: float,
                 device: str | torch.device = "cpu"):
        self.net, self.target = critic_ensemble(num_critics, obs_dim, act_dim, hidden, activation, device)
        self.params = list(self.net.parameters())
        self._target_params = list(self.target.parameters())
        self.optimizer = make_adam(self.params, lr)
        self.tau = float(tau)

    def __call__(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Every critic's Q(obs, actions): [n_critics, *leading dims]."""
        return q_values(self.net, obs, actions)

    def target_q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Every target critic's Q(obs, actions), without a graph."""
        with torch.no_grad():
            return q_values(self.target, obs, actions)

    def frozen_q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(obs, actions) with gradients flowing to the actions only (an actor's loss)."""
        set_requires_grad(self.params, False)
        try:
            return q_values(self.net, obs, actions)
        finally:
            set_requires_grad(self.params, True)

    def update_target(self) -> None:
        soft_update(self._target_params, self.params, self.tau)

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "target": self.target.state_dict(),
                "optimizer": optimizer_state(self.optimizer)}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.target.load_state_dict(state["target"])
        load_optimizer_state(self.optimizer, state["optimizer"])
