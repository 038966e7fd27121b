import numpy as np

from flag_env import make_flag_env

from rlforge.envs import EnvAdapter, space_kind


def test_time_limit_is_truncation_with_the_true_final_observation():
    env = EnvAdapter("Pendulum-v1", num_envs=2, seed=0, max_episode_steps=5)
    obs = env.reset()
    for t in range(5):
        step = env.step(np.zeros((2, 1), dtype=np.float32))
        if t < 4:
            assert not step.truncated.any() and np.array_equal(step.final_obs, step.obs)
            obs = step.obs
    assert step.truncated.all() and not step.terminated.any()
    assert step.episode_lengths == [5, 5]
    # the final observation follows from the last one; the returned obs starts a new episode
    assert not np.allclose(step.final_obs, step.obs)
    assert np.allclose(np.linalg.norm(step.final_obs[:, :2], axis=1), 1.0)
    env.close()


def test_termination_is_kept_apart_from_truncation():
    env = EnvAdapter("CartPole-v1", num_envs=1, seed=3)
    env.reset()
    length = 0
    while True:
        step = env.step(np.array([1]))  # always push right: the pole falls quickly
        length += 1
        if step.terminated.any() or step.truncated.any():
            break
    assert step.terminated[0] and not step.truncated[0]
    assert step.episode_returns == [float(length)] and step.episode_lengths == [length]
    assert abs(step.final_obs[0, 2]) > 0.2 or abs(step.final_obs[0, 0]) > 2.4  # the pole fell / cart left
    env.close()


def test_same_seed_same_trajectory_and_float32_observations():
    def rollout():
        env = EnvAdapter("Pendulum-v1", num_envs=2, seed=7)
        env.reset()
        out = [env.step(env.random_actions()).obs for _ in range(10)]
        env.close()
        return np.stack(out)

    first, second = rollout(), rollout()
    assert first.dtype == np.float32 and np.array_equal(first, second)


def test_space_kinds():
    env = EnvAdapter("CartPole-v1", num_envs=1)
    assert space_kind(env.action_space) == "discrete" and space_kind(env.observation_space) == "box"
    env.close()


def test_requested_info_entries_pass_through_with_the_last_step_of_ended_episodes():
    import gymnasium as gym

    from rlforge.collector import Collector

    gym.register("rlforge-test/Flag-v0", entry_point=make_flag_env, kwargs={"length": 3})
    try:
        env = EnvAdapter("rlforge-test/Flag-v0", num_envs=2, seed=0, info_keys=("flag", "absent"))
        batch = Collector(env, seed=0).collect(lambda obs: np.zeros(2, np.int64), steps=4)
        assert batch.info["flag"][:, 0].tolist() == [1, 2, 3, 1]  # step 3 ended: its own info, not the reset's -1
        assert batch.info["absent"].shape == (4, 2) and not batch.info["absent"].any()
        assert batch.terminated[:, 0].tolist() == [False, False, True, False]
        assert batch.flat().info["flag"].shape == (8,)
        assert Collector(EnvAdapter("rlforge-test/Flag-v0", 1, seed=0), 0).collect(
            lambda obs: np.zeros(1, np.int64), 2).info == {}  # nothing asked, nothing passed
        env.close()
    finally:
        del gym.registry["rlforge-test/Flag-v0"]
