"""Advantage-weighted actor-critic (Nair et al. 2020) for discrete actions, as in CS285 hw5:
from a dataset, fully offline or offline-to-online.

One gradient step, on a batch from the dataset (plus what was collected online):
  critic  MSE(Q(s, a), r + gamma * sum_a' pi(a'|s') Q_target(s', a'))   (hard target copies)
  actor   -mean[ exp(A(s, a) / temperature) * log pi(a|s) ],  A = Q(s, a) - sum_b pi(b|s) Q(s, b)
The advantage uses the critic's values from this step's forward pass, before its update (the
course evaluates them again after it: one learning-rate step apart), and pi's probabilities
from the actor's forward pass that its loss uses. The agent acts with the actor: its most
likely action in evaluation, a sample from pi while collecting online.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import resolve_device

from rlforge_offline.actor import ActorPolicy, CategoricalActor, entropy
from rlforge_offline.advantage import advantage_weights, awac_advantage, expected_q, policy_backup_target
from rlforge_offline.discrete import QCritic, check_spaces
from rlforge_offline.offline_data import LatestMetrics, OfflineData, numpy_fn


class AWACAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        obs_dim, num_actions = check_spaces("awac", observation_space, action_space)
        self.data = OfflineData("awac", cfg, observation_space, action_space, env_id, self.device)
        self.offline_steps = cfg.offline_steps
        self.steps_per_iteration = 1
        self.random_steps = 0

        self.critic = QCritic(obs_dim, num_actions, cfg.hidden, cfg.activation, cfg.lr, cfg.target_period,
                              cfg.max_grad_norm, self.device)
        self.actor = CategoricalActor(obs_dim, num_actions, cfg.actor_hidden, cfg.activation, cfg.actor_lr, self.device)
        self.policy = ActorPolicy(self.actor.net, num_actions, cfg.epsilon)
        self.optimizers = {"critic": self.critic.optimizer, "actor": self.actor.optimizer}  # where tools look
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
        """One critic step, then one actor step; returns their statistics as (detached) tensors."""
        cfg = self.config
        obs, actions = batch["obs"], batch["actions"]
        with torch.no_grad():
            next_obs = batch["next_obs"]
            target = policy_backup_target(batch["rewards"], batch["terminated"], cfg.gamma,
                                          self.critic.target(next_obs), self.actor.probs(next_obs))
        critic = self.critic.fit(obs, actions, target)

        logits = self.actor.net(obs)
        probs = torch.softmax(logits.detach(), dim=-1)
        advantages = awac_advantage(critic.q_all, actions, probs)
        weights = advantage_weights(advantages, cfg.temperature, cfg.max_weight)
        actor_loss = self.actor.fit(logits, actions, weights)

        values = {"losses/critic": critic.loss, "losses/actor": actor_loss, "charts/q_mean": critic.q_taken.mean(),
                  "charts/target_mean": target.mean(), "charts/value_mean": expected_q(critic.q_all, probs).mean(),
                  "charts/advantage_mean": advantages.mean(), "charts/weight_mean": weights.mean(),
                  "charts/weight_max": weights.max(), "charts/entropy": entropy(probs)}
        if critic.grad_norm is not None:
            values["charts/grad_norm"] = critic.grad_norm
        return values

    # ------------------------------------------------------------------ pictures

    def evaluation_images(self) -> dict[str, np.ndarray]:
        """On a Pointmass maze: the buffer's states, and V(s) = E_{a~pi} Q(s, a) over the cells."""
        def value(obs: torch.Tensor) -> torch.Tensor:
            return expected_q(self.critic.net(obs), torch.softmax(self.actor.net(obs), dim=-1))

        return self.data.images(numpy_fn(value, self.device))

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {"critic": self.critic.state_dict(), "actor": self.actor.state_dict(), "data": self.data.state_dict(),
                "metrics": self.latest.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.critic.load_state_dict(state["critic"])
        self.actor.load_state_dict(state["actor"])
        self.data.load_state_dict(state["data"])
        self.latest.load_state_dict(state["metrics"])
