import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from flag_env import make_flag_env
from rlforge.envs import EnvAdapter, make_env
from rlforge.single_env import SingleEnv

CASES = [("CartPole-v1", None, ()), ("Pendulum-v1", 30, ()), ("HalfCheetah-v4", 25, ("x_position", "absent")),
         ("rlforge-test/Flag4-v0", None, ("flag",))]


@pytest.fixture(scope="module", autouse=True)
def flag_env_registered():
    gym.register("rlforge-test/Flag4-v0", entry_point=make_flag_env, kwargs={"length": 4})
    yield
    del gym.registry["rlforge-test/Flag4-v0"]


@pytest.mark.parametrize("env_id, max_steps, info_keys", CASES)
def test_one_env_steps_exactly_as_through_sync_vector_env(env_id, max_steps, info_keys):
    """The adapter's one-env path (SingleEnv) against the same adapter over SyncVectorEnv:
    the same seeded trajectory through several episode ends, step for step."""
    adapters = [EnvAdapter(env_id, 1, seed=5, max_episode_steps=max_steps, info_keys=keys) for keys in ((), info_keys)]
    assert isinstance(adapters[0].vec, SingleEnv)
    adapters[0].info_keys = info_keys  # as the engine sets them, once the agent exists
    adapters[1].vec = SyncVectorEnv([lambda: make_env(env_id, None, max_steps)], autoreset_mode=AutoresetMode.SAME_STEP)
    first = [adapter.reset() for adapter in adapters]
    np.testing.assert_array_equal(*first)
    assert first[0].dtype == first[1].dtype
    ends = 0
    for _ in range(90):
        actions = adapters[0].random_actions()
        assert np.array_equal(actions, adapters[1].random_actions())
        single, vector = (adapter.step(actions) for adapter in adapters)
        for field in ("obs", "rewards", "terminated", "truncated", "final_obs"):
            a, b = getattr(single, field), getattr(vector, field)
            np.testing.assert_array_equal(a, b, err_msg=field)
            assert a.dtype == b.dtype and a.shape == b.shape, field
        assert (single.episode_returns, single.episode_lengths) == (vector.episode_returns, vector.episode_lengths)
        assert single.info.keys() == vector.info.keys() == set(info_keys)
        for key in info_keys:
            np.testing.assert_array_equal(single.info[key], vector.info[key], err_msg=key)
        ends += len(single.episode_returns)
    assert ends >= 2


def test_single_env_batches_the_wanted_info_and_hands_back_the_final_observation():
    env = SingleEnv(lambda: make_env("rlforge-test/Flag4-v0"), info_keys=("flag", "absent"))
    obs, info = env.reset(seed=0)
    assert obs.shape == (1, 1) and info == {"flag": np.array([-1])}
    for step in range(1, 5):
        obs, reward, terminated, truncated, info = env.step(np.array([1]))
    assert terminated.tolist() == [True] and truncated.tolist() == [False] and reward.tolist() == [1.0]
    assert info["final_info"]["flag"].tolist() == [4] and info["flag"].tolist() == [-1]  # then the reset's
    assert info["final_obs"][0][0] > 0 > obs[0, 0]  # the episode's last observation, then the reset's
    env.close()
