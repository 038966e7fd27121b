"""bc-sac: imitation-seeded SAC.

  1. At the first update the actor is fitted to the expert data by behaviour cloning
     (`bc_steps` steps: squared error of its tanh mean to the expert's action, scaled into
     [-1, 1], plus its log std pulled to `bc_log_std`, a small exploration noise).
     The very first env step is taken before this, by the freshly initialised actor.
  2. Until `learning_starts` env steps the cloned actor collects (no random actions by
     default); then the critics are fitted (`critic_fit_steps`) to the discounted returns of
     those trajectories (Monte-Carlo, reset at episode ends; an unfinished tail counts what it
     has; entropy bonuses are not included), and the target critics copied from them.
  3. For `actor_delay` more env steps only the critics train (SAC backups, actor frozen), so
     they learn the cloned actor's soft Q-values around its own actions first.
  4. SAC trains on. In each iteration, with probability refit_prob * 0.5^(step/refit_halflife)
     (drawn from the agent's seeded generator), the actor's step is a behaviour-cloning step on
     an expert minibatch instead of the SAC actor step; the critics update as usual.
  5. Every SAC actor loss also holds a behaviour-cloning term on an expert minibatch, weighted
     bc_weight * mean|Q| * 0.5^(step/refit_halflife) (TD3+BC's normalisation: the weight is
     relative to the scale of the Q-values, whatever the env's reward scale). Without it the
     actor follows the critics' gradient towards actions they have never seen (they were fitted
     on the cloned actor's narrow data) and the return collapses within a thousand steps.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Progress, Transitions
from rlforge.errors import RLForgeError
from rlforge.nn import load_optimizer_state, make_adam, optimizer_state
from rlforge_sac.agent import SACAgent, q_values

from rlforge_imitation.datasets import load_dataset


def discounted_returns(rewards: np.ndarray, ends: np.ndarray, gamma: float) -> np.ndarray:
    """Discounted return from each step to its episode's end, [T, envs] time-major; an episode
    still running at the end of the data counts the rewards it has."""
    returns = np.zeros(rewards.shape, dtype=np.float64)
    running = np.zeros(rewards.shape[1:])
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running * (1.0 - ends[t])
        returns[t] = running
    return returns


class BCSACAgent(SACAgent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        super().__init__(config, observation_space, action_space, num_envs, device)
        data = load_dataset(config.dataset).first_episodes(config.dataset_episodes)
        if data.obs.reshape(len(data), -1).shape[1] != self.obs_dim or data.actions.reshape(len(data), -1).shape[1] != self.act_dim:
            raise RLForgeError(f"dataset {config.dataset!r} holds observations {data.obs.shape[1:]} and actions "
                               f"{data.actions.shape[1:]}; the env has {observation_space.shape} and {action_space.shape}")
        self.expert_obs = torch.as_tensor(data.obs.reshape(len(data), -1), dtype=torch.float32, device=self.device)
        scaled = (data.actions.reshape(len(data), -1) - self._np_bias) / self._np_scale
        self.expert_actions = torch.as_tensor(np.clip(scaled, -1.0, 1.0), dtype=torch.float32, device=self.device)
        self.bc_optimizer = make_adam(self.policy.parameters(), config.bc_lr)
        self.rng = np.random.default_rng([int(torch.initial_seed()) % 2**63, 1])
        self.cloned = False
        self.critics_fitted = config.critic_fit_steps == 0
        self.warmup: list[Transitions] = []  # scaled rows collected before learning_starts
        self.refits = 0
        self.step = 0
        self.last_metrics: dict[str, float] = {}

    def observe(self, batch: Transitions) -> None:
        super().observe(batch)
        if not self.critics_fitted:
            lead = batch.rewards.shape
            actions = np.clip((batch.actions.reshape(*lead, -1) - self._np_bias) / self._np_scale, -1, 1)
            self.warmup.append(Transitions(batch.obs.reshape(*lead, -1).astype(np.float32), actions.astype(np.float32),
                                           batch.rewards, batch.next_obs.reshape(*lead, -1).astype(np.float32),
                                           batch.terminated, batch.truncated))

    # ------------------------------------------------------------------ imitation

    def bc_error(self, with_log_std: bool = True) -> torch.Tensor:
        """Squared error of the actor's tanh mean to the expert's actions on an expert minibatch
        (plus its log std's distance to bc_log_std when fitting the exploration noise too)."""
        idx = torch.as_tensor(self.rng.integers(0, len(self.expert_obs), size=self.config.bc_batch_size), device=self.device)
        dist = self.policy.distribution(self.expert_obs[idx])
        error = (torch.tanh(dist.mean) - self.expert_actions[idx]).pow(2).mean()
        if with_log_std:
            error = error + (dist.log_std - self.config.bc_log_std).pow(2).mean()
        return error

    def bc_step(self) -> torch.Tensor:
        loss = self.bc_error()
        self.bc_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.bc_optimizer.step()
        return loss.detach()

    def fit_critics(self) -> float:
        """Regress every critic on the discounted returns of the warm-up trajectories."""
        cfg = self.config
        returns = discounted_returns(np.stack([b.rewards for b in self.warmup]),
                                     np.stack([b.terminated | b.truncated for b in self.warmup]), cfg.gamma)
        obs = torch.as_tensor(np.concatenate([b.obs for b in self.warmup]).reshape(-1, self.obs_dim), device=self.device)
        actions = torch.as_tensor(np.concatenate([b.actions for b in self.warmup]).reshape(-1, self.act_dim), device=self.device)
        targets = torch.as_tensor(returns.reshape(-1), dtype=torch.float32, device=self.device)
        loss = torch.zeros(())
        for _ in range(cfg.critic_fit_steps):
            idx = torch.as_tensor(self.rng.integers(0, len(obs), size=cfg.batch_size), device=self.device)
            per_critic = (q_values(self.critic, obs[idx], actions[idx]) - targets[idx]).pow(2).mean(-1)
            self.critic_optimizer.zero_grad(set_to_none=True)
            per_critic.sum().backward()
            self.critic_optimizer.step()
            loss = per_critic.detach().mean()
        with torch.no_grad():
            torch._foreach_copy_(self._target_params, self._critic_params)
        self.warmup = []
        self.critics_fitted = True
        return float(loss)

    def decay(self, step: int) -> float:
        return 0.5 ** (step / self.config.refit_halflife)

    def refit_probability(self, step: int) -> float:
        return self.config.refit_prob * self.decay(step)

    def _actor_regulariser(self, q: torch.Tensor) -> torch.Tensor | None:
        """The behaviour-cloning pull in SAC's actor loss (SACAgent calls this each actor step)."""
        weight = self.config.bc_weight * self.decay(self.step)
        if weight <= 0:
            return None
        return weight * q.detach().abs().mean() * self.bc_error(with_log_std=False)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        """Every metric this agent has reported, at its latest value: the set of keys does not
        depend on whether this iteration re-fitted, and it is part of the state, so a resumed
        run logs exactly what the uninterrupted one does (the engine keeps the latest value of
        each metric, but does not checkpoint it)."""
        self.last_metrics.update(self._update(progress))
        return dict(self.last_metrics)

    def _update(self, progress: Progress) -> dict[str, float]:
        cfg = self.config
        self.step = progress.step  # for the decaying weight of the actor's behaviour-cloning term
        metrics = {}
        if not self.cloned:
            losses = [self.bc_step() for _ in range(cfg.bc_steps)]
            self.cloned = True
            if losses:
                metrics["losses/bc"] = float(torch.stack(losses[-100:]).mean())
        if progress.step < cfg.learning_starts or len(self.buffer) == 0:
            return metrics
        if not self.critics_fitted:
            metrics["losses/critic_fit"] = self.fit_critics()
        if progress.step < cfg.learning_starts + cfg.actor_delay:  # critics only: learn Q of the cloned actor
            for _ in range(self.steps_per_iteration * self.num_envs):
                for _ in range(cfg.updates_per_step):
                    loss, q_mean = self._update_critic(self.buffer.sample(cfg.batch_size))
            return {**metrics, "losses/critic": float(loss), "charts/q_mean": float(q_mean)}
        refit = self.rng.random() < self.refit_probability(progress.step)
        if not refit:
            return {**metrics, **{k: float(v) for k, v in super().update(progress).items()},
                    "charts/bc_weight": self.config.bc_weight * self.decay(progress.step)}
        # a re-fit iteration: critic steps as usual, then a behaviour-cloning actor step
        for _ in range(self.steps_per_iteration * self.num_envs):
            for _ in range(cfg.updates_per_step):
                loss, q_mean = self._update_critic(self.buffer.sample(cfg.batch_size))
            bc_loss = self.bc_step()
        self.refits += 1
        return {**metrics, "losses/critic": float(loss), "charts/q_mean": float(q_mean), "losses/bc": float(bc_loss),
                "charts/refits": float(self.refits)}

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        state = super().state_dict()
        warmup = {k: np.stack([getattr(b, k) for b in self.warmup]) if self.warmup else None
                  for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
        state["imitation"] = {"bc_optimizer": optimizer_state(self.bc_optimizer), "rng": self.rng.bit_generator.state,
                              "cloned": self.cloned, "critics_fitted": self.critics_fitted, "refits": self.refits,
                              "warmup": warmup, "last_metrics": dict(self.last_metrics)}
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        own = state["imitation"]
        load_optimizer_state(self.bc_optimizer, own["bc_optimizer"])
        self.rng.bit_generator.state = own["rng"]
        self.cloned, self.critics_fitted, self.refits = bool(own["cloned"]), bool(own["critics_fitted"]), int(own["refits"])
        self.last_metrics = {k: float(v) for k, v in own["last_metrics"].items()}
        w = own["warmup"]
        self.warmup = [] if w["obs"] is None else [
            Transitions(*(np.asarray(w[k][t]) for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")))
            for t in range(len(w["obs"]))]
