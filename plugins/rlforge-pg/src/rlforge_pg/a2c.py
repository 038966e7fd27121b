"""Advantage actor-critic (A2C: the synchronous A3C of Mnih et al. 2016), as Stable-Baselines3's A2C.

Each iteration the engine collects `n_steps` steps of each of `num_envs` envs; `update`
makes one gradient step:

  1. values V(obs) and V(next_obs) from the critic;
  2. advantages: n-step returns (each row's discounted rewards up to the end of the rollout,
     bootstrapped there from V(next_obs)) minus V(obs), or GAE(lambda) with `gae_lambda`;
     truncations bootstrap from V(next_obs) (the true final observation), terminations not;
  3. loss = -mean(log pi(a|s) * A) - ent_coef * entropy + vf_coef * 0.5 * mean((V - R)^2), one
     optimiser over actor and critic; or with `separate_optimizers` one step of each on its
     own part (the critic's with `critic_lr`); gradient norms clipped to `max_grad_norm`.

With `normalize_obs` the policy holds the running observation statistics (saved with it and
used by `act`); a rollout is normalised with the statistics it was collected with, then they
are updated.
"""

from __future__ import annotations

import torch

from rlforge import returns as R
from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, optimizer_state
from rlforge_pg.common import (PGPolicy, adam, annealed, clip_grad, normalized, resolve, set_lr, value_loss,
                               value_net)


def make_optimizer(kind: str, params, lr: float) -> torch.optim.Optimizer:
    if kind == "rmsprop":
        return torch.optim.RMSprop(list(params), lr=lr, alpha=0.99, eps=1e-5, foreach=True)
    return adam(params, lr, eps=1e-5)


class A2CAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        device = resolve(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        self.steps_per_iteration = cfg.n_steps
        self.policy = PGPolicy(observation_space, action_space, cfg.hidden, cfg.activation, cfg.log_std_init,
                               cfg.normalize_obs, cfg.obs_clip, cfg.ortho_init).to(self.device)
        critic_hidden = cfg.hidden if cfg.critic_hidden is None else cfg.critic_hidden
        self.critic = value_net(self.policy.obs_dim, critic_hidden, cfg.activation, cfg.ortho_init).to(self.device)
        self._actor_params = list(self.policy.parameters())
        self._critic_params = list(self.critic.parameters())
        if cfg.separate_optimizers:
            self.optimizers = {
                "actor": make_optimizer(cfg.optimizer, self._actor_params, cfg.lr),
                "critic": make_optimizer(cfg.optimizer, self._critic_params, cfg.critic_lr or cfg.lr),
            }
        else:
            self.optimizers = {"shared": make_optimizer(cfg.optimizer, self._actor_params + self._critic_params, cfg.lr)}
        self._rollout = None
        self.updates = 0

    def observe(self, batch: Transitions) -> None:
        """Keep the rollout, normalised with the statistics it was collected with; then update them."""
        rollout = {"batch": batch, "obs": self.policy.features(batch.obs),
                   "next_obs": self.policy.features(batch.next_obs),
                   "actions": self.policy.action_tensor(batch.actions)}
        if self.policy.obs_rms is not None:
            self.policy.obs_rms.update(batch.obs.reshape(-1, self.policy.obs_dim))
        self._rollout = rollout

    def update(self, progress: Progress) -> dict[str, float]:
        cfg, rollout = self.config, self._rollout
        if rollout is None:
            return {}
        self._rollout = None
        batch = rollout["batch"]
        shape = batch.rewards.shape
        if cfg.anneal_lr:
            for name, optimizer in self.optimizers.items():
                base = (cfg.critic_lr or cfg.lr) if name == "critic" else cfg.lr
                set_lr(optimizer, annealed(base, progress, len(batch)))

        values = self.critic(rollout["obs"]).squeeze(-1)
        with torch.no_grad():
            next_values = self.critic(rollout["next_obs"]).reshape(shape).cpu().numpy()
        old_values = values.detach().reshape(shape).cpu().numpy()
        if cfg.gae_lambda is None:
            targets = R.reward_to_go(batch.rewards, batch.terminated, batch.truncated, cfg.gamma, next_values)
            advantages = targets - old_values
        else:
            advantages, targets = R.gae(batch.rewards, old_values, next_values, batch.terminated, batch.truncated,
                                        cfg.gamma, cfg.gae_lambda)
        advantages = torch.as_tensor(advantages.reshape(-1), device=self.device)
        targets = torch.as_tensor(targets.reshape(-1), device=self.device)
        if cfg.normalize_advantages:
            advantages = normalized(advantages, unbiased=True)

        log_prob, entropy = self.policy.log_prob(rollout["obs"], rollout["actions"])
        policy_loss = -(log_prob * advantages).mean()
        entropy_mean = entropy.mean()
        critic_loss = value_loss(values, targets)
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        if cfg.separate_optimizers:
            # The two losses touch disjoint parameters: one backward fills both gradients.
            (policy_loss - cfg.ent_coef * entropy_mean + critic_loss).backward()
            clip_grad(self._actor_params, cfg.max_grad_norm)
            clip_grad(self._critic_params, cfg.max_grad_norm)
        else:
            (policy_loss - cfg.ent_coef * entropy_mean + cfg.vf_coef * critic_loss).backward()
            clip_grad(self._actor_params + self._critic_params, cfg.max_grad_norm)
        for optimizer in self.optimizers.values():
            optimizer.step()
        self.updates += 1

        names = ["losses/policy", "losses/value", "charts/entropy"]
        values_out = [policy_loss.detach(), critic_loss.detach(), entropy_mean.detach()]
        if not self.policy.discrete:
            names.append("charts/std")
            values_out.append(self.policy.log_std.detach().exp().mean())
        metrics = dict(zip(names, torch.stack(values_out).tolist()))
        metrics["charts/learning_rate"] = next(iter(self.optimizers.values())).param_groups[0]["lr"]
        return metrics

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "critic": self.critic.state_dict(),
                "optimizers": {name: optimizer_state(o) for name, o in self.optimizers.items()},
                "counters": {"updates": self.updates}}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        for name, optimizer in self.optimizers.items():
            load_optimizer_state(optimizer, state["optimizers"][name])
        self.updates = int(state["counters"]["updates"])
