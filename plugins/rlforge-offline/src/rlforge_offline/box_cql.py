"""Conservative Q-learning (Kumar et al. 2020, arXiv:2006.04779) for Box actions, over SAC: from a
dataset, fully offline or offline-to-online; with the Lagrange variant and Cal-QL's calibration
(Nakamoto et al. 2023, arXiv:2303.05479) as options.

One gradient step, on a batch from the dataset (plus what was collected online):
  critics  MSE(Q_i(s, a), r + gamma * (1 - terminated) * min_j Q'_j(s', a')), a' ~ pi(.|s')
           (minus temperature * log pi(a'|s') with backup_entropy)
           + penalty_i: cql_alpha * (soft max_i(s) - Q_i(s, a_data)), the soft maximum over
           cql_actions actions from each of U[-1, 1]^d, pi(.|s) and pi(.|s'), importance-weighted
           (rlforge_offline.box_losses); all sampled actions valued in one ensemble forward
  Lagrange (cql_lagrange)  the penalty becomes alpha' * cql_alpha * (gap - cql_target_action_gap),
           alpha' >= 0 tuned (Adam, the critics' learning rate) to hold the gap near its target
  Cal-QL (calibrated)      the policy's sampled values are bounded below by the data's
           Monte-Carlo return-to-go inside the soft maximum
  target   Polyak averaging of the critics (tau)
  actor    SAC's: mean(temperature * log pi(a|s) - min_i Q_i(s, a)), a ~ pi(.|s) reparametrised
           (the first bc_steps: the data actions' log-likelihood instead of Q), and the entropy
           temperature tuned towards -dim(A)
After `offline_steps` the agent collects by sampling its actor, with the penalty weighted by
`online_cql_alpha` if set.
"""

from __future__ import annotations

import torch

from rlforge.actor_critic import actor_and_temperature_step, bellman_target, entropy_temperature
from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, make_adam, optimizer_state

from rlforge_offline.box_agent import (common_state, device_of, load_common_state, offline_basics, run_updates,
                                       stochastic_actor_and_critics)
from rlforge_offline.box_losses import cql_gap, cql_penalty, cql_soft_maximum, lagrange_multiplier


class BoxCQLAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        super().__init__(config, observation_space, action_space, num_envs, device_of(device))
        cfg = config
        offline_basics(self, "cql", mc_returns=cfg.calibrated)
        stochastic_actor_and_critics(self, "tanh_gaussian")
        self.log_temperature, self.target_entropy = entropy_temperature(cfg, self.act_dim, self.device)
        self.actor_optimizer = make_adam(self.actor.parameters(), cfg.actor_lr)
        self.temperature_optimizer = make_adam([self.log_temperature], cfg.temperature_lr) if cfg.auto_temperature else None
        self.log_multiplier = torch.zeros((), device=self.device, requires_grad=cfg.cql_lagrange)
        self.multiplier_optimizer = make_adam([self.log_multiplier], cfg.lr) if cfg.cql_lagrange else None
        self.optimizers = {"critic": self.critics.optimizer, "actor": self.actor_optimizer,
                           "temperature": self.temperature_optimizer, "multiplier": self.multiplier_optimizer}

    def observe(self, batch: Transitions) -> None:
        self.data.observe(batch)

    def update(self, progress: Progress) -> dict[str, float]:
        return run_updates(self, progress)

    def evaluation_metrics(self, result) -> dict[str, float]:
        return self.data.evaluation_metrics(result.returns)

    def penalty_weight(self, progress: Progress | None) -> float:
        cfg = self.config
        online = progress is not None and not progress.offline
        return cfg.online_cql_alpha if online and cfg.online_cql_alpha is not None else cfg.cql_alpha

    # ------------------------------------------------------------------ learning

    def gradient_step(self, batch: dict[str, torch.Tensor], progress: Progress | None = None) -> dict[str, torch.Tensor]:
        critic = self._critic_step(batch, self.penalty_weight(progress))
        self.critics.update_target()
        return {**critic, **self._actor_step(batch["obs"], batch["actions"])}

    def critic_target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        cfg = self.config
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.distribution(batch["next_obs"]).rsample_with_log_prob()
            next_value = self.critics.target_q(batch["next_obs"], next_actions).amin(0)
            if cfg.backup_entropy:
                next_value = next_value - self.log_temperature.exp() * next_log_prob
            return bellman_target(batch["rewards"], batch["terminated"], cfg.gamma, next_value)

    def sampled_actions(self, obs: torch.Tensor, next_obs: torch.Tensor):
        """cql_actions actions per state from U[-1, 1]^d, pi(.|s) and pi(.|s'), [3N, B, A], and the
        policy's log-probabilities [N, B] of its two sets (no graph)."""
        n = self.config.cql_actions
        with torch.no_grad():
            uniform = torch.rand((n, *obs.shape[:-1], self.act_dim), device=obs.device).mul_(2.0).sub_(1.0)
            policy, log_prob = self.actor.distribution(obs).rsample_with_log_prob((n,))
            next_policy, next_log_prob = self.actor.distribution(next_obs).rsample_with_log_prob((n,))
        return torch.cat((uniform, policy, next_policy)), log_prob, next_log_prob

    def _critic_step(self, batch: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
        cfg = self.config
        obs, actions = batch["obs"], batch["actions"]
        target = self.critic_target(batch)
        q = self.critics(obs, actions)  # [n_critics, B]
        td = (q - target).pow(2).mean(-1)
        values = {"losses/td": td.detach().mean(), "charts/q_mean": q.detach().mean(), "charts/target_mean": target.mean()}
        loss, multiplier_loss = td.sum(), None
        if alpha > 0:
            sampled, log_prob, next_log_prob = self.sampled_actions(obs, batch["next_obs"])
            n = cfg.cql_actions
            q_sampled = self.critics(obs.expand(3 * n, *obs.shape), sampled)  # [n_critics, 3N, B]: one forward
            bound = batch["mc_returns"] if cfg.calibrated else None
            soft_max = cql_soft_maximum(q_sampled[:, :n], q_sampled[:, n:2 * n], q_sampled[:, 2 * n:], log_prob,
                                        next_log_prob, self.act_dim, cfg.cql_temperature, bound)
            gap = cql_gap(soft_max, q)
            multiplier = lagrange_multiplier(self.log_multiplier) if cfg.cql_lagrange else None
            penalty, multiplier_loss = cql_penalty(gap, alpha, multiplier, cfg.cql_target_action_gap)
            loss = loss + penalty.sum()
            values.update({"losses/cql_penalty": penalty.detach().mean(), "charts/cql_gap": gap.detach().mean(),
                           "charts/ood_q_mean": soft_max.detach().mean()})
            if multiplier is not None:
                values["charts/cql_multiplier"] = multiplier.detach()
            if bound is not None:  # how often the bound lifted a sampled Q-value
                values["charts/calibration_rate"] = (q_sampled[:, n:].detach() < bound).float().mean()
        self.critics.optimizer.zero_grad(set_to_none=True)
        if multiplier_loss is not None:
            self.multiplier_optimizer.zero_grad(set_to_none=True)
            loss = loss + multiplier_loss
        loss.backward()
        self.critics.optimizer.step()
        if multiplier_loss is not None:
            self.multiplier_optimizer.step()
        values["losses/critic"] = (loss - multiplier_loss if multiplier_loss is not None else loss).detach() / len(q)
        return values

    def _actor_step(self, obs: torch.Tensor, data_actions: torch.Tensor) -> dict[str, torch.Tensor]:
        temperature = self.log_temperature.detach().exp()
        dist = self.actor.distribution(obs)
        actions, log_prob = dist.rsample_with_log_prob()
        if self.gradient_steps < self.config.bc_steps:  # behaviour cloning warm-up
            value = dist.log_prob(data_actions)
        else:
            value = self.critics.frozen_q(obs, actions).amin(0)
        loss = (temperature * log_prob - value).mean()
        temperature_loss = actor_and_temperature_step(loss, log_prob.detach().mean(), self.log_temperature,
                                                      self.target_entropy, self.actor_optimizer,
                                                      self.temperature_optimizer)
        values = {"losses/actor": loss.detach(), "charts/entropy": -log_prob.detach().mean(),
                  "charts/temperature": temperature}
        if temperature_loss is not None:
            values["losses/temperature"] = temperature_loss
        return values

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        optimizers = {name: optimizer_state(opt) for name, opt in self.optimizers.items()
                      if opt is not None and name != "critic"}  # the critics' is in theirs
        return {**common_state(self), "critics": self.critics.state_dict(), "optimizers": optimizers,
                "log_temperature": self.log_temperature.detach().clone(),
                "log_multiplier": self.log_multiplier.detach().clone()}

    def load_state_dict(self, state: dict) -> None:
        load_common_state(self, state)
        self.critics.load_state_dict(state["critics"])
        for name, opt in self.optimizers.items():
            if opt is not None and name != "critic":
                load_optimizer_state(opt, state["optimizers"][name])
        with torch.no_grad():
            self.log_temperature.copy_(torch.as_tensor(state["log_temperature"]))
            self.log_multiplier.copy_(torch.as_tensor(state["log_multiplier"]))
