"""Registers `rnd`, `cql`, `awac`, `iql` and the Pointmass maze envs with rlforge.

Imports neither torch nor gymnasium: everything is named by import strings.
"""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec, EnvSpec

ALGORITHMS = (
    ("rnd", "DQN exploring with a random-network-distillation bonus (or uniformly at random); keeps what it collects as a dataset",
     "rlforge_offline.rnd_config:RNDConfig", "rlforge_offline.rnd:RNDAgent"),
    ("cql", "conservative Q-learning over double DQN from a dataset (cql_alpha 0: DQN); offline-to-online with offline_steps",
     "rlforge_offline.cql_config:CQLConfig", "rlforge_offline.cql:CQLAgent"),
    ("awac", "advantage-weighted actor-critic from a dataset; offline-to-online with offline_steps",
     "rlforge_offline.awac_config:AWACConfig", "rlforge_offline.awac:AWACAgent"),
    ("iql", "implicit Q-learning (expectile value, advantage-weighted actor) from a dataset; offline-to-online with offline_steps",
     "rlforge_offline.iql_config:IQLConfig", "rlforge_offline.iql:IQLAgent"),
)

# id -> (factory in rlforge_offline.pointmass, the course's episode length)
MAZES = {"PointmassEasy-v0": ("easy", 50), "PointmassMedium-v0": ("medium", 150), "PointmassHard-v0": ("hard", 100)}


@hookimpl
def register_algorithms(register):
    for name, summary, config, agent in ALGORITHMS:
        register(AlgorithmSpec(name=name, summary=summary, action_spaces=("discrete",), config=config,
                               agent=agent))


@hookimpl
def register_envs(register):
    for env_id, (factory, episode_steps) in MAZES.items():
        register(EnvSpec(id=env_id, factory=f"rlforge_offline.pointmass:{factory}", max_episode_steps=episode_steps,
                         summary="CS285 hw5 point-mass maze: 5 discrete moves with Gaussian noise, reward -1 "
                                 "per step until the goal (env_kwargs {dense_reward: true}: minus the distance)"))
