"""Implicit Q-learning (Kostrikov et al. 2021, arXiv:2110.06169) for Box actions: from a dataset,
fully offline or offline-to-online.

One gradient step, on a batch from the dataset (plus what was collected online):
  value    mean |tau - 1(u < 0)| u^2,  u = min_i Q'_i(s, a) - V(s)          tau = expectile
  critics  MSE(Q_i(s, a), r + gamma * (1 - terminated) * V(s'))             no action is sampled
  actor    -mean[ min(exp(A / temperature), max_weight) * log pi(a|s) ],  A = min_i Q'_i(s, a) - V(s)
  target   Polyak averaging of the critics (tau)
V(s') and A use V before this step's value update (as CORL's PyTorch port; the authors' JAX
code evaluates V again after it, one learning-rate step apart). The IQL paper's
exp(beta * A) is exp(A / temperature): beta 3 is temperature 1/3. The actor's learning rate
decays along a cosine to 0 over a wholly offline run (actor_lr_schedule: cosine, as the paper;
constant when offline_steps is set, as the authors' fine-tuning),
and rewards are scaled by 1000 / (the dataset's return range) (reward_normalization:
return_range, the paper's D4RL locomotion setting). The agent acts with the actor's mean in
evaluation and samples it while collecting online.
"""

from __future__ import annotations

import math

import torch

from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, make_adam, maybe_compile, mlp, optimizer_state

from rlforge_offline.advantage import advantage_weights, bootstrap_target, expectile_loss
from rlforge_offline.box_agent import (common_state, device_of, load_common_state, offline_basics, run_updates,
                                       stochastic_actor_and_critics)
from rlforge_offline.compiled_steps import iql_step


def cosine_lr(base: float, done: int, total: int) -> float:
    """base * (1 + cos(pi * done / total)) / 2, 0 from `total` on (torch's CosineAnnealingLR)."""
    if total <= 0 or done >= total:
        return 0.0 if total > 0 else base
    return base * 0.5 * (1.0 + math.cos(math.pi * done / total))


class BoxIQLAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        super().__init__(config, observation_space, action_space, num_envs, device_of(device))
        offline_basics(self, "iql")
        cfg = config
        stochastic_actor_and_critics(self, cfg.actor)
        self.value = mlp(self.obs_dim, list(cfg.value_hidden), 1, cfg.activation).to(self.device)
        self.value_optimizer = make_adam(self.value.parameters(), cfg.value_lr)
        self.actor_optimizer = make_adam(self.actor.parameters(), cfg.actor_lr)
        self.optimizers = {"critic": self.critics.optimizer, "value": self.value_optimizer, "actor": self.actor_optimizer}
        self._actor_lr = torch.zeros((), device=self.device)  # the metric, refilled each step (no host sync)
        self._compiled_step = None  # compile_update: built at the first step, on the optimisers' state of then

    def observe(self, batch: Transitions) -> None:
        self.data.observe(batch)

    def update(self, progress: Progress) -> dict[str, float]:
        return run_updates(self, progress)

    def evaluation_metrics(self, result) -> dict[str, float]:
        return self.data.evaluation_metrics(result.returns)

    def actor_learning_rate(self, progress: Progress | None) -> float:
        """The actor's learning rate at this gradient step: with the cosine schedule, decaying over
        a wholly offline run's total_steps (the paper's max_steps); constant where the run goes
        online (the authors' fine-tuning runs do not decay it)."""
        cfg = self.config
        if cfg.actor_lr_schedule == "constant" or progress is None or self.offline_steps is not None:
            return cfg.actor_lr
        return cosine_lr(cfg.actor_lr, self.gradient_steps, progress.total_steps)

    def gradient_step(self, batch: dict[str, torch.Tensor], progress: Progress | None = None) -> dict[str, torch.Tensor]:
        cfg = self.config
        if cfg.compile_update:
            return self._compiled_gradient_step(batch, progress)
        obs, actions = batch["obs"], batch["actions"]
        q_target = self.critics.target_q(obs, actions).amin(0)  # [B]
        with torch.no_grad():
            next_v = self.value(batch["next_obs"]).squeeze(-1)

        v = self.value(obs).squeeze(-1)
        advantage = q_target - v.detach()
        value_loss = expectile_loss(q_target - v, cfg.expectile)
        self.value_optimizer.zero_grad(set_to_none=True)
        value_loss.backward()
        self.value_optimizer.step()

        target = bootstrap_target(batch["rewards"], batch["terminated"], cfg.gamma, next_v)
        q = self.critics(obs, actions)
        critic_loss = (q - target).pow(2).mean(-1)
        self.critics.optimizer.zero_grad(set_to_none=True)
        critic_loss.sum().backward()
        self.critics.optimizer.step()
        self.critics.update_target()

        weights = advantage_weights(advantage, cfg.temperature, cfg.max_weight)
        actor_loss = -(weights * self.actor.distribution(obs).log_prob(actions)).mean()
        lr = self._set_actor_learning_rate(progress)
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optimizer.step()
        return {"losses/critic": critic_loss.detach().mean(), "losses/value": value_loss.detach(),
                "losses/actor": actor_loss.detach(), "charts/q_mean": q.detach().mean(),
                "charts/value_mean": v.detach().mean(), "charts/advantage_mean": advantage.mean(),
                "charts/weight_mean": weights.mean(), "charts/weight_max": weights.max(),
                "charts/actor_lr": self._actor_lr.fill_(lr)}

    def _set_actor_learning_rate(self, progress: Progress | None) -> float:
        """This step's actor learning rate, into the optimiser (which checkpoints it)."""
        lr = self.actor_learning_rate(progress)
        for group in self.actor_optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _compiled_gradient_step(self, batch: dict[str, torch.Tensor], progress: Progress | None) -> dict[str, torch.Tensor]:
        """compile_update: the whole step as one graph; the learning rate goes in as a tensor."""
        if self._compiled_step is None:
            self._compiled_step = maybe_compile(iql_step(self), True)
        self._actor_lr.fill_(self._set_actor_learning_rate(progress))
        return {**self._compiled_step(batch, self._actor_lr), "charts/actor_lr": self._actor_lr}

    def state_dict(self) -> dict:
        return {**common_state(self), "critics": self.critics.state_dict(), "value": self.value.state_dict(),
                "value_optimizer": optimizer_state(self.value_optimizer),
                "actor_optimizer": optimizer_state(self.actor_optimizer)}

    def load_state_dict(self, state: dict) -> None:
        load_common_state(self, state)
        self.critics.load_state_dict(state["critics"])
        self.value.load_state_dict(state["value"])
        load_optimizer_state(self.value_optimizer, state["value_optimizer"])
        load_optimizer_state(self.actor_optimizer, state["actor_optimizer"])
        self._compiled_step = None  # the optimisers' state tensors were replaced
