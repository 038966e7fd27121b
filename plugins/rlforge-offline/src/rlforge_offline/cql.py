"""Conservative Q-learning (Kumar et al. 2020) for discrete actions, over double DQN, as in
CS285 hw5: from a dataset, fully offline or offline-to-online.

The critic minimises  MSE(Q(s, a), r + gamma * Q_target(s', argmax_a' Q(s', a')))
                      + cql_alpha * mean(T * logsumexp(Q(s, .) / T) - Q(s, a_data)),
one gradient step per offline step; after `offline_steps` it collects epsilon-greedily in
its own Q-function and takes one gradient step per env step on the dataset plus what it
collected, with the penalty weighted by `online_cql_alpha` if set. cql_alpha 0 is exactly
double DQN (the penalty is left out of the loss).
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Agent, Progress, Transitions
from rlforge.errors import RLForgeError
from rlforge.nn import resolve_device

from rlforge_offline.discrete import (Coverage, CQLPenalty, CriticStep, EpsilonGreedyPolicy, OnlineSchedule, QCritic, buffer_seed,
                                      check_spaces, dataset_buffer, find_maze, load_discrete_dataset,
                                      max_q_fn, maze_images, step_metrics)


class CQLAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        obs_dim, num_actions = check_spaces("cql", observation_space, action_space)
        if not cfg.dataset:
            raise RLForgeError("cql learns from a dataset: set dataset=... (an .npz, a CS285 .pkl, a Minari dataset "
                               "or a run folder with dataset/)")
        dataset = load_discrete_dataset(cfg.dataset, cfg.dataset_size, observation_space, action_space)
        self.offline_steps = cfg.offline_steps
        self.steps_per_iteration = 1
        self.random_steps = 0

        self.critic = QCritic(obs_dim, num_actions, cfg.hidden, cfg.activation, cfg.lr, cfg.target_period,
                              cfg.max_grad_norm, self.device)
        self.optimizer = self.critic.optimizer  # an attribute of the agent, where tools look for optimisers
        self.policy = EpsilonGreedyPolicy(self.critic.net, num_actions, cfg.epsilon)
        self.dataset_rows = len(dataset)
        self.buffer = dataset_buffer(dataset, len(dataset) + cfg.buffer_size, buffer_seed(), self.device)
        self.schedule = OnlineSchedule(cfg.learning_starts)
        self.maze = find_maze(env_id)
        self.coverage = Coverage(self.maze) if self.maze is not None else None
        if self.coverage is not None:
            self.coverage.add(dataset.obs)
            self.coverage.add(dataset.next_obs)
        self._last_step: CriticStep | None = None

    # ------------------------------------------------------------------ experience

    def observe(self, batch: Transitions) -> None:
        self.buffer.add(batch)
        self.schedule.observed(len(batch))
        if self.coverage is not None:
            self.coverage.add(batch.obs)
            self.coverage.add(batch.next_obs)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        cfg = self.config
        alpha = cfg.cql_alpha if progress.offline or cfg.online_cql_alpha is None else cfg.online_cql_alpha
        for _ in range(self.schedule.due(progress)):
            self._last_step = self.gradient_step(self.buffer.sample(cfg.batch_size), alpha)
        return self.metrics() if progress.metrics_due else {}

    def gradient_step(self, batch: dict[str, torch.Tensor], alpha: float | None = None) -> CriticStep:
        """One critic step with the CQL penalty weighted by `alpha` (default: cql_alpha)."""
        cfg = self.config
        alpha = cfg.cql_alpha if alpha is None else alpha
        # alpha 0 leaves the loss exactly double DQN's
        penalty = CQLPenalty(alpha, cfg.cql_temperature) if alpha > 0 else None
        return self.critic.td_step(batch, cfg.gamma, cfg.double_q, extra_loss=penalty)

    def metrics(self) -> dict[str, float]:
        values = {}
        if self._last_step is not None:
            step, temperature = self._last_step, self.config.cql_temperature
            # the soft maximum over all actions (the course's "OOD q-values") against Q(s, a_data)
            soft_max = (temperature * torch.logsumexp(step.q_all / temperature, dim=-1)).mean()
            values.update(step_metrics(step))
            td, soft = torch.stack([step.td_loss, soft_max]).tolist()
            values.update({"losses/td": td, "charts/ood_q_mean": soft,
                           "losses/cql_penalty": soft - values["charts/q_mean"]})
        if self.coverage is not None:
            values.update(self.coverage.metrics())
        return values

    # ------------------------------------------------------------------ pictures

    def evaluation_images(self) -> dict[str, np.ndarray]:
        if self.maze is None:
            return {}
        return maze_images(self.maze, self.buffer.obs[: len(self.buffer)], max_q_fn(self.critic.net))

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {
            "critic": self.critic.state_dict(),
            "buffer": self.buffer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "coverage": self.coverage.state_dict() if self.coverage is not None else {},
        }

    def load_state_dict(self, state: dict) -> None:
        self.critic.load_state_dict(state["critic"])
        self.buffer.load_state_dict(state["buffer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.coverage is not None:
            self.coverage.load_state_dict(state["coverage"])
