"""Settings of `mpc` and `mbpo`. Defaults follow the CS285 (fall 2023) hw4 MPC defaults:
dynamics MLP 3x128, Adam 1e-3, ensemble of 3, horizon 10, random shooting with 1000
sequences, 20000 random transitions first, 8000 per iteration, model batch 512, 20 model
gradient steps per iteration.

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlforge.config import option
from rlforge_sac.config import SACConfig


def _check_model_keys(cfg) -> None:
    """Checks shared by both configs (the dynamics-model keys)."""
    if any(int(w) < 1 for w in cfg.model_hidden):
        raise ValueError(f"model_hidden widths must be positive, got {cfg.model_hidden}")
    for name in ("ensemble_size", "model_batch_size", "buffer_size"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    if cfg.model_train_steps < 0:
        raise ValueError(f"model_train_steps must not be negative, got {cfg.model_train_steps}")
    if not cfg.model_lr > 0:
        raise ValueError(f"model_lr must be positive, got {cfg.model_lr}")
    if not 0.0 <= cfg.validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {cfg.validation_fraction}")


@dataclass
class MPCConfig:
    # planner
    planner: Literal["random", "cem"] = option("random", "random: random shooting; cem: cross-entropy method")
    num_sequences: int = option(1000, "action sequences evaluated per plan (per CEM iteration with cem)")
    horizon: int = option(10, "planning horizon (steps of each action sequence)")
    cem_iterations: int = option(4, "CEM: sampling/refitting rounds per plan")
    cem_elites: int = option(5, "CEM: best sequences the sampling distribution is refitted to")
    cem_alpha: float = option(1.0, "CEM: weight of the elites' statistics in each refit (1: replace, <1: smooth)")
    model_rollout: Literal["mean", "ts"] = option(
        "mean", "how sequences are scored over the ensemble while collecting: mean (every member rolls the "
        "sequence out, returns averaged) or ts (trajectory sampling: particles reassigned to random members each "
        "step); evaluation always plans with mean and a fixed sampling seed")

    # dynamics model
    ensemble_size: int = option(3, "dynamics models in the ensemble (one batched module)")
    model_hidden: list[int] = option([128, 128, 128], "hidden layer widths of each dynamics MLP")
    model_activation: str = option("relu", "hidden activation of the dynamics MLPs")
    model_lr: float = option(1.0e-3, "Adam learning rate of the dynamics model")
    model_batch_size: int = option(512, "transitions per model gradient step (per member)")
    model_train_steps: int = option(20, "model gradient steps per iteration (each fit)")
    validation_fraction: float = option(0.1, "share of transitions held out for the model's validation loss")
    learn_termination: bool = option(False, "also predict termination (used when the env has no known termination)")
    use_known_reward: bool = option(True, "use the env's registered reward function instead of the learned reward")
    use_known_termination: bool = option(True, "use the env's registered termination function when it has one")

    # data
    random_steps: int = option(20000, "transitions collected with uniform random actions before the first fit")
    collect_steps: int = option(8000, "env steps (all envs) collected with the planner between model fits")
    buffer_size: int = option(1_000_000, "transitions kept for model training")

    def __post_init__(self):
        _check_model_keys(self)
        for name in ("num_sequences", "horizon", "cem_iterations", "cem_elites", "collect_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.random_steps < 0:
            raise ValueError(f"random_steps must not be negative, got {self.random_steps}")
        if self.planner == "cem" and self.cem_elites > self.num_sequences:
            raise ValueError(f"cem_elites ({self.cem_elites}) cannot exceed num_sequences ({self.num_sequences})")
        if not 0.0 < self.cem_alpha <= 1.0:
            raise ValueError(f"cem_alpha must be in (0, 1], got {self.cem_alpha}")


@dataclass
class MBPOConfig(SACConfig):
    """SAC's keys plus the model and its rollouts. rollout_length 0 is plain SAC (no model),
    1 is Dyna-style one-step rollouts, more is MBPO."""

    rollout_length: int = option(1, "model rollout length: 0 = SAC alone, 1 = Dyna-style, >1 = MBPO")
    rollout_batch_size: int = option(400, "model rollouts started (from real states) per env step")
    real_ratio: float = option(0.05, "share of real transitions in each SAC batch (the rest from model rollouts)")
    model_buffer_size: int = option(400_000, "capacity of the buffer of model-generated transitions")
    sac_updates_per_step: int = option(1, "SAC updates (critic and actor) per real env step")
    model_train_every: int = option(250, "env steps between dynamics-model fits")

    ensemble_size: int = option(7, "dynamics models in the ensemble (one batched module)")
    model_hidden: list[int] = option([200, 200, 200, 200], "hidden layer widths of each dynamics MLP")
    model_activation: str = option("relu", "hidden activation of the dynamics MLPs")
    model_lr: float = option(1.0e-3, "Adam learning rate of the dynamics model")
    model_batch_size: int = option(256, "transitions per model gradient step (per member)")
    model_train_steps: int = option(200, "model gradient steps per fit")
    validation_fraction: float = option(0.1, "share of transitions held out for the model's validation loss")
    learn_termination: bool = option(False, "also predict termination (used when the env has no known termination)")
    use_known_reward: bool = option(True, "use the env's registered reward function instead of the learned reward")
    use_known_termination: bool = option(True, "use the env's registered termination function when it has one")

    def __post_init__(self):
        super().__post_init__()
        _check_model_keys(self)
        if self.rollout_length < 0:
            raise ValueError(f"rollout_length must not be negative, got {self.rollout_length}")
        for name in ("rollout_batch_size", "model_buffer_size", "sac_updates_per_step", "model_train_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 < self.real_ratio <= 1.0:
            raise ValueError(f"real_ratio must be in (0, 1], got {self.real_ratio}")
