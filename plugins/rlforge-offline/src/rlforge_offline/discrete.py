"""The pieces the discrete Q-learning agents of this plugin share (rnd, cql, awac, iql).

Read top to bottom: the math (TD target, CQL regulariser), the Q-network and the
epsilon-greedy policy, the QCritic (online net, target net, optimiser, hard target copies),
the online schedule, the data (dataset -> replay buffer -> dataset) and the maze views
(coverage, images) of the Pointmass envs.

Exploration draws from NumPy's global generator, which the engine seeds and checkpoints, so a
resumed run explores exactly as an uninterrupted one; greedy actions draw nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlforge.agent import Policy, Progress
from rlforge.buffers import ReplayBuffer
from rlforge.errors import RLForgeError
from rlforge.mlp_passes import MLPGradient, mlp_forward, plain_mlp
from rlforge.nn import clip_grad_norm, load_optimizer_state, make_adam, mlp, optimizer_state

# ----------------------------------------------------------------------------- math


def double_q_target(rewards: torch.Tensor, terminated: torch.Tensor, gamma: float, next_q_target: torch.Tensor,
                    next_q_online: torch.Tensor | None = None) -> torch.Tensor:
    """r + gamma * (1 - terminated) * Q_target(s', a*).

    a* = argmax_a Q_online(s', a) with double Q-learning (pass `next_q_online`), else
    argmax_a Q_target(s', a). A transition cut by a time limit bootstraps like any other:
    its s' is the true final observation; only `terminated` stops the backup.
    """
    if next_q_online is None:
        next_value = next_q_target.amax(-1)
    else:
        next_value = next_q_target.gather(-1, next_q_online.argmax(-1, keepdim=True)).squeeze(-1)
    return rewards + gamma * (1.0 - terminated.float()) * next_value


def cql_regularizer(q_all: torch.Tensor, actions: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The CQL(H) penalty for discrete actions (Kumar et al. 2020, eq. 4; CS285 hw5):
    mean over the batch of  T * logsumexp(Q(s, .) / T) - Q(s, a_data).

    Pushes down a soft maximum over all actions and up the action the data took; at T = 1
    the soft maximum is log sum_a exp Q(s, a), the course's form.
    """
    soft_max = temperature * torch.logsumexp(q_all / temperature, dim=-1)
    data_q = q_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    return (soft_max - data_q).mean()


class CQLPenalty:
    """alpha * cql_regularizer(q_all, actions, T) as a loss term, with its gradient in q_all
    written out for the critic's hand-written backward pass:
    d/dQ(s, .) = alpha * (softmax(Q(s, .) / T) - onehot(a_data)) / batch."""

    def __init__(self, alpha: float, temperature: float):
        self.alpha, self.temperature = float(alpha), float(temperature)

    def __call__(self, q_all: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.alpha * cql_regularizer(q_all, actions, self.temperature)

    def gradient(self, q_all: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        grad = torch.softmax(q_all / self.temperature, dim=-1)
        grad.scatter_add_(-1, actions.long().unsqueeze(-1), torch.full((len(grad), 1), -1.0, device=grad.device))
        return grad.mul_(self.alpha / len(grad))


# ----------------------------------------------------------------------------- networks and acting


def q_network(obs_dim: int, num_actions: int, hidden, activation: str = "relu") -> nn.Sequential:
    """Q-values of every action from a flat observation: an MLP."""
    return mlp(int(obs_dim), list(hidden), int(num_actions), activation)


def greedy_actions(q: nn.Module, obs: np.ndarray) -> np.ndarray:
    """argmax_a q(obs, a) for a batch of NumPy observations (int64)."""
    with torch.inference_mode():
        device = next(q.parameters()).device
        x = torch.as_tensor(obs, dtype=torch.float32, device=device).reshape(len(obs), -1)
        return q(x).argmax(-1).numpy(force=True).astype(np.int64)


class EpsilonGreedyPolicy(Policy):
    """Deterministic (evaluation): greedy in `q`. Otherwise (collecting): with probability
    `epsilon` a uniform random action, else greedy in `explore_q` (default: `q` itself).

    RND passes its exploration critic as `explore_q`: it collects by chasing the bonus and is
    evaluated greedily in the exploitation critic (the course's explore-or-exploit agent);
    epsilon 1 gives uniform random actions (the course's random-exploration baseline).
    """

    def __init__(self, q: nn.Module, num_actions: int, epsilon: float, explore_q: nn.Module | None = None):
        super().__init__()
        self.q = q
        self.explore_q = explore_q if explore_q is not None else q
        self.num_actions = int(num_actions)
        self.epsilon = float(epsilon)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        if deterministic:
            return greedy_actions(self.q, obs)
        n = len(obs)
        explore = np.random.random_sample(n) < self.epsilon
        random_actions = np.random.randint(0, self.num_actions, size=n).astype(np.int64)
        if explore.all():  # no need for the network
            return random_actions
        return np.where(explore, random_actions, greedy_actions(self.explore_q, obs))

    def export_module(self) -> nn.Module:
        """The greedy action in `q` (`rlforge export`)."""
        from rlforge.export.blocks import greedy

        return greedy(self.q)


# ----------------------------------------------------------------------------- critic


@dataclass
class CriticStep:
    """What one gradient step of a QCritic gives back (all detached tensors)."""

    loss: torch.Tensor  # the minimised loss: TD loss plus any extra term
    td_loss: torch.Tensor
    q_taken: torch.Tensor  # Q(s, a_data) [B]
    q_all: torch.Tensor  # Q(s, .) [B, A]
    target: torch.Tensor  # [B]
    extra: torch.Tensor | None = None  # the extra term (e.g. the CQL regulariser, before its weight)
    grad_norm: torch.Tensor | None = None


class QCritic:
    """An online Q-network, its target network, Adam, and hard target copies every
    `target_period` gradient steps (CS285: 300).

    Small relu/tanh MLPs on the CPU take their passes without modules or autograd
    (rlforge.mlp_passes: the same values, a fraction of torch's per-operation overhead): the
    target's forward, and the online net's forward and backward when the extra loss term, if
    any, gives its gradient (CQLPenalty does). `hand_written=False` forces autograd.
    """

    def __init__(self, obs_dim: int, num_actions: int, hidden, activation: str, lr: float, target_period: int,
                 max_grad_norm: float | None = None, device: str | torch.device = "cpu", hand_written: bool = True):
        self.net = q_network(obs_dim, num_actions, hidden, activation).to(device)
        self.target = q_network(obs_dim, num_actions, hidden, activation).to(device).requires_grad_(False)
        self.target.load_state_dict(self.net.state_dict())
        online = plain_mlp(self.net) if hand_written else None
        self._passes = MLPGradient(online) if online is not None else None
        self._target_head = plain_mlp(self.target) if online is not None else None
        self.params = list(self.net.parameters())
        self._target_params = list(self.target.parameters())
        self.optimizer = make_adam(self.params, lr)
        self.target_period = int(target_period)
        self.max_grad_norm = max_grad_norm
        self.gradient_steps = 0

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)

    def next_q(self, next_obs: torch.Tensor, double_q: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Q_target(s', .) and, with double Q-learning, Q_online(s', .) (no graph)."""
        if self._passes is not None:
            return (mlp_forward(self._target_head, next_obs),
                    mlp_forward(self._passes.net, next_obs) if double_q else None)
        with torch.no_grad():
            return self.target(next_obs), (self.net(next_obs) if double_q else None)

    def td_target(self, batch: dict, gamma: float, double_q: bool, rewards: torch.Tensor | None = None) -> torch.Tensor:
        """The (double) DQN target of a replay batch; `rewards` replaces the batch's rewards."""
        next_q_target, next_q_online = self.next_q(batch["next_obs"], double_q)
        rewards = batch["rewards"] if rewards is None else rewards
        return double_q_target(rewards, batch["terminated"], gamma, next_q_target, next_q_online)

    def fit(self, obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor, extra_loss=None) -> CriticStep:
        """One gradient step on  MSE(Q(s, a), target) [+ extra_loss(q_all, actions)]."""
        if self._passes is not None and (extra_loss is None or hasattr(extra_loss, "gradient")):
            q_all, q_taken, td_loss, extra = self._hand_written_backward(obs, actions, target, extra_loss)
        else:
            q_all = self.net(obs)
            q_taken = q_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
            td_loss = F.mse_loss(q_taken, target)
            extra = extra_loss(q_all, actions) if extra_loss is not None else None
            self.optimizer.zero_grad(set_to_none=True)
            (td_loss if extra is None else td_loss + extra).backward()
        loss = td_loss if extra is None else td_loss + extra
        grad_norm = clip_grad_norm(self.params, self.max_grad_norm) if self.max_grad_norm else None
        self.optimizer.step()
        self.gradient_steps += 1
        if self.gradient_steps % self.target_period == 0:
            self.copy_target()
        return CriticStep(loss.detach(), td_loss.detach(), q_taken.detach(), q_all.detach(), target,
                          None if extra is None else extra.detach(), grad_norm)

    def _hand_written_backward(self, obs, actions, target, extra_loss):
        """Q(s, .), Q(s, a), the TD loss and the extra term, with the loss's gradient in each
        parameter's .grad (the MSE's is 2 * (Q(s, a) - target) / batch at the data actions)."""
        chosen = actions.long().unsqueeze(-1)
        q_all = self._passes.forward(obs.reshape(len(obs), -1))
        with torch.no_grad():
            q_taken = q_all.gather(-1, chosen).squeeze(-1)
            error = q_taken - target
            grad = torch.zeros_like(q_all).scatter_(-1, chosen, error.unsqueeze(-1) * (2.0 / len(error)))
            extra = None
            if extra_loss is not None:
                extra = extra_loss(q_all, actions)
                grad += extra_loss.gradient(q_all, actions)
        self._passes.backward(grad)
        return q_all, q_taken, error.pow(2).mean(), extra

    def td_step(self, batch: dict, gamma: float, double_q: bool, rewards: torch.Tensor | None = None,
                extra_loss=None) -> CriticStep:
        """One (double) DQN gradient step on a replay batch."""
        target = self.td_target(batch, gamma, double_q, rewards)
        return self.fit(batch["obs"], batch["actions"], target, extra_loss)

    def copy_target(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._target_params, self.params)

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "target": self.target.state_dict(),
                "optimizer": optimizer_state(self.optimizer), "gradient_steps": self.gradient_steps}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.target.load_state_dict(state["target"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.gradient_steps = int(state["gradient_steps"])


def step_metrics(step: CriticStep, loss_name: str = "critic", chart_prefix: str = "") -> dict[str, float]:
    """A critic step's metrics as floats (one device sync): losses/<loss_name>,
    charts/<chart_prefix>q_mean, charts/<chart_prefix>target_mean (and grad_norm)."""
    values = {f"losses/{loss_name}": step.loss, f"charts/{chart_prefix}q_mean": step.q_taken.mean(),
              f"charts/{chart_prefix}target_mean": step.target.mean()}
    if step.grad_norm is not None:
        values[f"charts/{chart_prefix}grad_norm"] = step.grad_norm
    return dict(zip(values, torch.stack([v.float() for v in values.values()]).tolist()))


# ----------------------------------------------------------------------------- online schedule


class OnlineSchedule:
    """How many gradient steps an `update` owes: one in an offline step; online, one per env
    step observed since the last update, once `learning_starts` env steps were collected."""

    def __init__(self, learning_starts: int):
        self.learning_starts = int(learning_starts)
        self.collected = 0  # env steps observed online, all envs together
        self.pending = 0  # env steps observed since the last update

    def observed(self, steps: int) -> None:
        self.collected += int(steps)
        self.pending += int(steps)

    def due(self, progress: Progress) -> int:
        if progress.offline:
            return 1
        steps, self.pending = self.pending, 0
        return steps if self.collected >= self.learning_starts else 0

    def state_dict(self) -> dict:
        return {"collected": self.collected, "pending": self.pending}

    def load_state_dict(self, state: dict) -> None:
        self.collected, self.pending = int(state["collected"]), int(state["pending"])


# ----------------------------------------------------------------------------- data


def check_spaces(algo: str, observation_space, action_space) -> tuple[int, int]:
    """(observation size, number of actions); one-line errors for spaces these agents cannot use."""
    if not isinstance(action_space, spaces.Discrete):
        raise RLForgeError(f"{algo} needs a discrete action space, got {action_space}")
    if not isinstance(observation_space, spaces.Box):
        raise RLForgeError(f"{algo} needs a Box observation space, got {observation_space}")
    return int(np.prod(observation_space.shape)), int(action_space.n)


def buffer_seed() -> int:
    """A sampling seed derived from torch's seed (which the engine sets), drawing from no
    global stream."""
    return int(np.random.default_rng(torch.initial_seed()).integers(2**31))


def load_discrete_dataset(name: str, size: int, observation_space, action_space):
    """The dataset `name` (its first `size` transitions when size > 0), checked against the
    env's spaces: observations of the env's shape, integer actions within the action space.
    Actions stored as whole floats or as [N, 1] (e.g. CS285 pickles) become int64 [N]."""
    from rlforge import datasets

    dataset = datasets.load_dataset(name)
    actions = np.asarray(dataset.actions)
    if actions.ndim == 2 and actions.shape[1] == 1:
        actions = actions.reshape(len(actions))
    if actions.dtype.kind == "f" and np.all(np.isfinite(actions)) and np.all(actions == np.round(actions)):
        actions = actions.astype(np.int64)
    dataset.actions = actions
    check = getattr(datasets, "check_dataset", None)
    if check is not None:
        check(dataset, observation_space, action_space, name)
    if size > 0 and size < len(dataset):
        fields = {k: getattr(dataset, k)[:size] for k in datasets.FIELDS}
        dataset = datasets.Dataset(**fields, metadata={**dataset.metadata, "transitions": int(size)})
    obs_shape, n = tuple(observation_space.shape), int(action_space.n)
    if len(dataset) == 0:
        raise RLForgeError(f"dataset {name!r} holds no transitions")
    if tuple(dataset.obs.shape[1:]) != obs_shape or tuple(dataset.next_obs.shape[1:]) != obs_shape:
        raise RLForgeError(f"dataset {name!r} has observations of shape {dataset.obs.shape[1:]}, the env's are {obs_shape}")
    actions = dataset.actions
    if actions.ndim != 1 or actions.dtype.kind not in "iu" or actions.min() < 0 or actions.max() >= n:
        raise RLForgeError(f"dataset {name!r} does not hold discrete actions in 0..{n - 1} (one per step)")
    dataset.actions = actions.astype(np.int64)
    return dataset


def dataset_buffer(dataset, capacity: int, seed: int, device: str | torch.device = "cpu",
                   obs_shape: tuple | None = None) -> ReplayBuffer:
    """A ReplayBuffer of `capacity` rows (float32 observations, int64 actions) holding
    `dataset` (None: empty; `obs_shape` then gives the observation shape)."""
    shape = tuple(dataset.obs.shape[1:]) if dataset is not None else tuple(obs_shape)
    buffer = ReplayBuffer(capacity, shape, (), action_dtype=np.int64, obs_dtype=np.float32, seed=seed, device=device)
    if dataset is not None:
        if len(dataset) > capacity:
            raise RLForgeError(f"the dataset's {len(dataset):,} transitions do not fit a buffer of {capacity:,}")
        buffer.add_rows(np.asarray(dataset.obs, np.float32), dataset.actions, np.asarray(dataset.rewards, np.float32),
                        np.asarray(dataset.next_obs, np.float32), np.asarray(dataset.terminated, np.float32),
                        np.asarray(dataset.truncated, np.float32))
    return buffer


def buffer_dataset(buffer: ReplayBuffer, start: int = 0, metadata: dict | None = None):
    """The buffer's rows from `start` on (oldest first) as an rlforge Dataset."""
    from rlforge.datasets import Dataset

    rows = buffer.rows_in_order()
    return Dataset(obs=rows["obs"][start:], actions=rows["actions"][start:], rewards=rows["rewards"][start:],
                   next_obs=rows["next_obs"][start:], terminated=rows["terminated"][start:] > 0.5,
                   truncated=rows["truncated"][start:] > 0.5, metadata=dict(metadata or {}))


# ----------------------------------------------------------------------------- mazes


def find_maze(env_id: str | None):
    """The Pointmass maze of `env_id`, or None (another env, or no id)."""
    if not env_id:
        return None
    from rlforge_offline.maze import maze_for

    return maze_for(env_id)


class Coverage:
    """The maze cells visited by the data an agent holds (dataset and online data), cumulative:
    whole cells (charts/state_coverage) and quarter cells (charts/state_coverage_fine, 4 x 4
    sub-cells per cell: on a small maze every cell is soon visited, and only the finer grid
    still tells how evenly the data spreads)."""

    FINE = 4

    def __init__(self, maze):
        self.maze = maze
        self.visited = maze.visit_mask(np.zeros((0, 2)))
        self.visited_fine = maze.visit_mask(np.zeros((0, 2)), self.FINE)

    def add(self, obs: np.ndarray) -> None:
        if len(obs):
            obs = np.asarray(obs).reshape(-1, 2)
            self.visited |= self.maze.visit_mask(obs)
            self.visited_fine |= self.maze.visit_mask(obs, self.FINE)

    def fraction(self) -> float:
        return float(self.maze.coverage(self.visited))

    def metrics(self) -> dict[str, float]:
        return {"charts/state_coverage": self.fraction(),
                "charts/state_coverage_fine": float(self.maze.coverage(self.visited_fine))}

    def state_dict(self) -> dict:
        return {"visited": self.visited.copy(), "visited_fine": self.visited_fine.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.visited[...] = np.asarray(state["visited"], dtype=bool)
        self.visited_fine[...] = np.asarray(state["visited_fine"], dtype=bool)


def maze_values(maze, fn) -> np.ndarray:
    """`fn` (float32 observations [N, 2] -> values [N]) at every cell centre, as [rows, cols]."""
    centres = np.asarray(maze.cell_centres_obs(), dtype=np.float32)
    return np.asarray(fn(centres), dtype=np.float64).reshape(np.shape(maze.walls))


def max_q_fn(q: nn.Module):
    """observations -> max_a q(obs, a), as a NumPy function."""
    def values(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            device = next(q.parameters()).device
            return q(torch.as_tensor(obs, device=device)).amax(-1).numpy(force=True)
    return values


def maze_images(maze, obs_in_buffer: np.ndarray, q_fn) -> dict[str, np.ndarray]:
    """`visits`: the buffer's states over the maze; `value`: q_fn (max_a Q) at the cell centres."""
    from rlforge_offline.maze import heatmap_image, visits_image

    return {"visits": visits_image(maze, np.asarray(obs_in_buffer).reshape(-1, 2)),
            "value": heatmap_image(maze, maze_values(maze, q_fn))}
