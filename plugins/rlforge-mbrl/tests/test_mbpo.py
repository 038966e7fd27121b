"""MBPO's model rollouts and its mixed buffer."""

import gymnasium as gym
import numpy as np
import torch

from rlforge.agent import Progress, Transitions
from rlforge_mbrl.config import MBPOConfig
from rlforge_mbrl.known import known_functions
from rlforge_mbrl.mbpo import MBPOAgent


def make_agent(env_id, **values):
    torch.manual_seed(0)
    env = gym.make(env_id)
    cfg = MBPOConfig(**{"actor_hidden": [16], "critic_hidden": [16], "model_hidden": [32], "ensemble_size": 3,
                        "model_train_steps": 50, "rollout_batch_size": 64, "batch_size": 40, "learning_starts": 0,
                        "real_ratio": 0.25, **values})
    return MBPOAgent(cfg, env.observation_space, env.action_space, env_id=env_id), env


def fill(agent, env, steps=400):
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(steps):
        action = env.action_space.sample()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.observe(Transitions(obs[None, None], action[None, None], np.array([[reward]], np.float32),
                                  next_obs[None, None], np.array([[terminated]]), np.array([[truncated]])))
        obs = env.reset()[0] if terminated or truncated else next_obs


def test_one_step_rollout_gives_buffer_shaped_transitions_with_known_done_flags():
    agent, env = make_agent("Hopper-v4", rollout_length=1)
    fill(agent, env)
    agent.update(Progress(400, 1000, 400))  # fits the model, adds one batch of rollouts, SAC updates
    rollout = agent.model_rollout(64)
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    assert rollout.obs.shape == rollout.next_obs.shape == (64, 1, obs_dim)  # one step from each start
    assert rollout.actions.shape == (64, 1, act_dim) and rollout.actions.dtype == np.float32
    assert rollout.rewards.shape == rollout.terminated.shape == rollout.truncated.shape == (64, 1)
    assert rollout.rewards.dtype == np.float32 and rollout.terminated.dtype == bool and not rollout.truncated.any()
    assert np.abs(rollout.actions).max() <= 1.0  # SAC's [-1, 1] units, as SAC's buffer stores them
    # the done flags are Hopper's known termination of the predicted next state, with env-unit actions
    reward_fn, termination_fn = known_functions("Hopper-v4")
    flat = [torch.as_tensor(a[:, 0]) for a in (rollout.obs, rollout.actions, rollout.next_obs)]
    assert np.array_equal(termination_fn(*flat).numpy(), rollout.terminated[:, 0])
    assert np.allclose(reward_fn(*flat).numpy(), rollout.rewards[:, 0], atol=1e-5)
    # the model's next states are close to real ones (the start states are real)
    assert np.abs(rollout.next_obs - rollout.obs).mean() < 5 * np.abs(rollout.obs).mean()
    # the model buffer takes them, and SAC's batches mix real and model rows
    assert len(agent.buffer.model) == 64 and len(agent.buffer) == 400
    batch = agent.buffer.sample(40)
    assert batch["obs"].shape == (40, obs_dim) and batch["terminated"].shape == (40,)


def test_longer_rollouts_stop_where_an_episode_ends():
    agent, env = make_agent("Hopper-v4", rollout_length=5, model_train_steps=5)  # a poor model: many ends
    fill(agent, env)
    agent.update(Progress(400, 1000, 400))
    rollout = agent.model_rollout(64)
    done, obs, next_obs = rollout.terminated[:, 0], rollout.obs[:, 0], rollout.next_obs[:, 0]
    # rows are step by step: each step continues exactly the previous step's rollouts that did not end,
    # from the states they reached
    start, count, steps = 0, 64, 0
    while start < len(done) and count > 0:
        alive = ~done[start:start + count]
        following = slice(start + count, start + count + alive.sum())
        if following.stop <= len(done):
            assert np.array_equal(obs[following], next_obs[start:start + count][alive])
        start, count, steps = start + count, int(alive.sum()), steps + 1
    assert start == len(done) and steps <= 5
    assert done.any()  # the 5-step model trained for 5 steps drives some hoppers out of their healthy range


def test_rollout_length_zero_is_sac_without_a_model():
    agent, env = make_agent("Pendulum-v1", rollout_length=0)
    assert agent.model is None
    fill(agent, env, 100)
    metrics = agent.update(Progress(100, 1000, 100))
    assert "losses/critic" in metrics and "losses/model_train" not in metrics
    assert len(agent.buffer.model) == 0
