"""Exploration with random network distillation (Burda et al. 2018), as in CS285 hw5.

A fixed random network f (weights and biases drawn from N(0, 1), so that its outputs differ
from a freshly initialised predictor's) and a predictor f^ trained by MSE on the states the
agent reaches. The prediction error ||f(s') - f^(s')|| is small on familiar states and large
on new ones. Divided by a running standard deviation (an exponential moving average of the
batches' standard deviations, as the course normalises it), times `rnd_weight`, it is the
reward of an exploration critic. An exploitation critic learns the env reward from the same
batches; both are double DQN critics.

Acting (the course's explore-or-exploit agent): collecting is epsilon-greedy in the
exploration critic; evaluation is greedy in the exploitation critic. `exploration: random`
collects with uniform random actions instead (the course's baseline) and trains only the
exploitation critic.

Everything collected is kept in order and handed to the engine as the run's dataset
(`collected_dataset`), the data the offline algorithms learn from.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlforge.agent import Agent, Progress, Transitions
from rlforge.errors import RLForgeError
from rlforge.nn import load_optimizer_state, make_adam, mlp, optimizer_state, resolve_device

from rlforge_offline.discrete import (Coverage, CriticStep, EpsilonGreedyPolicy, OnlineSchedule, QCritic, buffer_dataset,
                                      buffer_seed, check_spaces, dataset_buffer, find_maze, load_discrete_dataset,
                                      max_q_fn, maze_images, maze_values, step_metrics)

# ----------------------------------------------------------------------------- the bonus


class RunningStd:
    """An exponential moving average of batch standard deviations; the first batch sets it
    (the course starts at 1, which makes the first bonuses as large as the raw errors)."""

    def __init__(self, decay: float):
        self.decay = float(decay)
        self.std: float | None = None

    def normalise(self, error: torch.Tensor) -> torch.Tensor:
        """`error` divided by the running std, then the statistics updated with this batch."""
        batch_std = float(error.std()) if error.numel() > 1 else 0.0
        if self.std is None:
            self.std = batch_std if batch_std > 0 else 1.0
        normalised = error / (self.std + 1e-8)
        self.std = self.decay * self.std + (1.0 - self.decay) * batch_std
        return normalised

    def scale(self, error: torch.Tensor) -> torch.Tensor:
        """`error` divided by the running std, statistics unchanged (for pictures)."""
        return error / ((self.std if self.std is not None else 1.0) + 1e-8)

    def state_dict(self) -> dict:
        return {"std": self.std}

    def load_state_dict(self, state: dict) -> None:
        self.std = None if state["std"] is None else float(state["std"])


def _normal_init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight)
        nn.init.normal_(module.bias)


class RNDModel(nn.Module):
    """The fixed random target f and the trained predictor f^."""

    def __init__(self, obs_dim: int, hidden, output: int, activation: str = "relu"):
        super().__init__()
        self.target = mlp(obs_dim, list(hidden), output, activation)
        self.target.apply(_normal_init)
        self.target.requires_grad_(False)
        self.predictor = mlp(obs_dim, list(hidden), output, activation)

    def error(self, obs: torch.Tensor) -> torch.Tensor:
        """||f(s) - f^(s)|| per row (no graph)."""
        with torch.no_grad():
            return torch.linalg.vector_norm(self.predictor(obs) - self.target(obs), dim=-1)

    def loss(self, obs: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.target(obs)
        return F.mse_loss(self.predictor(obs), target)


# ----------------------------------------------------------------------------- agent


class RNDAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        obs_dim, num_actions = check_spaces("rnd", observation_space, action_space)
        dataset = load_discrete_dataset(cfg.dataset, cfg.dataset_size, observation_space, action_space) \
            if cfg.dataset else None
        if dataset is None and cfg.offline_steps != 0:
            raise RLForgeError("rnd with offline_steps other than 0 learns from a dataset first: set dataset=..., "
                               "or offline_steps=0")
        self.offline_steps = cfg.offline_steps
        self.steps_per_iteration = 1
        self.random_steps = 0
        self.explores = cfg.exploration == "rnd"

        def critic():
            return QCritic(obs_dim, num_actions, cfg.hidden, cfg.activation, cfg.lr, cfg.target_period,
                           cfg.max_grad_norm, self.device)

        self.exploit = critic()
        self.optimizers = {"exploit": self.exploit.optimizer}
        if self.explores:
            self.explore = critic()
            self.rnd = RNDModel(obs_dim, cfg.rnd_hidden, cfg.rnd_output, cfg.activation).to(self.device)
            self.rnd_optimizer = make_adam(self.rnd.predictor.parameters(), cfg.rnd_lr)
            self.optimizers.update({"explore": self.explore.optimizer, "rnd": self.rnd_optimizer})
            self.error_std = RunningStd(cfg.rnd_norm_decay)
            self.policy = EpsilonGreedyPolicy(self.exploit.net, num_actions, cfg.epsilon, explore_q=self.explore.net)
        else:
            self.explore = self.rnd = self.rnd_optimizer = self.error_std = None
            self.policy = EpsilonGreedyPolicy(self.exploit.net, num_actions, epsilon=1.0)

        self.dataset_rows = len(dataset) if dataset is not None else 0
        self.buffer = dataset_buffer(dataset, self.dataset_rows + cfg.buffer_size, buffer_seed(), self.device,
                                     obs_shape=tuple(observation_space.shape))
        self.schedule = OnlineSchedule(cfg.learning_starts)
        self.maze = find_maze(env_id)
        self.coverage = Coverage(self.maze) if self.maze is not None else None
        if self.coverage is not None and dataset is not None:
            self.coverage.add(dataset.obs)
            self.coverage.add(dataset.next_obs)
        self._last: dict[str, torch.Tensor | CriticStep] = {}

    # ------------------------------------------------------------------ experience

    def observe(self, batch: Transitions) -> None:
        self.buffer.add(batch)
        self.schedule.observed(len(batch))
        if self.coverage is not None:
            self.coverage.add(batch.obs)
            self.coverage.add(batch.next_obs)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        for _ in range(self.schedule.due(progress)):
            self.gradient_step(self.buffer.sample(self.config.batch_size))
        return self.metrics() if progress.metrics_due else {}

    def bonus(self, next_obs: torch.Tensor) -> torch.Tensor:
        """rnd_weight * the normalised RND error of s' (updates the running std)."""
        return self.config.rnd_weight * self.error_std.normalise(self.rnd.error(next_obs))

    def gradient_step(self, batch: dict[str, torch.Tensor]) -> None:
        """One step of each critic (and of the RND predictor) on one batch."""
        cfg = self.config
        last = {"exploit": self.exploit.td_step(batch, cfg.gamma, cfg.double_q)}
        if self.explores:
            bonus = self.bonus(batch["next_obs"])
            last["explore"] = self.explore.td_step(batch, cfg.gamma, cfg.double_q, rewards=bonus)
            rnd_loss = self.rnd.loss(batch["next_obs"])
            self.rnd_optimizer.zero_grad(set_to_none=True)
            rnd_loss.backward()
            self.rnd_optimizer.step()
            last.update({"bonus": bonus.mean(), "rnd_loss": rnd_loss.detach()})
        self._last = last

    def metrics(self) -> dict[str, float]:
        values = {}
        if self._last:
            values.update(step_metrics(self._last["exploit"]))
        if "explore" in self._last:
            values.update(step_metrics(self._last["explore"], "explore_critic", "explore_"))
            rnd_loss, bonus = torch.stack([self._last["rnd_loss"], self._last["bonus"]]).tolist()
            values.update({"losses/rnd": rnd_loss, "charts/rnd_bonus_mean": bonus,
                           "charts/rnd_error_std": float(self.error_std.std)})
        if self.coverage is not None:
            values.update(self.coverage.metrics())
        return values

    # ------------------------------------------------------------------ data and pictures

    def collected_dataset(self):
        """Every transition collected online, in order (episodes of one env after another)."""
        kept = len(self.buffer)
        dropped = self.dataset_rows + self.schedule.collected - kept  # overwritten when the buffer is full
        start = max(0, self.dataset_rows - dropped)
        dataset = buffer_dataset(self.buffer, start, {"exploration": self.config.exploration})
        if self.num_envs > 1 and dropped == 0:
            dataset = episodes_by_env(dataset, self.num_envs)
        return dataset

    def evaluation_images(self) -> dict[str, np.ndarray]:
        if self.maze is None:
            return {}
        images = maze_images(self.maze, self.buffer.obs[: len(self.buffer)], max_q_fn(self.exploit.net))
        if self.explores:
            from rlforge_offline.maze import heatmap_image

            def normalised_error(obs: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    error = self.rnd.error(torch.as_tensor(obs, device=self.device))
                    return self.error_std.scale(error).numpy(force=True)

            images["rnd_error"] = heatmap_image(self.maze, maze_values(self.maze, normalised_error))
        return images

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        state = {
            "exploit": self.exploit.state_dict(),
            "buffer": self.buffer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "coverage": self.coverage.state_dict() if self.coverage is not None else {},
        }
        if self.explores:
            state.update({"explore": self.explore.state_dict(), "rnd": self.rnd.state_dict(),
                          "rnd_optimizer": optimizer_state(self.rnd_optimizer),
                          "error_std": self.error_std.state_dict()})
        return state

    def load_state_dict(self, state: dict) -> None:
        self.exploit.load_state_dict(state["exploit"])
        self.buffer.load_state_dict(state["buffer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.coverage is not None:
            self.coverage.load_state_dict(state["coverage"])
        if self.explores:
            self.explore.load_state_dict(state["explore"])
            self.rnd.load_state_dict(state["rnd"])
            load_optimizer_state(self.rnd_optimizer, state["rnd_optimizer"])
            self.error_std.load_state_dict(state["error_std"])


def episodes_by_env(dataset, num_envs: int):
    """Rows collected from `num_envs` envs stepped together (row t * num_envs + e) regrouped
    env by env, so that each episode's steps are contiguous. The last row of each env's stream
    is marked truncated where its episode was still running (it ends with the data)."""
    from rlforge.datasets import FIELDS, Dataset

    n = len(dataset) - len(dataset) % num_envs
    order = np.arange(n).reshape(-1, num_envs).T.reshape(-1)  # env 0's rows, then env 1's, ...
    fields = {k: getattr(dataset, k)[order] for k in FIELDS}
    stream_ends = np.arange(1, num_envs + 1) * (n // num_envs) - 1
    if len(stream_ends) and n:
        fields["truncated"][stream_ends] |= ~fields["terminated"][stream_ends]
    return Dataset(**fields, metadata=dataset.metadata)
