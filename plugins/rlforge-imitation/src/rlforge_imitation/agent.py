"""Behaviour cloning and DAgger (Ross, Gordon and Bagnell 2011), as in CS285 hw1.

  BCAgent      supervised learning of the expert's actions from a dataset: every iteration
               `train_steps` gradient steps on minibatches of (obs, expert action), MSE on
               the mean action or the Gaussian negative log-likelihood. The env steps the
               engine collects with the learner are not learnt from (BC is offline); they
               give the training-return curve.
  DAggerAgent  BC on the expert data first; every later iteration relabels each observation
               the learner visited with the expert's action, adds it to the data (aggregation)
               and trains again. With beta > 0 a collected step takes the expert's action with
               probability beta_i = beta * beta_decay^(i-1) (i counts collecting iterations),
               drawn from a generator seeded by (run seed, iteration, observations), so acting
               changes no agent state and runs repeat under a seed; evaluation never mixes.
               The labels take the form of the expert data's actions (`labels`): the CS285 data
               hold the expert's raw action, beyond the env's bounds for 44% of Hopper's; labels
               clipped to the bounds next to them made DAgger unstable there (issue 20).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch
from gymnasium import spaces

from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.errors import RLForgeError
from rlforge.nn import LOG_SQRT_2PI, load_optimizer_state, make_adam, mlp, optimizer_state, resolve_device

from rlforge_imitation.datasets import load_dataset
from rlforge_imitation.experts import load_expert


class BCPolicy(Policy):
    """A Gaussian MLP policy: standardised obs -> MLP -> mean; a learned state-independent
    log std. Acts with the mean, or (stochastic, loss gaussian) a sample; clipped to bounds."""

    def __init__(self, obs_dim: int, action_space: spaces.Box, hidden: list[int], activation: str,
                 init_log_std: float, stochastic: bool):
        super().__init__()
        self.action_shape = tuple(action_space.shape)
        act_dim = int(np.prod(self.action_shape))
        self.net = mlp(obs_dim, list(hidden), act_dim, activation)
        self.log_std = torch.nn.Parameter(torch.full((act_dim,), float(init_log_std)))
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.register_buffer("action_low", torch.as_tensor(action_space.low.reshape(-1), dtype=torch.float32), persistent=False)
        self.register_buffer("action_high", torch.as_tensor(action_space.high.reshape(-1), dtype=torch.float32), persistent=False)
        self.stochastic = stochastic
        self.mixer = None  # DAgger: (obs, actions) -> actions with some replaced by the expert's

    def mean(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net((obs - self.obs_mean) / self.obs_std)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        with torch.inference_mode():
            n = len(obs)
            x = torch.as_tensor(obs, dtype=torch.float32, device=self.obs_mean.device).reshape(n, -1)
            actions = self.mean(x)
            if self.stochastic and not deterministic:
                actions = actions + self.log_std.exp() * torch.randn_like(actions)
            actions = torch.clamp(actions, self.action_low, self.action_high).cpu().numpy()
        if self.mixer is not None and not deterministic:
            actions = self.mixer(obs, actions)
        return actions.reshape(n, *self.action_shape)

    def export_module(self) -> torch.nn.Module:
        """The mean action of standardised observations, clipped into the bounds (`rlforge export`)."""
        from rlforge.export import blocks

        return torch.nn.Sequential(torch.nn.Flatten(), blocks.Standardize(self.obs_mean, self.obs_std),
                                   blocks.frozen(self.net), blocks.Clip(self.action_low, self.action_high),
                                   blocks.ActionShape(self.action_shape))


def bc_loss(policy: BCPolicy, obs: torch.Tensor, actions: torch.Tensor, kind: str) -> torch.Tensor:
    mean = policy.mean(obs)
    if kind == "mse":
        return (mean - actions).pow(2).mean()
    z = (actions - mean) * torch.exp(-policy.log_std)
    return (0.5 * z.pow(2) + policy.log_std + LOG_SQRT_2PI).sum(-1).mean()


class BCAgent(Agent):
    """Behaviour cloning from a fixed dataset of expert (obs, action) pairs."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        if not isinstance(action_space, spaces.Box) or not isinstance(observation_space, spaces.Box):
            raise ValueError(f"imitation needs Box observation and action spaces, got {observation_space} and {action_space}")
        cfg = config
        self.obs_shape, self.action_shape = tuple(observation_space.shape), tuple(action_space.shape)
        self.obs_dim = int(np.prod(self.obs_shape))
        data = load_dataset(cfg.dataset).first_episodes(cfg.dataset_episodes)
        if tuple(data.obs.shape[1:]) != self.obs_shape or tuple(data.actions.shape[1:]) not in (self.action_shape, (int(np.prod(self.action_shape)),)):
            raise RLForgeError(f"dataset {cfg.dataset!r} holds observations {data.obs.shape[1:]} and actions "
                               f"{data.actions.shape[1:]}; the env has {self.obs_shape} and {self.action_shape}")
        self.data_obs = data.obs.reshape(len(data), -1).astype(np.float32)
        self.data_actions = data.actions.reshape(len(data), -1).astype(np.float32)
        self.data_info = {"episodes": len(data.episode_ends()), "steps": len(data),
                          "return_mean": float(np.mean(data.episode_returns())) if len(data.episode_ends()) else None}
        self.steps_per_iteration = cfg.collect_steps
        self.policy = BCPolicy(self.obs_dim, action_space, cfg.hidden, cfg.activation, cfg.init_log_std,
                               stochastic=cfg.loss == "gaussian").to(self.device)
        if cfg.normalize_obs:
            with torch.no_grad():
                self.policy.obs_mean.copy_(torch.as_tensor(self.data_obs.mean(0)))
                self.policy.obs_std.copy_(torch.as_tensor(np.maximum(self.data_obs.std(0), 1e-3)))
        params = [p for n, p in self.policy.named_parameters() if cfg.loss == "gaussian" or n != "log_std"]
        self.optimizer = make_adam(params, cfg.lr)
        self.rng = np.random.default_rng(torch.initial_seed())
        self.iterations = 0

    # the data trained on: the expert's, plus what DAgger aggregated
    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.data_obs, self.data_actions

    def observe(self, batch: Transitions) -> None:
        """BC learns nothing from the learner's own steps."""

    def update(self, progress: Progress) -> dict[str, float]:
        self.iterations += 1
        return self.train(self.config.train_steps)

    def train(self, steps: int) -> dict[str, float]:
        obs_np, actions_np = self.training_data()
        obs = torch.as_tensor(obs_np, device=self.device)
        actions = torch.as_tensor(actions_np, device=self.device)
        total = 0.0
        for _ in range(steps):
            idx = torch.as_tensor(self.rng.integers(0, len(obs), size=self.config.train_batch_size), device=self.device)
            loss = bc_loss(self.policy, obs[idx], actions[idx], self.config.loss)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += loss.item()
        metrics = {"charts/data_size": float(len(obs)), "charts/iteration": float(self.iterations)}
        if steps:
            metrics[f"losses/{self.config.loss}"] = total / steps
        if self.config.loss == "gaussian":
            metrics["charts/std"] = float(self.policy.log_std.detach().exp().mean())
        return metrics

    def state_dict(self) -> dict:
        return {"policy": self.policy.state_dict(), "optimizer": optimizer_state(self.optimizer),
                "rng": self.rng.bit_generator.state, "iterations": self.iterations}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.iterations = int(state["iterations"])


class DAggerAgent(BCAgent):
    """DAgger: aggregate the learner's visited observations, labelled by the expert."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        super().__init__(config, observation_space, action_space, num_envs, device)
        self.expert = load_expert(config.expert, observation_space, action_space)
        capacity = max(0, config.max_data - len(self.data_obs))
        self.new_obs = np.zeros((capacity, self.obs_dim), dtype=np.float32)
        self.new_actions = np.zeros((capacity, self.data_actions.shape[1]), dtype=np.float32)
        self.new_size, self.new_pos = 0, 0
        self.observed = 0  # batches observed: the first is the untrained policy's and is not aggregated
        self.last_gap = None
        self.mix_seed = int(torch.initial_seed()) % 2**63
        self.policy.mixer = self._mix
        self.action_low, self.action_high = action_space.low.reshape(-1), action_space.high.reshape(-1)
        self.raw_labels = self._wants_raw_labels(config.labels)

    def _wants_raw_labels(self, labels: str) -> bool:
        """Raw labels where the expert data's actions are raw. The two forms disagree wherever the
        expert saturates, and a mix of them gives the learner contradictory targets."""
        if labels != "auto":
            return labels == "raw"
        tolerance = 1e-5
        outside = (self.data_actions < self.action_low - tolerance) | (self.data_actions > self.action_high + tolerance)
        return bool(outside.any())

    def beta(self) -> float:
        """Probability of the expert's action in the batch being collected now."""
        if self.observed == 0:
            return 0.0
        return self.config.beta * self.config.beta_decay ** (self.observed - 1)

    def _mix(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The collecting actions: the learner's, some replaced by the expert's (beta), then noise."""
        beta, noise = self.beta(), self.config.collect_noise
        if beta <= 0.0 and noise <= 0.0:
            return actions
        rng = self._mix_generator(obs)
        actions = actions.copy()
        flat = actions.reshape(len(obs), -1)
        if beta > 0.0:
            use_expert = rng.random(len(obs)) < beta
            if use_expert.any():
                flat[use_expert] = self.expert_actions(obs[use_expert])
        if noise > 0.0:
            half_range = (self.action_high - self.action_low) / 2
            flat[:] = np.clip(flat + noise * half_range * rng.standard_normal(flat.shape), self.action_low, self.action_high)
        return actions

    def _mix_generator(self, obs: np.ndarray) -> np.random.Generator:
        """The mixing draws: a generator seeded from (run seed, iteration, the observations).
        Acting changes no agent state, so a resumed or reloaded agent draws the same."""
        digest = zlib.crc32(np.ascontiguousarray(obs).tobytes())
        return np.random.default_rng([self.mix_seed, self.observed, digest])

    def expert_actions(self, obs: np.ndarray) -> np.ndarray:
        """What the expert does in the env: its action clipped to the bounds."""
        return np.asarray(self.expert.act(obs, deterministic=True), dtype=np.float32).reshape(len(obs), -1)

    def expert_labels(self, obs: np.ndarray) -> np.ndarray:
        """What the learner is taught: the expert's raw action or the clipped one (see `labels`).
        Experts without a raw action (rlforge runs: SAC squashes into the bounds) give their action."""
        if self.raw_labels and hasattr(self.expert, "mean_action"):
            return np.asarray(self.expert.mean_action(obs), dtype=np.float32).reshape(len(obs), -1)
        return self.expert_actions(obs)

    def observe(self, batch: Transitions) -> None:
        self.observed += 1
        if self.observed == 1:
            return  # iteration 0 of DAgger trains on the expert data alone
        obs = batch.flat().obs.reshape(len(batch), -1).astype(np.float32)
        labels = self.expert_labels(obs)
        taken = batch.flat().actions.reshape(len(batch), -1)
        self.last_gap = float(np.mean((taken - np.clip(labels, self.action_low, self.action_high)) ** 2))
        self.add(obs, labels)

    def add(self, obs: np.ndarray, labels: np.ndarray) -> None:
        capacity = len(self.new_obs)
        if capacity == 0:
            return
        for o, a in zip(np.array_split(obs, max(1, -(-len(obs) // capacity))),
                        np.array_split(labels, max(1, -(-len(obs) // capacity)))):
            n = len(o)
            idx = (self.new_pos + np.arange(n)) % capacity
            self.new_obs[idx], self.new_actions[idx] = o, a
            self.new_pos = (self.new_pos + n) % capacity
            self.new_size = min(capacity, self.new_size + n)

    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        if self.new_size == 0:
            return self.data_obs, self.data_actions
        return (np.concatenate([self.data_obs, self.new_obs[:self.new_size]]),
                np.concatenate([self.data_actions, self.new_actions[:self.new_size]]))

    def update(self, progress: Progress) -> dict[str, float]:
        metrics = super().update(progress)
        metrics["charts/relabelled"] = float(self.new_size)
        metrics["charts/beta"] = self.beta()
        if self.last_gap is not None:
            metrics["charts/expert_action_mse"] = self.last_gap
        return metrics

    def state_dict(self) -> dict:
        return {**super().state_dict(), "new_obs": self.new_obs[:self.new_size].copy(),
                "new_actions": self.new_actions[:self.new_size].copy(), "new_pos": self.new_pos,
                "observed": self.observed, "last_gap": self.last_gap,
                "mix_seed": self.mix_seed}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        n = len(state["new_obs"])
        self.new_obs[:n], self.new_actions[:n] = state["new_obs"], state["new_actions"]
        self.new_size, self.new_pos = n, int(state["new_pos"])
        self.observed, self.last_gap = int(state["observed"]), state["last_gap"]
        self.mix_seed = int(state["mix_seed"])
