"""CQL's settings: the shared Q-learning keys (q_config) plus the conservative penalty.

Defaults are the CS285 (fall 2023) hw5 ones: cql_alpha 1.0 (the course's default; its
offline experiment files use 0.1), temperature 1.0, fully offline (offline_steps null); the
course's fine-tuning run is offline_steps 100,000 of total_steps 200,000 on PointmassHard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rlforge.config import option

from rlforge_offline.q_config import QLearningConfig


@dataclass
class CQLConfig(QLearningConfig):
    cql_alpha: float = option(1.0, "weight of the CQL penalty T*logsumexp(Q/T) - Q(s, a_data) (0: plain double DQN)")
    cql_temperature: float = option(1.0, "temperature T of the soft maximum in the CQL penalty")
    online_cql_alpha: float | None = option(
        None, "cql_alpha once collecting online, after offline_steps (null: cql_alpha throughout, as the course)")

    def __post_init__(self):
        super().__post_init__()
        if not (math.isfinite(self.cql_alpha) and self.cql_alpha >= 0):
            raise ValueError(f"cql_alpha must be a finite number >= 0, got {self.cql_alpha}")
        if not (math.isfinite(self.cql_temperature) and self.cql_temperature > 0):
            raise ValueError(f"cql_temperature must be a finite positive number, got {self.cql_temperature}")
        if self.online_cql_alpha is not None and not (math.isfinite(self.online_cql_alpha) and self.online_cql_alpha >= 0):
            raise ValueError(f"online_cql_alpha must be a finite number >= 0 (or null), got {self.online_cql_alpha}")
