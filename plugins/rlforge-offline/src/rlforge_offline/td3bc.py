"""TD3+BC (Fujimoto & Gu 2021, "A Minimalist Approach to Offline Reinforcement Learning",
arXiv:2106.06860): TD3 from a dataset, its actor's loss with a behaviour-cloning term.

One gradient step, on a batch from the dataset (plus what was collected online):
  critics   MSE(Q_i(s, a), r + gamma * (1 - terminated) * min_j Q'_j(s', clip(mu'(s') + eps)))
            eps = clip(policy_noise * N(0, 1), -noise_clip, noise_clip): TD3's target
  every policy_delay-th step:
  actor     -lambda * mean Q_1(s, mu(s)) + mean (mu(s) - a)^2,  lambda = alpha / mean |Q_1(s, mu(s))|
  targets   Polyak averaging of actor and critics (tau)
Observations are standardised by the dataset's statistics (normalize_obs, on by default as in
the paper). After `offline_steps` the agent collects with mu(s) plus Gaussian noise.
"""

from __future__ import annotations

import copy

import torch

from rlforge.actor_critic import clipped_double_q_target, smoothed_target_actions, soft_update
from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, make_adam, maybe_compile, optimizer_state

from rlforge_offline.box_actor import BoxActor, BoxPolicy
from rlforge_offline.box_agent import common_state, device_of, load_common_state, offline_basics, run_updates
from rlforge_offline.box_critic import Critics
from rlforge_offline.box_losses import td3bc_actor_loss
from rlforge_offline.compiled_steps import td3bc_steps


class TD3BCAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        super().__init__(config, observation_space, action_space, num_envs, device_of(device))
        offline_basics(self, "td3bc")
        cfg = config
        self.actor = BoxActor("deterministic", self.obs_dim, self.act_dim, cfg.actor_hidden, cfg.activation).to(self.device)
        self.target_actor = copy.deepcopy(self.actor.net).requires_grad_(False)
        self.policy = BoxPolicy(self.actor, action_space, self.data.obs_mean, self.data.obs_std,
                                cfg.exploration_noise).to(self.device)
        self.critics = Critics(cfg.num_critics, self.obs_dim, self.act_dim, cfg.hidden, cfg.activation, cfg.lr, cfg.tau,
                               self.device)
        self.actor_optimizer = make_adam(self.actor.parameters(), cfg.actor_lr)
        self.optimizers = {"critic": self.critics.optimizer, "actor": self.actor_optimizer}  # where tools look
        # actor and critics, online and target, lerped together at each delayed step
        self._online = [*self.actor.net.parameters(), *self.critics.params]
        self._targets = [*self.target_actor.parameters(), *self.critics.target.parameters()]
        self._actor_metrics: dict[str, torch.Tensor] = {}
        self._compiled_steps = None  # compile_update: built at the first step, on the optimisers' state of then

    def observe(self, batch: Transitions) -> None:
        self.data.observe(batch)

    def update(self, progress: Progress) -> dict[str, float]:
        return run_updates(self, progress)

    def evaluation_metrics(self, result) -> dict[str, float]:
        return self.data.evaluation_metrics(result.returns)

    def critic_target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        cfg = self.config
        with torch.no_grad():
            next_actions = smoothed_target_actions(torch.tanh(self.target_actor(batch["next_obs"])), cfg.policy_noise,
                                                   cfg.noise_clip)
            next_q = self.critics.target_q(batch["next_obs"], next_actions)
            return clipped_double_q_target(next_q, batch["rewards"], batch["terminated"], cfg.gamma)

    def gradient_step(self, batch: dict[str, torch.Tensor], progress: Progress | None = None) -> dict[str, torch.Tensor]:
        cfg = self.config
        if cfg.compile_update:
            return self._compiled_gradient_step(batch)
        target = self.critic_target(batch)
        q = self.critics(batch["obs"], batch["actions"])  # [n_critics, B]
        critic_loss = (q - target).pow(2).mean(-1)
        self.critics.optimizer.zero_grad(set_to_none=True)
        critic_loss.sum().backward()
        self.critics.optimizer.step()
        if (self.gradient_steps + 1) % cfg.policy_delay == 0:
            self._actor_metrics = self._actor_step(batch["obs"], batch["actions"])
            soft_update(self._targets, self._online, cfg.tau)
        return {"losses/critic": critic_loss.detach().mean(), "charts/q_mean": q.detach().mean(),
                "charts/target_mean": target.mean(), **self._actor_metrics}

    def _compiled_gradient_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """compile_update: the critic step, and every policy_delay-th the actor and targets too."""
        if self._compiled_steps is None:
            self._compiled_steps = tuple(maybe_compile(step, True) for step in td3bc_steps(self))
        critic_only, with_actor = self._compiled_steps
        if (self.gradient_steps + 1) % self.config.policy_delay != 0:
            return {**critic_only(batch), **self._actor_metrics}
        metrics = with_actor(batch)
        self._actor_metrics = {key: metrics[key] for key in ("losses/actor", "losses/bc", "charts/lambda")}
        return metrics

    def _actor_step(self, obs: torch.Tensor, data_actions: torch.Tensor) -> dict[str, torch.Tensor]:
        pi = self.actor.mode(obs)
        q_pi = self.critics.frozen_q(obs, pi)[0]  # Q_1, as TD3
        loss, lmbda, bc = td3bc_actor_loss(q_pi, pi, data_actions, self.config.alpha)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        return {"losses/actor": loss.detach(), "losses/bc": bc, "charts/lambda": lmbda}

    def state_dict(self) -> dict:
        return {**common_state(self), "target_actor": self.target_actor.state_dict(),
                "critics": self.critics.state_dict(), "actor_optimizer": optimizer_state(self.actor_optimizer),
                "actor_metrics": {k: v.detach().clone() for k, v in self._actor_metrics.items()}}

    def load_state_dict(self, state: dict) -> None:
        load_common_state(self, state)
        self.target_actor.load_state_dict(state["target_actor"])
        self.critics.load_state_dict(state["critics"])
        load_optimizer_state(self.actor_optimizer, state["actor_optimizer"])
        self._actor_metrics = {k: torch.as_tensor(v, device=self.device) for k, v in state["actor_metrics"].items()}
        self._compiled_steps = None  # the optimisers' state tensors were replaced
