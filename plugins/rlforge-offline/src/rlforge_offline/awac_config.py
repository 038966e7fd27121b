"""AWAC's settings: the shared Q-learning keys (q_config) plus the actor's.

Defaults are the CS285 (fall 2023) hw5 ones: a categorical actor MLP of 2x128 with Adam 3e-4,
temperature (the course's lambda) 10 as in its experiment file (its config's default is 1),
the critic as the shared DQN base (2x64, Adam 1e-3, discount 0.95, target copy every 300
gradient steps), fully offline (offline_steps null).

`check_actor_options` is shared with iql_config. No torch here: `rlforge config` imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rlforge.config import option

from rlforge_offline.q_config import QLearningConfig

EPSILON_HELP = ("while collecting online: probability of a uniformly random action instead of one sampled from the "
                "actor (the actor's own sampling already explores; evaluation takes its most likely action)")
MAX_WEIGHT_HELP = ("clip the actor's weights exp(advantage / temperature) at this value "
                   "(null: no clipping, as the course)")


@dataclass
class AWACConfig(QLearningConfig):
    epsilon: float = option(0.0, EPSILON_HELP)
    double_q: bool = option(
        True, "always true in awac (a key of the course's shared DQN settings): its target averages Q over the "
              "actor's actions and takes no maximum, so false is refused")
    temperature: float = option(
        10.0, "lambda: the actor imitates the data's actions weighted by exp(advantage / temperature)")
    max_weight: float | None = option(None, MAX_WEIGHT_HELP)
    actor_hidden: list[int] = option([128, 128], "hidden layer widths of the categorical actor MLP")
    actor_lr: float = option(3.0e-4, "Adam learning rate of the actor")

    def __post_init__(self):
        super().__post_init__()
        check_actor_options(self)


def check_actor_options(config) -> None:
    """The checks of the actor keys that awac and iql share (ValueError, one line)."""
    if not config.double_q:
        raise ValueError("double_q cannot be false here: the target takes no maximum over actions, so there is no "
                         "overestimation for double Q-learning to undo")
    if not config.actor_hidden or any(int(w) < 1 for w in config.actor_hidden):
        raise ValueError(f"actor_hidden widths must be positive, got {config.actor_hidden}")
    for name in ("temperature", "actor_lr") + (("max_weight",) if config.max_weight is not None else ()):
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite positive number, got {value}")
