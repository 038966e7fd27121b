"""DQN's settings. Defaults are the CS285 (fall 2023) hw3 DQN defaults: a 2x64 MLP, Adam
1e-3, discount 0.99, a hard target copy every 1,000 env steps, batch 128, learning from
step 20,000, epsilon from 1 to 0.02 over the first 10% of the steps, MSE loss, no gradient
clipping, one gradient step per env step, replay 1M.

Observations of three dimensions (stacked frames [stack, H, W], as the Atari ids of this
plugin give) get the Nature DQN convolutional network (Mnih et al. 2015) instead of the MLP.

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlforge.config import option


@dataclass
class DQNConfig:
    # network
    network: Literal["auto", "mlp", "cnn"] = option(
        "auto", "Q-network: mlp, cnn (Nature DQN over stacked frames), or auto (cnn for image observations)")
    hidden: list[int] = option([64, 64], "hidden layer widths of the MLP Q-network")
    activation: str = option("relu", "hidden activation of the MLP (relu, tanh, elu, gelu, leaky_relu)")
    dueling: bool = option(False, "dueling heads: Q = V + A - mean(A) (Wang et al. 2016)")
    hand_written_passes: bool = option(
        True, "MLP Q-networks with relu or tanh on the CPU: act in NumPy and take gradient steps with a "
              "hand-written backward pass (same values as autograd, fewer operations); false: autograd")

    # optimisation
    lr: float = option(1.0e-3, "Adam learning rate (the initial one when lr_schedule is linear)")
    lr_schedule: Literal["constant", "linear"] = option(
        "constant", "learning rate: constant, or linear from lr to lr_end over lr_fraction of total_steps")
    lr_end: float = option(0.0, "final learning rate of the linear schedule")
    lr_fraction: float = option(1.0, "fraction of total_steps over which the linear schedule decays")
    adam_eps: float = option(1.0e-8, "Adam epsilon")
    batch_size: int = option(128, "transitions per gradient step")
    loss: Literal["mse", "huber"] = option("mse", "TD loss: mse, or huber (smooth L1, delta 1)")
    max_grad_norm: float | None = option(None, "clip the gradient's global norm to this value (null: no clipping)")
    train_frequency: int = option(1, "env steps (all envs) between training phases")
    updates_per_step: float = option(
        1.0, "gradient steps per env step; a phase takes train_frequency * updates_per_step steps (a whole number)")

    # data
    gamma: float = option(0.99, "discount factor")
    buffer_size: int = option(1_000_000, "replay capacity in stored observations (one frame each for stacked frames)")
    learning_starts: int = option(20_000, "env steps (all envs) before the first gradient step")
    n_step: int = option(1, "n-step returns: bootstrap after n rewards (stops at termination, bootstraps at truncation)")
    clip_rewards: bool | None = option(
        None, "learn from sign(reward) (null: on for image observations, i.e. Atari, off otherwise); "
              "episode returns are always the raw score")
    episodic_life: bool = option(
        True, "treat the loss of a life as terminal for learning where the env reports it (Atari); "
              "the reported episode is still the whole game")

    # target network
    double_q: bool = option(False, "double Q-learning: the online network picks the next action, the target network values it")
    target_update: Literal["hard", "soft"] = option("hard", "target network: hard (copy every target_period env steps) or soft (Polyak, tau)")
    target_period: int = option(1000, "env steps between hard target copies")
    tau: float = option(0.005, "Polyak rate of soft target updates (per gradient step)")

    # exploration
    epsilon_start: float = option(1.0, "initial epsilon of epsilon-greedy exploration")
    epsilon_end: float = option(0.02, "final epsilon")
    epsilon_fraction: float = option(0.1, "fraction of total_steps over which epsilon decays linearly")

    def __post_init__(self):
        if any(int(w) < 1 for w in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")
        for name in ("batch_size", "buffer_size", "n_step", "target_period", "train_frequency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.learning_starts < 0:
            raise ValueError(f"learning_starts must not be negative, got {self.learning_starts}")
        for name in ("lr", "adam_eps", "updates_per_step"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        phase = self.train_frequency * self.updates_per_step
        if abs(phase - round(phase)) > 1e-9 or round(phase) < 1:
            raise ValueError(f"train_frequency * updates_per_step must be a whole number of gradient steps, got "
                             f"{self.train_frequency} * {self.updates_per_step} = {phase:g}")
        if self.lr_end < 0:
            raise ValueError(f"lr_end must not be negative, got {self.lr_end}")
        for name in ("lr_fraction", "epsilon_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        for name in ("epsilon_start", "epsilon_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be positive (or null for no clipping), got {self.max_grad_norm}")

    @property
    def updates_per_phase(self) -> int:
        return int(round(self.train_frequency * self.updates_per_step))
