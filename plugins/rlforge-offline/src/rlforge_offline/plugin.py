"""Registers `rnd`, `cql`, `awac`, `iql`, `td3bc` and the Pointmass maze envs with rlforge.

Imports neither torch nor gymnasium: everything is named by import strings.
"""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec, EnvSpec

# name, summary, action spaces, config, agent. cql, awac and iql have an implementation for each
# kind of actions; the combined config and the dispatching factory pick it (rlforge_offline.algorithms).
ALGORITHMS = (
    ("rnd", "DQN exploring with a random-network-distillation bonus (or uniformly at random); keeps what it collects as a dataset",
     ("discrete",), "rlforge_offline.rnd_config:RNDConfig", "rlforge_offline.rnd:RNDAgent"),
    ("cql", "conservative Q-learning from a dataset: over double DQN (discrete; cql_alpha 0: DQN) or SAC (Box; "
            "Lagrange and Cal-QL options); offline-to-online with offline_steps",
     ("box", "discrete"), "rlforge_offline.algorithms:CQLSettings", "rlforge_offline.algorithms:cql_agent"),
    ("awac", "advantage-weighted actor-critic from a dataset (categorical or Gaussian actor); offline-to-online "
             "with offline_steps",
     ("box", "discrete"), "rlforge_offline.algorithms:AWACSettings", "rlforge_offline.algorithms:awac_agent"),
    ("iql", "implicit Q-learning (expectile value, advantage-weighted actor) from a dataset; offline-to-online "
            "with offline_steps",
     ("box", "discrete"), "rlforge_offline.algorithms:IQLSettings", "rlforge_offline.algorithms:iql_agent"),
    ("td3bc", "TD3+BC: TD3 from a dataset with a behaviour-cloning term in the actor's loss; offline-to-online "
              "with offline_steps",
     ("box",), "rlforge_offline.box_config:TD3BCConfig", "rlforge_offline.td3bc:TD3BCAgent"),
)

# id -> (factory in rlforge_offline.pointmass, the course's episode length)
MAZES = {"PointmassEasy-v0": ("easy", 50), "PointmassMedium-v0": ("medium", 150), "PointmassHard-v0": ("hard", 100)}


@hookimpl
def register_algorithms(register):
    for name, summary, kinds, config, agent in ALGORITHMS:
        register(AlgorithmSpec(name=name, summary=summary, action_spaces=kinds, config=config, agent=agent))


@hookimpl
def register_envs(register):
    for env_id, (factory, episode_steps) in MAZES.items():
        register(EnvSpec(id=env_id, factory=f"rlforge_offline.pointmass:{factory}", max_episode_steps=episode_steps,
                         summary="CS285 hw5 point-mass maze: 5 discrete moves with Gaussian noise, reward -1 "
                                 "per step until the goal (env_kwargs {dense_reward: true}: minus the distance)"))
