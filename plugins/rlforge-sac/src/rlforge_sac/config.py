"""SAC's settings. Defaults are the published SAC (Haarnoja et al. 2018, "Soft Actor-Critic
Algorithms and Applications", arXiv:1812.05905, Table 1): 2x256 ReLU networks, Adam 3e-4,
batch 256, replay 1e6, discount 0.99, two critics with a clipped (min) double-Q backup,
reparametrised actor gradient, temperature tuned towards an entropy of -dim(A), soft target
updates with tau 0.005, one gradient step per environment step.

The CS285 (hw3) variants are options: one critic, the "doubleq" swap, a "mean" backup,
REINFORCE actor gradients with several samples, a fixed temperature, hard target updates.

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlforge.config import option
from rlforge.config_checks import squashed_gaussian_entropy

BACKUPS = ("single", "doubleq", "min", "mean", "redq")

# The settings `compile_update: whole` covers (SAC's defaults; rlforge_sac/whole_update.py).
WHOLE_UPDATE_NEEDS = {"actor_gradient": "reparametrize", "updates_per_step": 1, "target_update": "soft",
                      "auto_temperature": True}


@dataclass
class SACConfig:
    # networks
    actor_hidden: list[int] = option([256, 256], "hidden layer widths of the actor MLP")
    critic_hidden: list[int] = option([256, 256], "hidden layer widths of each critic MLP")
    activation: str = option("relu", "hidden activation of actor and critics (relu, tanh, elu, gelu, leaky_relu)")
    log_std_min: float = option(-20.0, "lower clamp of the actor's log standard deviation")
    log_std_max: float = option(2.0, "upper clamp of the actor's log standard deviation")

    # optimisation
    actor_lr: float = option(3.0e-4, "Adam learning rate of the actor")
    critic_lr: float = option(3.0e-4, "Adam learning rate of the critics")
    temperature_lr: float = option(3.0e-4, "Adam learning rate of the log-temperature (when auto_temperature)")
    batch_size: int = option(256, "transitions per gradient step")
    updates_per_step: int = option(1, "critic gradient steps per environment step (the actor steps once)")

    # data
    gamma: float = option(0.99, "discount factor")
    buffer_size: int = option(1_000_000, "replay buffer capacity (transitions)")
    random_steps: int = option(5000, "environment steps (all envs) taken with uniform random actions first")
    learning_starts: int = option(5000, "environment steps (all envs) before the first gradient step")

    # critics and their backup
    num_critics: int = option(2, "critics trained side by side (one batched ensemble)")
    backup: Literal["single", "doubleq", "min", "mean", "redq"] = option(
        "min", "target over critics: single, doubleq (swap two), min (clipped double-Q), mean, redq (min of a random subset)")
    redq_subset: int = option(2, "size of the random subset of target critics for backup redq")

    # actor
    actor_gradient: Literal["reparametrize", "reinforce"] = option(
        "reparametrize", "actor gradient estimator: reparametrize (pathwise) or reinforce (score function)")
    actor_samples: int = option(1, "actions sampled per state for the actor loss")
    actor_q: Literal["min", "mean"] = option("min", "how the critics are combined in the actor loss")

    # entropy
    temperature: float = option(1.0, "entropy temperature alpha: the fixed value, or the initial one when tuned")
    auto_temperature: bool = option(True, "tune the temperature towards target_entropy")
    target_entropy: float | None = option(None, "entropy the tuned temperature aims for (null: -action_dim)")
    backup_entropy: bool = option(True, "include the entropy bonus in the critic target")

    # target networks
    target_update: Literal["soft", "hard"] = option("soft", "target critic update: soft (Polyak, tau) or hard (copy every target_period)")
    tau: float = option(0.005, "Polyak rate of soft target updates")
    target_period: int = option(1000, "critic updates between hard target copies")

    # speed
    compile_update: bool | Literal["critic", "actor", "whole"] = option(
        False, "torch.compile the loss math: true (critic and actor), critic or actor only, whole (the whole update, "
               "optimiser steps included, as one graph; SAC's default update only), false; eager where compiling "
               "fails. Off by default: faster on an AVX-512 CPU but 20-60 s to compile at the start "
               "(docs/performance.md)")

    def __post_init__(self):
        for name in ("actor_hidden", "critic_hidden"):
            widths = getattr(self, name)
            if any(int(w) < 1 for w in widths):
                raise ValueError(f"{name} widths must be positive, got {widths}")
        for name in ("batch_size", "buffer_size", "updates_per_step", "num_critics",
                     "actor_samples", "target_period"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("random_steps", "learning_starts"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("actor_lr", "critic_lr", "temperature_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        squashed_gaussian_entropy(self)
        if self.backup == "single" and self.num_critics != 1:
            raise ValueError(f"backup 'single' needs num_critics: 1, got num_critics: {self.num_critics} "
                             "(use 'min', 'mean' or 'redq' with several critics)")
        if self.backup == "doubleq" and self.num_critics != 2:
            raise ValueError(f"backup 'doubleq' swaps the targets of two critics, so it needs num_critics: 2, "
                             f"got num_critics: {self.num_critics}")
        if self.compile_update == "whole":
            other = [f"{name}: {getattr(self, name)}" for name, value in WHOLE_UPDATE_NEEDS.items()
                     if getattr(self, name) != value]
            if other:
                raise ValueError(f"compile_update 'whole' compiles SAC's default update only; it does not "
                                 f"support {', '.join(other)}")
        if self.backup == "redq" and not 1 <= self.redq_subset <= self.num_critics:
            raise ValueError(f"backup 'redq' needs 1 <= redq_subset <= num_critics, got redq_subset: "
                             f"{self.redq_subset} with num_critics: {self.num_critics}")
