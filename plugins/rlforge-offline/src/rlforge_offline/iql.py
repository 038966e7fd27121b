"""Implicit Q-learning (Kostrikov et al. 2021) for discrete actions, as in CS285 hw5: from a
dataset, fully offline or offline-to-online.

One gradient step, on a batch from the dataset (plus what was collected online), in the
course's order:
  critic  MSE(Q(s, a), r + gamma * V_target(s'))                      no maximum over actions
  value   mean |tau - 1(u < 0)| u^2,  u = Q_target(s, a) - V(s)       tau = expectile
  actor   -mean[ exp(A / temperature) * log pi(a|s) ],  A = Q_target(s, a) - V(s)
Q and V have target copies, both renewed every `target_period` gradient steps (the course
keeps a target value network too). The advantage uses V from the value step's forward pass,
before its update (the course evaluates it again after: one learning-rate step apart). The
weight is exp(A / temperature), the course's exp(A / lambda) (the IQL paper's exp(beta * A)
with beta = 1 / temperature). The agent acts with the actor: its most likely action in
evaluation, a sample from pi while collecting online.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import clip_grad_norm, load_optimizer_state, make_adam, mlp, optimizer_state, resolve_device

from rlforge_offline.actor import ActorPolicy, CategoricalActor, entropy
from rlforge_offline.advantage import advantage_weights, bootstrap_target, expectile_loss
from rlforge_offline.discrete import QCritic, check_spaces
from rlforge_offline.offline_data import LatestMetrics, OfflineData, numpy_fn


class ValueFunction:
    """V(s): an MLP with one output, its target copy and Adam (target copies are the caller's call)."""

    def __init__(self, obs_dim: int, hidden, activation: str, lr: float, max_grad_norm: float | None = None,
                 device: str | torch.device = "cpu"):
        self.net = mlp(int(obs_dim), list(hidden), 1, activation).to(device)
        self.target = mlp(int(obs_dim), list(hidden), 1, activation).to(device).requires_grad_(False)
        self.target.load_state_dict(self.net.state_dict())
        self.params = list(self.net.parameters())
        self._target_params = list(self.target.parameters())
        self.optimizer = make_adam(self.params, lr)
        self.max_grad_norm = max_grad_norm

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)

    def target_values(self, obs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.target(obs).squeeze(-1)

    def step(self, loss: torch.Tensor) -> torch.Tensor | None:
        """One gradient step on `loss`; the gradient's norm before clipping, where it is clipped."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = clip_grad_norm(self.params, self.max_grad_norm) if self.max_grad_norm else None
        self.optimizer.step()
        return grad_norm

    def copy_target(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._target_params, self.params)

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "target": self.target.state_dict(),
                "optimizer": optimizer_state(self.optimizer)}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.target.load_state_dict(state["target"])
        load_optimizer_state(self.optimizer, state["optimizer"])


class IQLAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        obs_dim, num_actions = check_spaces("iql", observation_space, action_space)
        self.data = OfflineData("iql", cfg, observation_space, action_space, env_id, self.device)
        self.offline_steps = cfg.offline_steps
        self.steps_per_iteration = 1
        self.random_steps = 0

        self.critic = QCritic(obs_dim, num_actions, cfg.hidden, cfg.activation, cfg.lr, cfg.target_period,
                              cfg.max_grad_norm, self.device)
        self.value = ValueFunction(obs_dim, cfg.value_hidden, cfg.activation, cfg.value_lr, cfg.max_grad_norm,
                                   self.device)
        self.actor = CategoricalActor(obs_dim, num_actions, cfg.actor_hidden, cfg.activation, cfg.actor_lr, self.device)
        self.policy = ActorPolicy(self.actor.net, num_actions, cfg.epsilon)
        self.optimizers = {"critic": self.critic.optimizer, "value": self.value.optimizer,  # where tools look
                           "actor": self.actor.optimizer}
        self.latest = LatestMetrics()

    # ------------------------------------------------------------------ experience

    def observe(self, batch: Transitions) -> None:
        self.data.observe(batch)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        for _ in range(self.data.steps_due(progress)):
            self.latest.values = self.gradient_step(self.data.sample(self.config.batch_size))
        return {**self.latest.floats(), **self.data.coverage_metrics()} if progress.metrics_due else {}

    def gradient_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One critic, one value and one actor step; returns their statistics as (detached) tensors."""
        cfg = self.config
        obs, actions = batch["obs"], batch["actions"]
        target = bootstrap_target(batch["rewards"], batch["terminated"], cfg.gamma,
                                  self.value.target_values(batch["next_obs"]))
        critic = self.critic.fit(obs, actions, target)

        with torch.no_grad():
            q_data = self.critic.target(obs).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        v = self.value(obs)
        value_loss = expectile_loss(q_data - v, cfg.expectile)
        value_grad_norm = self.value.step(value_loss)
        if self.critic.gradient_steps % self.critic.target_period == 0:  # with the critic's own copy
            self.value.copy_target()

        advantages = q_data - v.detach()
        weights = advantage_weights(advantages, cfg.temperature, cfg.max_weight)
        logits = self.actor.net(obs)
        actor_loss = self.actor.fit(logits, actions, weights)

        values = {"losses/critic": critic.loss, "losses/value": value_loss.detach(), "losses/actor": actor_loss,
                  "charts/q_mean": critic.q_taken.mean(), "charts/target_mean": target.mean(),
                  "charts/value_mean": v.detach().mean(), "charts/advantage_mean": advantages.mean(),
                  "charts/weight_mean": weights.mean(), "charts/weight_max": weights.max(),
                  "charts/entropy": entropy(torch.softmax(logits.detach(), dim=-1))}
        if critic.grad_norm is not None:
            values["charts/grad_norm"] = critic.grad_norm
            values["charts/value_grad_norm"] = value_grad_norm
        return values

    # ------------------------------------------------------------------ pictures

    def evaluation_images(self) -> dict[str, np.ndarray]:
        """On a Pointmass maze: the buffer's states, and the value network V(s) over the cells."""
        return self.data.images(numpy_fn(self.value, self.device))

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {"critic": self.critic.state_dict(), "value": self.value.state_dict(), "actor": self.actor.state_dict(),
                "data": self.data.state_dict(), "metrics": self.latest.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.critic.load_state_dict(state["critic"])
        self.value.load_state_dict(state["value"])
        self.actor.load_state_dict(state["actor"])
        self.data.load_state_dict(state["data"])
        self.latest.load_state_dict(state["metrics"])
