"""The known reward and termination functions against the envs' own rewards, on random steps."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlforge_mbrl.known import known_functions
from rlforge_mbrl.obstacles import ObstaclesEnv


def random_transitions(env, steps=300, seed=0):
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    rows = []
    for _ in range(steps):
        action = env.action_space.sample()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rows.append((obs, action, next_obs, reward, terminated))
        obs = env.reset()[0] if terminated or truncated else next_obs
    return [torch.as_tensor(np.array(column), dtype=torch.float32) for column in zip(*rows)]


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "Reacher-v4", "Hopper-v4", "Obstacles-v0"])
def test_exact_rewards_and_terminations(env_id):
    env = ObstaclesEnv() if env_id == "Obstacles-v0" else gym.make(env_id)
    obs, action, next_obs, reward, terminated = random_transitions(env)
    reward_fn, termination_fn = known_functions(env_id)
    predicted = reward_fn(obs, action, next_obs)
    if env_id == "Hopper-v4":  # the forward term is approximate (see known.py)
        assert np.corrcoef(predicted, reward)[0, 1] > 0.9
    else:
        assert torch.allclose(predicted, reward, atol=1e-4), (predicted - reward).abs().max()
    assert torch.equal(termination_fn(obs, action, next_obs), terminated.bool())
    assert terminated.any() or env_id in ("Pendulum-v1", "Reacher-v4")


def test_half_cheetah_reward_is_a_close_approximation():
    obs, action, next_obs, reward, _ = random_transitions(gym.make("HalfCheetah-v4"))
    reward_fn, termination_fn = known_functions("HalfCheetah-v4")
    predicted = reward_fn(obs, action, next_obs)
    assert np.corrcoef(predicted, reward)[0, 1] > 0.9
    assert not termination_fn(obs, action, next_obs).any()


def test_unknown_env_has_no_known_functions():
    assert known_functions("CartPole-v1") == (None, None)
    assert known_functions(None) == (None, None)
