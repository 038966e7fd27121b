"""IQL's settings: the shared Q-learning keys (q_config) plus the value network's and the actor's.

Defaults are the CS285 (fall 2023) hw5 ones: expectile 0.99 and temperature 10 as in its
experiment files (its config's defaults are 0.9 and 1); a value MLP of 2x64 with Adam 3e-4;
the course's iql config also gives the Q critic Adam 3e-4 (its learning_rate reaches the
critic too), so `lr` defaults to 3e-4 here, not the shared 1e-3; the actor as in awac (2x128,
Adam 3e-4); fully offline (offline_steps null).

No torch here: `rlforge config` imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rlforge.config import option

from rlforge_offline.awac_config import EPSILON_HELP, MAX_WEIGHT_HELP, check_actor_options
from rlforge_offline.q_config import QLearningConfig


@dataclass
class IQLConfig(QLearningConfig):
    lr: float = option(3.0e-4, "Adam learning rate of the Q-network (the course's iql learning_rate: 3e-4)")
    epsilon: float = option(0.0, EPSILON_HELP)
    double_q: bool = option(
        True, "always true in iql (a key of the course's shared DQN settings): its target is r + gamma * V(s') "
              "and takes no maximum over actions, so false is refused")
    expectile: float = option(
        0.99, "tau of the value loss |tau - 1(u < 0)| u^2, u = Q(s, a) - V(s): 0.5 fits the mean over the data's "
              "actions, near 1 their maximum")
    temperature: float = option(
        10.0, "the actor imitates the data's actions weighted by exp(advantage / temperature) (the course's lambda; "
              "the IQL paper's beta is 1 / temperature)")
    max_weight: float | None = option(None, MAX_WEIGHT_HELP)
    value_hidden: list[int] = option([64, 64], "hidden layer widths of the value network V(s)")
    value_lr: float = option(3.0e-4, "Adam learning rate of the value network")
    actor_hidden: list[int] = option([128, 128], "hidden layer widths of the categorical actor MLP")
    actor_lr: float = option(3.0e-4, "Adam learning rate of the actor")

    def __post_init__(self):
        super().__post_init__()
        check_actor_options(self)
        if not 0.0 < self.expectile < 1.0:
            raise ValueError(f"expectile must be in (0, 1), got {self.expectile}")
        if not self.value_hidden or any(int(w) < 1 for w in self.value_hidden):
            raise ValueError(f"value_hidden widths must be positive, got {self.value_hidden}")
        if not (math.isfinite(self.value_lr) and self.value_lr > 0):
            raise ValueError(f"value_lr must be a finite positive number, got {self.value_lr}")
