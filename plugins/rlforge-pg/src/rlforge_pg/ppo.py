"""Proximal Policy Optimization with the clipped objective (Schulman et al. 2017), as CleanRL's ppo.py.

Each iteration the engine collects `n_steps` steps of each of `num_envs` envs (sync or async
vector envs: the engine's `num_envs` and `vector_mode`). Then:

  observe  normalise the rollout's observations with the statistics it was collected with
           (`normalize_obs`), compute the old log-probabilities and values before any gradient
           step, update the observation statistics, scale the rewards by the running std of
           the discounted return (`normalize_reward`), and compute GAE(lambda) advantages and
           lambda-returns (truncations bootstrap from V(next_obs), the true final observation;
           terminations do not);
  update   `update_epochs` passes over the rollout in `num_minibatches` shuffled minibatches:
           loss = clipped surrogate - ent_coef * entropy + vf_coef * (clipped) value loss,
           gradient norm clipped to `max_grad_norm`, Adam (eps 1e-5) with the learning rate
           annealed linearly to 0 (`anneal_lr`); an update stops early when the approximate KL
           passes `target_kl`.

Observation statistics live in the policy (so `act`, evaluation and checkpoints use them);
reward statistics and each env's running discounted return are in the agent's state_dict.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge import returns as R
from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, optimizer_state
from rlforge_pg.common import (PGPolicy, RunningMeanStd, adam, annealed, clip_grad, clipped_surrogate_loss,
                               explained_variance, normalized, resolve, set_lr, value_loss, value_net)


class PPOAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        device = resolve(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        if cfg.n_steps * num_envs < cfg.num_minibatches:
            raise ValueError(f"a rollout of n_steps * num_envs = {cfg.n_steps * num_envs} rows cannot be split into "
                             f"num_minibatches = {cfg.num_minibatches}")
        self.steps_per_iteration = cfg.n_steps
        self.policy = PGPolicy(observation_space, action_space, cfg.hidden, cfg.activation, cfg.log_std_init,
                               cfg.normalize_obs, cfg.obs_clip, cfg.ortho_init).to(self.device)
        critic_hidden = cfg.hidden if cfg.critic_hidden is None else cfg.critic_hidden
        self.critic = value_net(self.policy.obs_dim, critic_hidden, cfg.activation, cfg.ortho_init).to(self.device)
        self._params = list(self.policy.parameters()) + list(self.critic.parameters())
        self.optimizer = adam(self._params, cfg.lr, eps=1e-5)
        self.return_rms = RunningMeanStd(()).to(self.device) if cfg.normalize_reward else None
        self.discounted_return = np.zeros(num_envs, dtype=np.float64)  # per env, for reward scaling
        self._rollout: dict | None = None
        self.updates = 0

    # ------------------------------------------------------------------ experience

    def observe(self, batch: Transitions) -> None:
        cfg = self.config
        shape = batch.rewards.shape
        obs = self.policy.features(batch.obs)
        actions = self.policy.action_tensor(batch.actions)
        with torch.no_grad():
            old_log_prob, _ = self.policy.log_prob(obs, actions)
            values = self.critic(obs).reshape(shape).cpu().numpy()
            next_values = self.critic(self.policy.features(batch.next_obs)).reshape(shape).cpu().numpy()
        if self.policy.obs_rms is not None:
            self.policy.obs_rms.update(batch.obs.reshape(-1, self.policy.obs_dim))
        rewards = self._scale_rewards(batch) if self.return_rms is not None else batch.rewards
        advantages, returns = R.gae(rewards, values, next_values, batch.terminated, batch.truncated,
                                    cfg.gamma, cfg.gae_lambda)
        self._rollout = {
            "obs": obs, "actions": actions, "old_log_prob": old_log_prob,
            "old_values": torch.as_tensor(values.reshape(-1), device=self.device),
            "advantages": torch.as_tensor(advantages.reshape(-1), device=self.device),
            "returns": torch.as_tensor(returns.reshape(-1), device=self.device),
        }

    def _scale_rewards(self, batch: Transitions) -> np.ndarray:
        """Rewards divided by the running std of each env's discounted return (as SB3's
        VecNormalize): the statistics take in this rollout's discounted returns first, and the
        whole rollout is scaled by the result, then clipped to +-reward_clip."""
        cfg = self.config
        done = batch.terminated | batch.truncated
        running = np.empty(batch.rewards.shape, dtype=np.float64)
        for t in range(batch.rewards.shape[0]):
            self.discounted_return = self.discounted_return * cfg.gamma + batch.rewards[t]
            running[t] = self.discounted_return
            self.discounted_return[done[t]] = 0.0
        self.return_rms.update(running.reshape(-1))
        std = float(torch.sqrt(self.return_rms.var + 1e-8))
        return np.clip(batch.rewards / std, -cfg.reward_clip, cfg.reward_clip).astype(np.float32)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        cfg, rollout = self.config, self._rollout
        if rollout is None:
            return {}
        self._rollout = None
        rows = rollout["obs"].shape[0]
        lr = annealed(cfg.lr, progress, rows) if cfg.anneal_lr else cfg.lr
        set_lr(self.optimizer, lr)
        sums = torch.zeros(6, device=self.device)  # policy, value, entropy, approx_kl, clipfrac, count
        # the per-step statistics feed metric rows and the KL stop only
        statistics = progress.metrics_due or cfg.target_kl is not None
        epochs_done = 0
        for _ in range(cfg.update_epochs):
            epoch_kl = torch.zeros((), device=self.device)
            for minibatch in self._minibatches(rollout, rows):
                log_prob, entropy = self.policy.log_prob(minibatch["obs"], minibatch["actions"])
                old_log_prob = minibatch["old_log_prob"]
                advantages = minibatch["advantages"]
                if cfg.normalize_advantages and len(advantages) > 1:
                    advantages = normalized(advantages, unbiased=True)
                policy_loss, clip_fraction = clipped_surrogate_loss(log_prob, old_log_prob, advantages, cfg.clip_coef)
                values = self.critic(minibatch["obs"]).squeeze(-1)
                critic_loss = value_loss(values, minibatch["returns"], minibatch["old_values"],
                                         cfg.clip_coef if cfg.clip_value_loss else None)
                entropy_mean = entropy.mean()
                loss = policy_loss - cfg.ent_coef * entropy_mean + cfg.vf_coef * critic_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                clip_grad(self._params, cfg.max_grad_norm)
                self.optimizer.step()
                if not statistics:
                    continue
                with torch.no_grad():
                    log_ratio = log_prob.detach() - old_log_prob
                    approx_kl = ((log_ratio.exp() - 1.0) - log_ratio).mean()  # the k3 estimator (CleanRL)
                    epoch_kl = approx_kl
                    sums += torch.stack([policy_loss.detach(), critic_loss.detach(), entropy_mean.detach(),
                                         approx_kl, clip_fraction, torch.ones((), device=self.device)])
            epochs_done += 1
            if cfg.target_kl is not None and float(epoch_kl) > cfg.target_kl:
                break
        self.updates += 1
        if not progress.metrics_due:
            return {}
        policy_loss, critic_loss, entropy, approx_kl, clip_fraction, count = sums.tolist()
        metrics = {
            "losses/policy": policy_loss / count, "losses/value": critic_loss / count,
            "losses/entropy": entropy / count, "charts/approx_kl": approx_kl / count,
            "charts/clipfrac": clip_fraction / count, "charts/learning_rate": lr,
            "charts/epochs": float(epochs_done),
        }
        ev = explained_variance(rollout["old_values"], rollout["returns"])
        if np.isfinite(ev):
            metrics["charts/explained_variance"] = ev
        if not self.policy.discrete:
            metrics["charts/std"] = float(self.policy.log_std.detach().exp().mean())
        return metrics

    def _minibatches(self, rollout: dict[str, torch.Tensor], rows: int):
        """The rollout in num_minibatches shuffled parts. One part is the whole rollout: its
        losses are means over rows, which no shuffle changes, so it is used as it is."""
        if self.config.num_minibatches == 1:
            yield rollout
            return
        for idx in torch.randperm(rows, device=self.device).tensor_split(self.config.num_minibatches):
            yield {name: values[idx] for name, values in rollout.items()}

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        state = {"policy": self.policy.state_dict(), "critic": self.critic.state_dict(),
                 "optimizer": optimizer_state(self.optimizer), "counters": {"updates": self.updates}}
        if self.return_rms is not None:
            state["reward_normalizer"] = {"rms": self.return_rms.state_dict(),
                                          "discounted_return": self.discounted_return.copy()}
        return state

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        if self.return_rms is not None:
            self.return_rms.load_state_dict(state["reward_normalizer"]["rms"])
            self.discounted_return = np.array(state["reward_normalizer"]["discounted_return"], dtype=np.float64)
        self.updates = int(state["counters"]["updates"])
