"""What the registered names `cql`, `awac` and `iql` are made of: for each, the combined config
of its discrete (CS285 hw5) and Box (D4RL papers) settings, and the factory that builds the
agent for the env's kind of actions (rlforge_offline.variants). `td3bc` is Box only and
registers its own config and agent directly.

No torch here: `rlforge config` imports the configs.
"""

from __future__ import annotations

from rlforge_offline.awac_config import AWACConfig
from rlforge_offline.box_config import BoxAWACConfig, BoxCQLConfig, BoxIQLConfig
from rlforge_offline.cql_config import CQLConfig
from rlforge_offline.iql_config import IQLConfig
from rlforge_offline.variants import agent_for_both, config_for_both

CQLSettings = config_for_both(
    "CQLSettings", __name__, CQLConfig, BoxCQLConfig,
    "cql's settings: CQL over double DQN for discrete actions, over SAC for Box actions.")
AWACSettings = config_for_both(
    "AWACSettings", __name__, AWACConfig, BoxAWACConfig,
    "awac's settings: a categorical actor for discrete actions, a Gaussian one for Box actions.")
IQLSettings = config_for_both(
    "IQLSettings", __name__, IQLConfig, BoxIQLConfig,
    "iql's settings: a categorical actor for discrete actions, a Gaussian one for Box actions.")

cql_agent = agent_for_both("rlforge_offline.cql:CQLAgent", "rlforge_offline.box_cql:BoxCQLAgent")
awac_agent = agent_for_both("rlforge_offline.awac:AWACAgent", "rlforge_offline.box_awac:BoxAWACAgent")
iql_agent = agent_for_both("rlforge_offline.iql:IQLAgent", "rlforge_offline.box_iql:BoxIQLAgent")
