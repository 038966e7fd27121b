"""The settings every discrete Q-learning agent of this plugin shares (rnd, cql, awac, iql).

Defaults are the CS285 (fall 2023) hw5 DQN base: a 2x64 tanh MLP (the course's build_mlp
default), Adam 1e-3, discount 0.95, a hard target copy every 300 gradient steps, double Q-learning, batch 128, epsilon-greedy
with a constant epsilon of 0.3, no gradient clipping.

Each algorithm's config subclasses QLearningConfig once and adds its own keys. No torch or
gymnasium here: `rlforge list` and `rlforge config` import these modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rlforge.config import option


@dataclass
class QLearningConfig:
    # network
    hidden: list[int] = option([64, 64], "hidden layer widths of the Q-network MLP")
    activation: str = option("tanh", "hidden activation of the MLPs (tanh, the course's; relu, elu, gelu, leaky_relu)")

    # optimisation
    lr: float = option(1.0e-3, "Adam learning rate of the Q-network")
    batch_size: int = option(128, "transitions per gradient step")
    max_grad_norm: float | None = option(None, "clip the Q-network gradient's global norm to this value (null: no clipping)")

    # TD learning
    gamma: float = option(0.95, "discount factor")
    double_q: bool = option(True, "double Q-learning: the online network picks the next action, the target network values it")
    target_period: int = option(300, "gradient steps between hard copies of the Q-network into its target")

    # acting
    epsilon: float = option(0.3, "probability of a uniformly random action while collecting (constant)")

    # data
    dataset: str = option(
        "", "offline data to start from: an rlforge .npz, a CS285 .pkl, a Minari dataset (id or folder) or a run "
            "folder holding dataset/ ('': none)")
    dataset_size: int = option(0, "use only the first N transitions of the dataset (0: all of it)")
    offline_steps: int | None = option(
        None, "gradient steps on the dataset before collecting online (null: the whole run offline; 0: online only)")
    buffer_size: int = option(1_000_000, "replay capacity for transitions collected online (on top of the dataset)")
    learning_starts: int = option(0, "env steps collected online before the first online gradient step")

    def __post_init__(self):
        if not self.hidden or any(int(w) < 1 for w in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")
        for name in ("lr", "gamma", "epsilon") + (("max_grad_norm",) if self.max_grad_norm is not None else ()):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be positive (or null for no clipping), got {self.max_grad_norm}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        for name in ("batch_size", "target_period", "buffer_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("dataset_size", "learning_starts") + (("offline_steps",) if self.offline_steps is not None else ()):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
