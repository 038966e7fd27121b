"""Registers `mpc`, `mbpo`, the Obstacles-v0 env, the known reward/termination functions of
HalfCheetah-v4, Hopper-v4, Reacher-v4 and Pendulum-v1, and the model-fit log (fitlog.py).
Imports neither torch nor gymnasium."""

from rlforge.hookspecs import hookimpl
from rlforge.registry import AlgorithmSpec, EnvSpec


@hookimpl
def register_algorithms(register):
    register(AlgorithmSpec(
        name="mpc",
        summary="Model-predictive control over a learnt dynamics ensemble: random shooting or CEM (CS285 hw4)",
        action_spaces=("box",),
        config="rlforge_mbrl.config:MPCConfig",
        agent="rlforge_mbrl.mpc:MPCAgent",
    ))
    register(AlgorithmSpec(
        name="mbpo",
        summary="SAC on real and model-rollout data: rollout_length 0 = SAC, 1 = Dyna, >1 = MBPO (CS285 hw4)",
        action_spaces=("box",),
        config="rlforge_mbrl.config:MBPOConfig",
        agent="rlforge_mbrl.mbpo:MBPOAgent",
    ))


# Gymnasium ids registered again with their known functions (rlforge_mbrl.known); the core makes
# ids that Gymnasium already has as they are, so the envs themselves are unchanged.
GYM_ENVS = {
    "HalfCheetah-v4": ("rlforge_mbrl.known:half_cheetah_reward", "rlforge_mbrl.known:never_terminated",
                       "gymnasium.envs.mujoco.half_cheetah_v4:HalfCheetahEnv", 1000),
    "Hopper-v4": ("rlforge_mbrl.known:hopper_reward", "rlforge_mbrl.known:hopper_terminated",
                  "gymnasium.envs.mujoco.hopper_v4:HopperEnv", 1000),
    "Reacher-v4": ("rlforge_mbrl.known:reacher_reward", "rlforge_mbrl.known:never_terminated",
                   "gymnasium.envs.mujoco.reacher_v4:ReacherEnv", 50),
    "Pendulum-v1": ("rlforge_mbrl.known:pendulum_reward", "rlforge_mbrl.known:never_terminated",
                    "gymnasium.envs.classic_control.pendulum:PendulumEnv", 200),
}


@hookimpl
def register_envs(register):
    register(EnvSpec(
        id="Obstacles-v0",
        factory="rlforge_mbrl.obstacles:ObstaclesEnv",
        summary="point mass on the unit square reaching a goal around rectangular obstacles (known reward)",
        reward_fn="rlforge_mbrl.obstacles:reward",
        termination_fn="rlforge_mbrl.obstacles:terminated",
        max_episode_steps=100,
    ))
    for env_id, (reward_fn, termination_fn, factory, limit) in GYM_ENVS.items():
        register(EnvSpec(
            id=env_id, factory=factory, reward_fn=reward_fn, termination_fn=termination_fn, max_episode_steps=limit,
            summary=f"Gymnasium's {env_id}, with the known reward function for model-based planners",
        ))


@hookimpl
def on_train_start(run, agent, config):
    from rlforge_mbrl import fitlog

    fitlog.start(run, agent)


@hookimpl
def on_iteration_end(run, metrics):
    if "charts/model_fits" in metrics:
        from rlforge_mbrl import fitlog

        fitlog.record(run, metrics)


@hookimpl
def on_train_end(run, status):
    from rlforge_mbrl import fitlog

    fitlog.finish(run)
