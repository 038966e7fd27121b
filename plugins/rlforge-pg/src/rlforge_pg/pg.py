"""REINFORCE, the vanilla policy gradient, with every option of the CS285 (fall 2023) hw2.

Each iteration the engine collects `batch_size` env steps (batch_size / num_envs per env),
then `update` does, as the homework's PGAgent.update:

  1. Q estimates: the discounted return of the whole episode (default) or the reward-to-go
     (`reward_to_go`), from rlforge.returns;
  2. advantages: Q, or Q - V(s) with a baseline (`use_baseline`), or GAE(lambda) with the
     baseline's values (`gae_lambda`); standardised with `normalize_advantages`;
  3. one policy gradient step on -mean(log pi(a|s) * A) (Adam, `lr`);
  4. `baseline_gradient_steps` full-batch steps of the baseline on mean((V(s) - Q)^2).

Where the engine's batch differs from the homework's list of whole trajectories: episodes
do not stop at the batch's edges, and a time limit is a truncation, not a termination.
Without a baseline there is no value to bootstrap from, so a return simply stops at a
truncation and at the batch's end (the homework treats the time limit the same way; its
batches hold whole episodes, so it has no batch end). With a baseline the return is
bootstrapped there from V(next_obs), the true final observation; a termination never is.
For an episode that began in the previous batch, "the whole episode's return" is that of its
part in this batch (the rewards before it cannot depend on this batch's actions anyway).
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge import returns as R
from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, optimizer_state
from rlforge_pg.common import (PGPolicy, adam, clip_grad, normalized, resolve, value_net)


class PGAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        device = resolve(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        if cfg.batch_size % num_envs:
            raise ValueError(f"batch_size ({cfg.batch_size}) must be a multiple of num_envs ({num_envs}): "
                             "each env collects batch_size / num_envs steps per iteration")
        self.steps_per_iteration = cfg.batch_size // num_envs
        self.policy = PGPolicy(observation_space, action_space, cfg.hidden, cfg.activation,
                               cfg.log_std_init).to(self.device)
        self.optimizer = adam(self.policy.parameters(), cfg.lr)
        self.baseline = self.baseline_optimizer = None
        if cfg.use_baseline:
            hidden = cfg.hidden if cfg.baseline_hidden is None else cfg.baseline_hidden
            self.baseline = value_net(self.policy.obs_dim, hidden, cfg.activation).to(self.device)
            self.baseline_optimizer = adam(self.baseline.parameters(), cfg.baseline_lr)
        self._batch: Transitions | None = None
        self.updates = 0

    def observe(self, batch: Transitions) -> None:
        self._batch = batch

    def _values(self, obs: torch.Tensor, shape) -> np.ndarray:
        with torch.no_grad():
            return self.baseline(obs).reshape(shape).cpu().numpy()

    def update(self, progress: Progress) -> dict[str, float]:
        cfg, batch = self.config, self._batch
        if batch is None:
            return {}
        self._batch = None
        shape = batch.rewards.shape  # [T, num_envs]
        obs = self.policy.features(batch.obs)
        actions = self.policy.action_tensor(batch.actions)
        values = next_values = None
        if self.baseline is not None:
            values = self._values(obs, shape)
            next_values = self._values(self.policy.features(batch.next_obs), shape)

        estimate = R.reward_to_go if cfg.reward_to_go else R.trajectory_returns
        q_values = estimate(batch.rewards, batch.terminated, batch.truncated, cfg.gamma, next_values)
        if cfg.gae_lambda is not None:
            advantages, _ = R.gae(batch.rewards, values, next_values, batch.terminated, batch.truncated,
                                  cfg.gamma, cfg.gae_lambda)
        elif values is not None:
            advantages = q_values - values
        else:
            advantages = q_values
        advantages = torch.as_tensor(advantages.reshape(-1), device=self.device)
        if cfg.normalize_advantages:
            advantages = normalized(advantages)

        log_prob, entropy = self.policy.log_prob(obs, actions)
        actor_loss = -(log_prob * advantages).mean()
        self.optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        clip_grad(list(self.policy.parameters()), cfg.max_grad_norm)
        self.optimizer.step()
        self.updates += 1

        metrics = {"losses/actor": actor_loss.detach(), "charts/entropy": entropy.detach().mean()}
        if self.baseline is not None and cfg.baseline_gradient_steps > 0:
            targets = torch.as_tensor(q_values.reshape(-1), device=self.device)
            for _ in range(cfg.baseline_gradient_steps):
                baseline_loss = (self.baseline(obs).squeeze(-1) - targets).pow(2).mean()
                self.baseline_optimizer.zero_grad(set_to_none=True)
                baseline_loss.backward()
                self.baseline_optimizer.step()
            metrics["losses/baseline"] = baseline_loss.detach()
        if not self.policy.discrete:
            metrics["charts/std"] = self.policy.log_std.detach().exp().mean()
        names = list(metrics)
        return dict(zip(names, torch.stack([metrics[n].float() for n in names]).tolist()))

    def state_dict(self) -> dict:
        state = {"policy": self.policy.state_dict(), "optimizer": optimizer_state(self.optimizer),
                 "counters": {"updates": self.updates}}
        if self.baseline is not None:
            state["baseline"] = self.baseline.state_dict()
            state["baseline_optimizer"] = optimizer_state(self.baseline_optimizer)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        if self.baseline is not None:
            self.baseline.load_state_dict(state["baseline"])
            load_optimizer_state(self.baseline_optimizer, state["baseline_optimizer"])
        self.updates = int(state["counters"]["updates"])
