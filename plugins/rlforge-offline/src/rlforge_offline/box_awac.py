"""Advantage-weighted actor-critic (Nair et al. 2020, arXiv:2006.09359) for Box actions: from a
dataset, fully offline or offline-to-online.

One gradient step, on a batch from the dataset (plus what was collected online):
  critics  MSE(Q_i(s, a), r + gamma * (1 - terminated) * min_j Q'_j(s', a')),  a' ~ pi(.|s')
  target   Polyak averaging of the critics (tau)
  actor    -mean[ min(exp(A / temperature), max_weight) * log pi(a|s) ],
           A = min_i Q_i(s, a) - min_i Q_i(s, a_pi),  a_pi ~ pi(.|s)  (one sample estimates V(s))
The advantage uses the critics after this step's update (as CORL). No entropy term (the
authors' AWAC runs SAC's trainer with alpha 0). Temperature is AWAC's lambda.
"""

from __future__ import annotations

import torch

from rlforge.actor_critic import bellman_target
from rlforge.agent import Agent, Progress, Transitions
from rlforge.nn import load_optimizer_state, make_adam, optimizer_state

from rlforge_offline.advantage import advantage_weights
from rlforge_offline.box_agent import (common_state, device_of, load_common_state, offline_basics, run_updates,
                                       stochastic_actor_and_critics)


class BoxAWACAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        super().__init__(config, observation_space, action_space, num_envs, device_of(device))
        offline_basics(self, "awac")
        cfg = config
        stochastic_actor_and_critics(self, cfg.actor)
        self.actor_optimizer = make_adam(self.actor.parameters(), cfg.actor_lr)
        self.optimizers = {"critic": self.critics.optimizer, "actor": self.actor_optimizer}

    def observe(self, batch: Transitions) -> None:
        self.data.observe(batch)

    def update(self, progress: Progress) -> dict[str, float]:
        return run_updates(self, progress)

    def evaluation_metrics(self, result) -> dict[str, float]:
        return self.data.evaluation_metrics(result.returns)

    def gradient_step(self, batch: dict[str, torch.Tensor], progress: Progress | None = None) -> dict[str, torch.Tensor]:
        cfg = self.config
        obs, actions = batch["obs"], batch["actions"]
        with torch.no_grad():
            next_actions = self.actor.distribution(batch["next_obs"]).sample()
            next_q = self.critics.target_q(batch["next_obs"], next_actions).amin(0)
            target = bellman_target(batch["rewards"], batch["terminated"], cfg.gamma, next_q)
        q = self.critics(obs, actions)
        critic_loss = (q - target).pow(2).mean(-1)
        self.critics.optimizer.zero_grad(set_to_none=True)
        critic_loss.sum().backward()
        self.critics.optimizer.step()
        self.critics.update_target()

        dist = self.actor.distribution(obs)
        with torch.no_grad():
            both = self.critics(torch.cat((obs, obs)), torch.cat((actions, dist.sample()))).amin(0)  # one forward
            advantage = both[: len(obs)] - both[len(obs):]
        weights = advantage_weights(advantage, cfg.temperature, cfg.max_weight)
        actor_loss = -(weights * dist.log_prob(actions)).mean()
        self.actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optimizer.step()
        return {"losses/critic": critic_loss.detach().mean(), "losses/actor": actor_loss.detach(),
                "charts/q_mean": q.detach().mean(), "charts/target_mean": target.mean(),
                "charts/advantage_mean": advantage.mean(), "charts/weight_mean": weights.mean(),
                "charts/weight_max": weights.max()}

    def state_dict(self) -> dict:
        return {**common_state(self), "critics": self.critics.state_dict(),
                "actor_optimizer": optimizer_state(self.actor_optimizer)}

    def load_state_dict(self, state: dict) -> None:
        load_common_state(self, state)
        self.critics.load_state_dict(state["critics"])
        load_optimizer_state(self.actor_optimizer, state["actor_optimizer"])
