"""bc-sac: imitation-seeded SAC.

  1. At the first update the actor is fitted to the expert data by behaviour cloning
     (`bc_steps` steps: squared error of its tanh mean to the expert's action, scaled into
     [-1, 1], plus its log std pulled to `bc_log_std`, a small exploration noise).
     The very first env step is taken before this, by the freshly initialised actor. A frozen
     copy of the cloned actor is kept: the imitator.
  2. Until `learning_starts` env steps the cloned actor collects (no random actions by
     default); then the critics are fitted (`critic_fit_steps`) to the discounted returns of
     those trajectories (Monte-Carlo, reset at episode ends; an unfinished tail counts what it
     has; entropy bonuses are not included), and the target critics copied from them. With
     `expert_ratio` > 0 that share of each fitting batch is the expert's transitions with the
     expert's own returns. With `entropy_from_clone`, SAC's target entropy is set here to the
     cloned actor's entropy on those states (expert states in their share).
  3. For `actor_delay` more env steps only the critics train (SAC backups, actor frozen), so
     they learn the cloned actor's soft Q-values around its own actions first.
  4. SAC trains on. In each iteration, with probability refit_prob * 0.5^(step/refit_halflife)
     (drawn from the agent's seeded generator), the actor's step is a behaviour-cloning step on
     an expert minibatch instead of the SAC actor step; the critics update as usual. With
     `expert_ratio` > 0, that share of every critic and actor minibatch comes from the expert's
     transitions (RLPD's symmetric sampling; the replay buffer holds only the env's).
  5. Every SAC actor loss also holds a behaviour-cloning term on an expert minibatch, weighted
     bc_weight * mean|Q| * 0.5^(step/refit_halflife) (TD3+BC's normalisation: the weight is
     relative to the scale of the Q-values, whatever the env's reward scale), and, with
     `imitator_weight` > 0, KL(actor || imitator) on the actor's own minibatch of states, weighted
     the same way. The first only binds on the expert's states; the second also on the states
     the actor visits, where the cloned actor's actions were extrapolated.

Network options: `normalize_obs` puts a fixed standardisation of the observations (the expert
data's mean and std) in front of the actor and the critics; `critic_layer_norm` puts a
parameter-free LayerNorm after each hidden layer of the critics and multiplies their output by
the expert data's RMS discounted return. On HalfCheetah-v4 (docs/benchmarks.md, "bc-sac") the
LayerNorm is what stops the collapse of the return once SAC's actor steps start: without it the
critics, fitted on the cloned actor's narrow data, over-estimate the actions the actor moves to
(charts/q_mean rises while the return falls to about -200, charts/q_gap > 0: they rank the
actor's new actions above the expert's), and the actor follows them away from the imitator
(charts/imitator_mse from 0.002 to ~1 within 1,000 steps).

Diagnostics (`diagnostics_every`, computed without drawing from any training generator):
charts/bc_mse, charts/imitator_mse, charts/action_abs, charts/policy_std, charts/grad_q,
charts/grad_entropy, charts/grad_bc, charts/q_gap; see `BCSACAgent.diagnostics`.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from rlforge.actor_critic import q_values
from rlforge.agent import Progress, Transitions
from rlforge.errors import RLForgeError
from rlforge.nn import load_optimizer_state, make_adam, optimizer_state, squashed_log_prob
from rlforge_sac.agent import SACAgent

from rlforge_imitation.bc_sac_parts import ExpertMixedReplay, ObsNormalizer, with_layer_norms
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
        ends = (data.terminated | data.truncated).reshape(-1, 1).copy()
        ends[-1] = True  # the data's last episode ends with the data
        self.expert_returns = discounted_returns(data.rewards.reshape(-1, 1).astype(np.float64), ends, config.gamma)[:, 0]
        if config.critic_layer_norm:
            self._layer_norm_critics(max(1.0, float(np.sqrt(np.mean(self.expert_returns ** 2)))))
        if config.normalize_obs:
            self._normalize_inputs(self.expert_obs.mean(0), self.expert_obs.std(0).clamp_min(1e-3))
        scaled = (data.actions.reshape(len(data), -1) - self.unit_actions.bias) / self.unit_actions.scale
        self.expert_actions = torch.as_tensor(np.clip(scaled, -1.0, 1.0), dtype=torch.float32, device=self.device)
        self.bc_optimizer = make_adam(self.policy.parameters(), config.bc_lr)
        self.rng = np.random.default_rng([int(torch.initial_seed()) % 2**63, 1])
        self.expert_rng = np.random.default_rng([int(torch.initial_seed()) % 2**63, 2])
        if config.expert_ratio > 0:
            expert = {"obs": self.expert_obs, "actions": self.expert_actions,
                      "rewards": torch.as_tensor(data.rewards.reshape(-1), dtype=torch.float32, device=self.device),
                      "next_obs": torch.as_tensor(data.next_obs.reshape(len(data), -1), dtype=torch.float32, device=self.device),
                      "terminated": torch.as_tensor(data.terminated.reshape(-1), dtype=torch.float32, device=self.device)}
            self.buffer = ExpertMixedReplay(self.buffer, expert, config.expert_ratio, self.expert_rng)
        self.cloned = False
        self.imitator = copy.deepcopy(self.policy).requires_grad_(False)  # the cloned actor, frozen after cloning
        self.critics_fitted = config.critic_fit_steps == 0
        self.warmup: list[Transitions] = []  # scaled rows collected before learning_starts
        self.refits = 0
        self.step = 0
        self.last_metrics: dict[str, float] = {}
        # a fixed sample of expert rows and a private noise generator for the diagnostics, so that
        # computing them changes nothing in training
        self.diag_rows = torch.as_tensor(np.random.default_rng(0).permutation(len(self.expert_obs))[:1024], device=self.device)
        self.next_diagnostics = 0

    def _layer_norm_critics(self, scale: float) -> None:
        """A parameter-free LayerNorm after every hidden layer of the critics (RLPD's remedy for
        critics that extrapolate to huge values on actions they have not seen: the last layer
        then sees features of bounded norm), and their output multiplied by `scale` (the expert
        data's RMS discounted return), so that these bounded features reach the Q-values' scale
        at Adam's pace. No parameter changes, so SACAgent's optimiser stays."""
        self.critic = with_layer_norms(self.critic, scale)
        self.target_critic = with_layer_norms(self.target_critic, scale)
        assert list(self.critic.parameters()) == self._critic_params
        self._target_params = list(self.target_critic.parameters())

    def _normalize_inputs(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Put a fixed standardisation of the observations in front of the actor and the critics
        (SAC's networks see raw observations; HalfCheetah's velocities are on other scales than its
        angles, and the actor clones far better from standardised inputs). The networks'
        parameters, and so the optimisers SACAgent made, stay the same."""
        self.policy.net = torch.nn.Sequential(ObsNormalizer(mean, std), *self.policy.net)
        self.critic = torch.nn.Sequential(ObsNormalizer(mean, std), self.critic)
        self.target_critic = torch.nn.Sequential(ObsNormalizer(mean, std), self.target_critic)
        assert list(self.critic.parameters()) == self._critic_params
        self._target_params = list(self.target_critic.parameters())

    def observe(self, batch: Transitions) -> None:
        super().observe(batch)
        if not self.critics_fitted:
            lead = batch.rewards.shape
            actions = np.clip((batch.actions.reshape(*lead, -1) - self.unit_actions.bias) / self.unit_actions.scale, -1, 1)
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
        n_expert = int(round(cfg.expert_ratio * cfg.batch_size))
        if n_expert:  # the expert's own returns, in the same share as in SAC's batches
            expert_targets = torch.as_tensor(self.expert_returns, dtype=torch.float32, device=self.device)
        loss = torch.zeros(())
        for _ in range(cfg.critic_fit_steps):
            idx = torch.as_tensor(self.rng.integers(0, len(obs), size=cfg.batch_size - n_expert), device=self.device)
            batch_obs, batch_actions, batch_targets = obs[idx], actions[idx], targets[idx]
            if n_expert:
                rows = torch.as_tensor(self.rng.integers(0, len(self.expert_obs), size=n_expert), device=self.device)
                batch_obs = torch.cat((batch_obs, self.expert_obs[rows]))
                batch_actions = torch.cat((batch_actions, self.expert_actions[rows]))
                batch_targets = torch.cat((batch_targets, expert_targets[rows]))
            per_critic = (q_values(self.critic, batch_obs, batch_actions) - batch_targets).pow(2).mean(-1)
            self.critic_optimizer.zero_grad(set_to_none=True)
            per_critic.sum().backward()
            self.critic_optimizer.step()
            loss = per_critic.detach().mean()
        with torch.no_grad():
            torch._foreach_copy_(self._target_params, self._critic_params)
        self.warmup = []
        self.critics_fitted = True
        return float(loss)

    def policy_entropy(self, obs: torch.Tensor) -> float:
        """The actor's entropy -E[log pi(a|s)] over `obs` (16 draws per state from a private
        generator: measuring it changes nothing in training)."""
        gen = torch.Generator(device=self.device).manual_seed(12345)
        with torch.no_grad():
            dist = self.policy.distribution(obs)
            mean, log_std = dist.mean, dist.log_std
            noise = torch.randn((16, *mean.shape), generator=gen, device=self.device)
            return -float(squashed_log_prob(mean + log_std.exp() * noise, mean, log_std).mean())

    def imitator_kl(self, obs: torch.Tensor) -> torch.Tensor:
        """KL(actor || imitator) of the pre-tanh Gaussians on `obs` (the same as of the squashed
        policies: tanh is a bijection), summed over action dims, mean over states."""
        dist = self.policy.distribution(obs)
        with torch.no_grad():
            prior = self.imitator.distribution(obs)
        var_ratio = (2 * (dist.log_std - prior.log_std)).exp()
        z = (dist.mean - prior.mean) / prior.std
        return (0.5 * (var_ratio + z.pow(2) - 1) - (dist.log_std - prior.log_std)).sum(-1).mean()

    def decay(self, step: int) -> float:
        return 0.5 ** (step / self.config.refit_halflife)

    def refit_probability(self, step: int) -> float:
        return self.config.refit_prob * self.decay(step)

    def _update_actor(self, obs: torch.Tensor):
        self._actor_obs = obs  # the states of this actor step, for the pull towards the imitator
        return super()._update_actor(obs)

    def _actor_regulariser(self, q: torch.Tensor) -> torch.Tensor | None:
        """The behaviour-cloning pull in SAC's actor loss (SACAgent calls this each actor step):
        towards the expert's actions on expert states (bc_weight) and towards the frozen imitator
        on the actor's own batch of replay states (imitator_weight)."""
        decay = self.decay(self.step)
        terms = []
        if self.config.bc_weight > 0:
            terms.append(self.config.bc_weight * decay * q.detach().abs().mean() * self.bc_error(with_log_std=False))
        if self.config.imitator_weight > 0:
            terms.append(self.config.imitator_weight * decay * q.detach().abs().mean() * self.imitator_kl(self._actor_obs))
        return sum(terms) if terms else None

    # ------------------------------------------------------------------ diagnostics

    def diagnostics(self) -> dict[str, float]:
        """How far the actor is from the expert and which term of SAC's actor loss moves it, on a
        fixed sample of expert states (no draw from any training generator):
          charts/bc_mse          squared error of the tanh mean to the expert's action
          charts/action_abs      mean |tanh mean| of the actor (expert: charts/expert_action_abs)
          charts/policy_std      mean pre-tanh std of the actor
          charts/grad_q, charts/grad_entropy, charts/grad_bc
                                 RMS gradient of each term of the actor loss (-Q, alpha*log pi, the
                                 expert cloning term) with respect to the pre-tanh mean, per state
          charts/q_gap           min-critic Q of the actor's mean action minus that of the expert's
                                 action (> 0: the critics prefer the actor's)
        and, on the newest 1,024 states of the replay buffer (the states the actor visits):
          charts/imitator_mse    squared error of the actor's tanh mean to the imitator's"""
        obs, expert = self.expert_obs[self.diag_rows], self.expert_actions[self.diag_rows]
        gen = torch.Generator(device=self.device).manual_seed(self.next_diagnostics)
        with torch.no_grad():
            dist = self.policy.distribution(obs)
        log_std = dist.log_std
        mean = dist.mean.detach().requires_grad_(True)
        noise = torch.randn(mean.shape, generator=gen, device=self.device)
        pre_tanh = mean + log_std.exp() * noise
        alpha = float(self.log_temperature.detach().exp())
        for p in self._critic_params:
            p.requires_grad_(False)
        try:
            q = q_values(self.critic, obs, torch.tanh(pre_tanh)).amin(0)
            terms = {"grad_q": -q.sum(), "grad_entropy": alpha * squashed_log_prob(pre_tanh, mean, log_std).sum()}
            weight = self.config.bc_weight * self.decay(self.step) * float(q.detach().abs().mean())
            terms["grad_bc"] = weight * (torch.tanh(mean) - expert).pow(2).mean(-1).sum()
            grads = {f"charts/{k}": float(torch.autograd.grad(v, mean, retain_graph=True)[0].pow(2).sum(-1).mean().sqrt())
                     for k, v in terms.items()}
            with torch.no_grad():
                q_gap = (q_values(self.critic, obs, torch.tanh(mean)).amin(0) - q_values(self.critic, obs, expert).amin(0)).mean()
        finally:
            for p in self._critic_params:
                p.requires_grad_(True)
        recent = torch.as_tensor(self.buffer.obs[max(0, self.buffer.position - 1024):self.buffer.position], device=self.device)
        with torch.no_grad():
            imitator_mse = ((torch.tanh(self.policy.distribution(recent).mean) - torch.tanh(self.imitator.distribution(recent).mean))
                            .pow(2).mean()) if len(recent) else torch.zeros(())
            return {"charts/bc_mse": float((torch.tanh(mean) - expert).pow(2).mean()),
                    "charts/imitator_mse": float(imitator_mse),
                    "charts/action_abs": float(torch.tanh(mean).abs().mean()),
                    "charts/expert_action_abs": float(expert.abs().mean()),
                    "charts/policy_std": float(log_std.exp().mean()),
                    **grads, "charts/q_gap": float(q_gap)}

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        """Every metric this agent has reported, at its latest value: the set of keys does not
        depend on whether this iteration re-fitted, and it is part of the state, so a resumed
        run logs exactly what the uninterrupted one does (the engine keeps the latest value of
        each metric, but does not checkpoint it)."""
        self.last_metrics.update(self._update(progress))
        every = self.config.diagnostics_every
        if every and self.cloned and progress.step >= self.next_diagnostics:
            self.last_metrics.update(self.diagnostics())
            self.next_diagnostics = (progress.step // every + 1) * every
        return dict(self.last_metrics)

    def _update(self, progress: Progress) -> dict[str, float]:
        cfg = self.config
        self.step = progress.step  # for the decaying weight of the actor's behaviour-cloning term
        metrics = {}
        if not self.cloned:
            losses = [self.bc_step() for _ in range(cfg.bc_steps)]
            self.cloned = True
            self.imitator.load_state_dict(self.policy.state_dict())
            if losses:
                metrics["losses/bc"] = float(torch.stack(losses[-100:]).mean())
        if progress.step < cfg.learning_starts or len(self.buffer) == 0:
            return metrics
        if not self.critics_fitted:
            if cfg.entropy_from_clone:  # on the states SAC's actor steps will see, in their shares
                warmup_obs = torch.as_tensor(np.concatenate([b.obs for b in self.warmup]).reshape(-1, self.obs_dim),
                                             device=self.device)
                self.target_entropy = ((1 - cfg.expert_ratio) * self.policy_entropy(warmup_obs)
                                       + cfg.expert_ratio * self.policy_entropy(self.expert_obs[self.diag_rows]))
                metrics["charts/target_entropy"] = self.target_entropy
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
        state["imitation"] = {"imitator": self.imitator.state_dict(), "target_entropy": self.target_entropy,
                              "bc_optimizer": optimizer_state(self.bc_optimizer), "rng": self.rng.bit_generator.state,
                              "expert_rng": self.expert_rng.bit_generator.state,
                              "cloned": self.cloned, "critics_fitted": self.critics_fitted, "refits": self.refits,
                              "warmup": warmup, "last_metrics": dict(self.last_metrics),
                              "next_diagnostics": self.next_diagnostics}
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        own = state["imitation"]
        load_optimizer_state(self.bc_optimizer, own["bc_optimizer"])
        self.imitator.load_state_dict(own["imitator"])
        self.target_entropy = float(own["target_entropy"])
        self.rng.bit_generator.state = own["rng"]
        self.expert_rng.bit_generator.state = own["expert_rng"]
        self.cloned, self.critics_fitted, self.refits = bool(own["cloned"]), bool(own["critics_fitted"]), int(own["refits"])
        self.last_metrics = {k: float(v) for k, v in own["last_metrics"].items()}
        self.next_diagnostics = int(own.get("next_diagnostics", 0))
        w = own["warmup"]
        self.warmup = [] if w["obs"] is None else [
            Transitions(*(np.asarray(w[k][t]) for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")))
            for t in range(len(w["obs"]))]
