"""The data of the Box-action offline agents (td3bc, and cql, awac, iql on Box actions): the
dataset as the agents learn from it, online data added the same way, and the dataset's
reference returns for the normalised score.

Loading a dataset (`dataset`, `dataset_size`):
  - it must fit the env (observation and action shapes; rlforge.datasets.check_dataset);
  - actions are mapped from the env's bounds to [-1, 1] (rlforge.actor_critic.UnitActions) and
    clipped there; a dataset with actions more than 1% of the range outside the bounds is refused;
  - with `normalize_obs`, observations are standardised by the dataset's mean and std (+1e-3,
    TD3+BC's); the policy applies the same map when acting and in exported files;
  - rewards: `reward_normalization: return_range` multiplies them by 1000 / (largest - smallest
    return of the dataset's finished episodes) (IQL on D4RL locomotion), then `reward_scale` and
    `reward_bias` apply (r * scale + bias); online rewards get the same map;
  - with Monte-Carlo returns asked for (Cal-QL), each transition's discounted return-to-go is
    computed from the mapped rewards within its episode (rlforge.datasets.returns) and kept in
    the buffer beside it; online transitions get theirs when their episode ends.

Everything derived from the dataset is computed again when an agent is rebuilt (resume,
`rlforge eval`), so a checkpoint holds only what changes: the buffer's rows and generator, the
schedule, the unfinished online episodes.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.actor_critic import UnitActions, buffer_seed, check_box_spaces
from rlforge.agent import Progress, Transitions
from rlforge.buffers import ReplayBuffer
from rlforge.datasets.reference import ReferenceReturns, reference_returns
from rlforge.datasets.returns import returns_to_go
from rlforge.errors import RLForgeError

from rlforge_offline.discrete import OnlineSchedule
from rlforge_offline.returns_buffer import PendingEpisodes, ReturnsBuffer

OBS_STD_EPS = 1e-3  # TD3+BC's (and CORL's) floor under the observations' standard deviation
ACTION_SLACK = 0.01  # unit actions up to 1.01 in magnitude are clipped; beyond, the data does not fit the env


def load_box_dataset(name: str, size: int, observation_space, action_space):
    """The dataset `name` (its first `size` transitions when size > 0), checked against the env:
    observations of the env's shape, float actions [N, act_dim]."""
    from rlforge import datasets

    if not name:
        raise RLForgeError("this algorithm learns from a dataset: set dataset=... (an .npz, a Minari dataset, a "
                           "CS285 .pkl or a run folder)")
    dataset = datasets.load_dataset(name)
    datasets.check_dataset(dataset, observation_space, action_space, name)
    dataset = dataset.take_first(size)
    dataset.actions = np.asarray(dataset.actions, dtype=np.float32).reshape(len(dataset), -1)
    return dataset


def unit_actions(actions: np.ndarray, unit: UnitActions, name: str) -> np.ndarray:
    """Actions mapped to [-1, 1] and clipped there; refused beyond ACTION_SLACK outside."""
    mapped = (np.asarray(actions, dtype=np.float64) - unit.bias) / unit.scale
    worst = float(np.abs(mapped).max()) if mapped.size else 0.0
    if worst > 1.0 + ACTION_SLACK:
        raise RLForgeError(f"dataset {name!r} holds actions outside the env's bounds (up to {worst:.3g} half-ranges "
                           "from the centre); it was not collected in this env's action space")
    return np.clip(mapped, -1.0, 1.0).astype(np.float32)


def return_range_factor(dataset, name: str) -> float:
    """1000 / (largest - smallest return of the dataset's finished episodes)."""
    returns = dataset.episode_returns()
    if len(returns) < 2 or max(returns) == min(returns):
        raise RLForgeError(f"reward_normalization: return_range needs finished episodes of different returns; "
                           f"dataset {name!r} has {len(returns)} finished (set reward_normalization: none)")
    return 1000.0 / (max(returns) - min(returns))


class BoxOfflineData:
    """The dataset in a replay buffer with `buffer_size` rows more for online data (none when the
    whole run is offline), the OnlineSchedule, and the maps every row goes through (observations,
    actions, rewards). `mc_returns=True` keeps Monte-Carlo returns-to-go (Cal-QL)."""

    def __init__(self, algo: str, config, observation_space, action_space, num_envs: int = 1,
                 device: str | torch.device = "cpu", mc_returns: bool = False):
        check_box_spaces(algo, observation_space, action_space)
        dataset = load_box_dataset(config.dataset, config.dataset_size, observation_space, action_space)
        self.references: ReferenceReturns | None = reference_returns(dataset.metadata)
        self.unit = UnitActions(action_space)
        self.obs_dim = int(np.prod(observation_space.shape))
        self.act_dim = int(np.prod(action_space.shape))
        obs = np.asarray(dataset.obs, np.float32).reshape(len(dataset), -1)
        if config.normalize_obs:
            self.obs_mean = obs.mean(0).astype(np.float32)
            self.obs_std = (obs.std(0) + OBS_STD_EPS).astype(np.float32)
        else:
            self.obs_mean = np.zeros(self.obs_dim, np.float32)
            self.obs_std = np.ones(self.obs_dim, np.float32)
        factor = return_range_factor(dataset, config.dataset) if config.reward_normalization == "return_range" else 1.0
        self.reward_scale = float(factor * config.reward_scale)
        self.reward_bias = float(config.reward_bias)
        rewards = self.rewards(dataset.rewards)

        online_rows = 0 if config.offline_steps is None else config.buffer_size
        capacity = len(dataset) + online_rows
        if mc_returns:
            self.buffer: ReplayBuffer = ReturnsBuffer(capacity, (self.obs_dim,), (self.act_dim,), seed=buffer_seed(),
                                                      device=device)
            self.pending = PendingEpisodes(num_envs, config.gamma)
        else:
            self.buffer = ReplayBuffer(capacity, (self.obs_dim,), (self.act_dim,), seed=buffer_seed(), device=device)
            self.pending = None
        extra = {"mc_returns": returns_to_go(rewards, dataset.terminated, dataset.truncated, config.gamma)} if mc_returns else {}
        self.buffer.add_rows(self.observations(obs), unit_actions(dataset.actions, self.unit, config.dataset), rewards,
                             self.observations(np.asarray(dataset.next_obs, np.float32).reshape(len(dataset), -1)),
                             dataset.terminated.astype(np.float32), dataset.truncated.astype(np.float32), **extra)
        self.dataset_rows = len(dataset)
        self.schedule = OnlineSchedule(config.learning_starts)

    # ------------------------------------------------------------------ the maps

    def observations(self, obs: np.ndarray) -> np.ndarray:
        """Observations [N, obs_dim] as the networks see them (standardised where asked)."""
        return ((np.asarray(obs, np.float32).reshape(len(obs), -1) - self.obs_mean) / self.obs_std).astype(np.float32)

    def rewards(self, rewards: np.ndarray) -> np.ndarray:
        return (np.asarray(rewards, np.float64) * self.reward_scale + self.reward_bias).astype(np.float32)

    # ------------------------------------------------------------------ online data

    def observe(self, batch: Transitions) -> None:
        """Online transitions ([steps, num_envs, ...]), mapped as the dataset's rows; with
        returns-to-go, held per env until the episode ends."""
        steps, envs = batch.rewards.shape[:2]
        flat = batch.flat()
        n = steps * envs
        rows = {"obs": self.observations(flat.obs), "actions": unit_actions(flat.actions.reshape(n, -1), self.unit, "online"),
                "rewards": self.rewards(flat.rewards), "next_obs": self.observations(flat.next_obs),
                "terminated": flat.terminated.astype(np.float32), "truncated": flat.truncated.astype(np.float32)}
        self.schedule.observed(n)
        if self.pending is None:
            self.buffer.add_rows(rows["obs"], rows["actions"], rows["rewards"], rows["next_obs"], rows["terminated"],
                                 rows["truncated"])
            return
        for i in range(n):  # row i is step i // envs of env i % envs
            episode = self.pending.add(i % envs, {key: value[i] for key, value in rows.items()})
            if episode is not None:
                self.buffer.add_rows(**episode)

    def steps_due(self, progress: Progress) -> int:
        """Gradient steps this update owes (one offline; one per new env step online)."""
        return self.schedule.due(progress)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        return self.buffer.sample(batch_size)

    # ------------------------------------------------------------------ scores

    def evaluation_metrics(self, returns) -> dict[str, float]:
        """eval/normalized_score (100 * (mean return - random) / (expert - random)) where the
        dataset stores its reference returns; {} otherwise."""
        if self.references is None or len(returns) == 0:
            return {}
        return {"eval/normalized_score": self.references.normalized_score(float(np.mean(returns)))}

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {"buffer": self.buffer.state_dict(), "schedule": self.schedule.state_dict(),
                "pending": self.pending.state_dict() if self.pending is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        self.buffer.load_state_dict(state["buffer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.pending is not None:
            self.pending.load_state_dict(state["pending"])
