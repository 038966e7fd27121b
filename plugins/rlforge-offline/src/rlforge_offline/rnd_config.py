"""RND's settings: the shared Q-learning keys (q_config) plus the random network distillation
bonus and the choice of exploration.

Defaults are the CS285 (fall 2023) hw5 ones: rnd_weight 1.0, target and predictor MLPs of
2x400 with 5 outputs, Adam 1e-3 for the predictor; online from the first step
(offline_steps 0). The course's runs are 10,000 env steps (total_steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rlforge.config import option

from rlforge_offline.q_config import QLearningConfig


@dataclass
class RNDConfig(QLearningConfig):
    offline_steps: int | None = option(
        0, "gradient steps on `dataset` before collecting (0: online from the start, as the course; null: no collecting)")
    exploration: Literal["rnd", "random"] = option(
        "rnd", "rnd: collect epsilon-greedily in the exploration critic (the RND bonus); random: uniform random actions "
               "(the course's baseline). Evaluation is greedy in the exploitation critic (the env reward) either way")
    rnd_weight: float = option(1.0, "the exploration critic's reward: rnd_weight * the normalised RND error of s'")
    rnd_hidden: list[int] = option([400, 400], "hidden widths of the RND target and predictor MLPs")
    rnd_output: int = option(5, "output size of the RND target and predictor")
    rnd_lr: float = option(1.0e-3, "Adam learning rate of the RND predictor")
    rnd_norm_decay: float = option(
        0.99, "the RND error is divided by a running standard deviation: an exponential moving average of the "
              "batches' standard deviations with this decay (the course's normalisation)")

    def __post_init__(self):
        super().__post_init__()
        if not self.rnd_hidden or any(int(w) < 1 for w in self.rnd_hidden):
            raise ValueError(f"rnd_hidden widths must be positive, got {self.rnd_hidden}")
        if self.rnd_output < 1:
            raise ValueError(f"rnd_output must be at least 1, got {self.rnd_output}")
        if not (math.isfinite(self.rnd_weight) and self.rnd_weight >= 0):
            raise ValueError(f"rnd_weight must be a finite number >= 0, got {self.rnd_weight}")
        if not (math.isfinite(self.rnd_lr) and self.rnd_lr > 0):
            raise ValueError(f"rnd_lr must be a finite positive number, got {self.rnd_lr}")
        if not 0.0 <= self.rnd_norm_decay < 1.0:
            raise ValueError(f"rnd_norm_decay must be in [0, 1), got {self.rnd_norm_decay}")
