"""CrossQ (Bhatt et al., ICLR 2024): SAC without target networks, made stable by batch
renormalisation in the critics (and the actor) and one joint critic forward.

The critic's target needs Q(s', a'). SAC takes it from a slowly moving target network; CrossQ
takes it from the live critic, in the same forward pass as Q(s, a): the batch of (s, a) rows
and the batch of (s', a') rows are concatenated, so the batch statistics of every
normalisation layer cover both distributions (normalised with the statistics of (s, a) alone,
the (s', a') rows would be out of distribution). The target is then treated as a constant.

Outside an update every normalisation layer is in evaluation mode (running statistics): when
acting, when sampling a' for the target, and in the critic's forward of the actor's loss, as
in the reference implementation (SBX). Actor and critics are Adam with beta1 0.5, the actor
steps once every `policy_delay` critic steps. The rest is SAC's: a tanh-squashed Gaussian
actor (rlforge_sac.agent.SACPolicy over a batch-renormalised network), a clipped double-Q
target with an entropy bonus, the temperature tuned towards -dim(A).
"""

from __future__ import annotations

import torch

from rlforge.actor_critic import (actor_and_temperature_step, as_floats, bellman_target, critic_step, critic_steps,
                                  critic_steps_due, entropy_agent_state, entropy_temperature, load_entropy_agent_state,
                                  off_policy_basics, q_values, set_requires_grad)
from rlforge.agent import Agent, Progress, Transitions
from rlforge.batch_renorm import renorm_layers, renorm_mlp, updating_statistics
from rlforge.nn import make_adam, resolve_device
from rlforge_sac.agent import SACPolicy


ACTOR_TAGS = {"actor": "losses/actor", "entropy": "charts/entropy", "temperature": "losses/temperature"}


def joint_q_values(critic: torch.nn.Module, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor,
                   next_actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Q(s, a) and Q(s', a') [n_critics, B] each, from one forward of the concatenated batch
    (with the critic's normalisation layers in whatever mode the caller set)."""
    both = q_values(critic, torch.cat((obs, next_obs)), torch.cat((actions, next_actions)))
    return both.split(obs.shape[0], dim=-1)


class CrossQAgent(Agent):
    """CrossQ over a replay buffer; one critic step per env step, an actor step every `policy_delay`."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        off_policy_basics(self, "CrossQ")  # spaces, dimensions, replay buffer, counters
        cfg = config

        renorm = dict(momentum=cfg.bn_momentum, eps=cfg.bn_eps, warmup_steps=cfg.bn_warmup_steps,
                      r_max=cfg.bn_r_max, d_max=cfg.bn_d_max)
        actor_net = (renorm_mlp(self.obs_dim, list(cfg.actor_hidden), 2 * self.act_dim, cfg.activation, **renorm)
                     if cfg.actor_batch_renorm else None)
        self.policy = SACPolicy(self.obs_dim, action_space, cfg.actor_hidden, cfg.activation, cfg.log_std_min,
                                cfg.log_std_max, net=actor_net).to(self.device)
        self.critic = renorm_mlp(self.obs_dim + self.act_dim, list(cfg.critic_hidden), 1, cfg.activation,
                                 members=cfg.num_critics, **renorm).to(self.device)
        self._critic_params = list(self.critic.parameters())
        self._actor_renorm = renorm_layers(self.policy)
        self._critic_renorm = renorm_layers(self.critic)

        self.log_temperature, self.target_entropy = entropy_temperature(cfg, self.act_dim, self.device)
        betas = (cfg.adam_beta1, 0.999)
        self.actor_optimizer = make_adam(self.policy.parameters(), cfg.actor_lr, betas=betas)
        self.critic_optimizer = make_adam(self._critic_params, cfg.critic_lr, betas=betas)
        self.temperature_optimizer = make_adam([self.log_temperature], cfg.temperature_lr) if cfg.auto_temperature else None
        # the last actor step's metrics, reported until the next one (the actor steps every policy_delay)
        self._actor_metrics: dict[str, torch.Tensor] = {}

    def observe(self, batch: Transitions) -> None:
        """Store the batch; actions are mapped from the env's bounds to [-1, 1]."""
        self.unit_actions.store(self.buffer, batch)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        steps = critic_steps_due(self, progress)
        if steps == 0:
            return {}
        critic_loss, q_mean = critic_steps(self._update_critic, self.buffer, self.config.batch_size, steps, self._delayed_step)
        if not progress.metrics_due:  # the losses stay tensors: no float conversion (a GPU sync)
            return {}
        return as_floats({"losses/critic": critic_loss, "charts/q_mean": q_mean,
                          "charts/temperature": self.log_temperature.detach().exp(),
                          **{ACTOR_TAGS[name]: value for name, value in self._actor_metrics.items()}})

    def _delayed_step(self, batch: dict[str, torch.Tensor]) -> None:
        """Every policy_delay-th critic step: the actor and the temperature."""
        if self.critic_updates % self.config.policy_delay == 0:
            self._actor_metrics = self._update_actor(batch["obs"])

    def critic_losses(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each critic's MSE to the soft Bellman target [n_critics], and Q(s, a) [n_critics, B];
        updates the critics' running statistics (one training forward)."""
        cfg = self.config
        alpha = self.log_temperature.detach().exp()
        with torch.no_grad():  # a' ~ pi(.|s') with the actor's running statistics
            next_actions, next_log_prob = self.policy.distribution(batch["next_obs"]).rsample_with_log_prob()
        with updating_statistics(self._critic_renorm):
            q, next_q = joint_q_values(self.critic, batch["obs"], batch["actions"], batch["next_obs"], next_actions)
        with torch.no_grad():
            target = bellman_target(batch["rewards"], batch["terminated"], cfg.gamma,
                                    next_q.amin(0) - alpha * next_log_prob)
        return (q - target).pow(2).mean(-1), q

    def _update_critic(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        loss, q_mean = critic_step(self.critic_optimizer, *self.critic_losses(batch))
        self.critic_updates += 1
        return loss, q_mean

    def _update_actor(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        alpha = self.log_temperature.detach().exp()
        with updating_statistics(self._actor_renorm):
            actions, log_prob = self.policy.distribution(obs).rsample_with_log_prob()
        set_requires_grad(self._critic_params, False)  # gradients flow through the critic to the actions only
        q = q_values(self.critic, obs, actions).amin(0)  # the critics' running statistics
        set_requires_grad(self._critic_params, True)
        loss = (alpha * log_prob - q).mean()
        mean_log_prob = log_prob.detach().mean()
        temperature_loss = actor_and_temperature_step(loss, mean_log_prob, self.log_temperature, self.target_entropy,
                                                      self.actor_optimizer, self.temperature_optimizer)
        self.actor_updates += 1
        metrics = {"actor": loss.detach(), "entropy": -mean_log_prob}
        if temperature_loss is not None:
            metrics["temperature"] = temperature_loss
        return metrics

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        # the normalisation layers' running statistics and step counts are buffers of actor and critic
        return {**entropy_agent_state(self),
                "last_actor_metrics": {name: value.clone() for name, value in self._actor_metrics.items()}}

    def load_state_dict(self, state: dict) -> None:
        load_entropy_agent_state(self, state)
        self._actor_metrics = {name: torch.as_tensor(value) for name, value in state["last_actor_metrics"].items()}
