"""Test helpers for the Box-action offline agents: Pendulum-v1 datasets from a scripted
controller (swing-up by energy pumping, a PD law near the top: about -132 per episode without
noise) with Gaussian noise and a share of uniformly random actions, carrying reference returns."""

from __future__ import annotations

import numpy as np

from rlforge.datasets import Dataset, with_reference_returns

# Pendulum-v1's reference returns for the normalised score: a uniformly random policy's mean
# over 100 episodes (seeds 0-99) and the noiseless controller's mean over the same seeds.
PENDULUM_RANDOM, PENDULUM_EXPERT = -1197.0, -145.0


def pendulum_controller(obs: np.ndarray) -> np.ndarray:
    """Torque in [-2, 2] for one observation (cos theta, sin theta, theta dot); theta 0 is up."""
    c, s, w = (float(v) for v in obs)
    theta = np.arctan2(s, c)
    if c > 0.85:
        u = -(12.0 * theta + 2.5 * w)
    else:
        energy = 0.5 * w * w + 15.0 * (c - 1.0)  # 0 at rest on top: pump while below
        u = (2.0 if w >= 0 else -2.0) if energy < 0 else -0.5 * w
    return np.clip([u], -2.0, 2.0).astype(np.float32)


def pendulum_dataset(episodes: int, noise: float = 0.5, random_share: float = 0.3, seed: int = 0) -> Dataset:
    """`episodes` episodes of 200 steps: the controller's torque plus N(0, noise), or with
    probability `random_share` a uniformly random torque; reference returns in the metadata."""
    import gymnasium as gym

    env = gym.make("Pendulum-v1")
    rng = np.random.default_rng(seed)
    rows = {k: [] for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed * 1000 + episode)
        done = False
        while not done:
            if rng.random() < random_share:
                action = rng.uniform(-2.0, 2.0, 1).astype(np.float32)
            else:
                action = np.clip(pendulum_controller(obs) + noise * rng.standard_normal(1), -2.0, 2.0).astype(np.float32)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            for key, value in zip(rows, (obs, action, reward, next_obs, terminated, truncated)):
                rows[key].append(value)
            obs, done = next_obs, terminated or truncated
    env.close()
    dataset = Dataset(obs=np.array(rows["obs"], np.float32), actions=np.array(rows["actions"], np.float32),
                      rewards=np.array(rows["rewards"], np.float32), next_obs=np.array(rows["next_obs"], np.float32),
                      terminated=np.array(rows["terminated"], bool), truncated=np.array(rows["truncated"], bool),
                      metadata={"env": "Pendulum-v1", "description": f"scripted controller, noise {noise}, "
                                                                     f"random share {random_share}"})
    return with_reference_returns(dataset, PENDULUM_RANDOM, PENDULUM_EXPERT)
