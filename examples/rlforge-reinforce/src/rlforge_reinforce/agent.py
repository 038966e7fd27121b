"""REINFORCE with reward-to-go (Williams 1992; CS285 hw2 without a value baseline).

The engine collects `steps_per_iteration` steps per env with `policy.act`, then calls `observe`
and `update`. Steps are kept per env until their episode ends; once `batch_steps` steps of
finished episodes are stored, `update` takes one gradient step on -log pi(a|s) * reward-to-go.
"""

import numpy as np
import torch
from gymnasium import spaces

from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.nn import mlp


def reward_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """sum_{t' >= t} gamma^(t' - t) r_t' for every step t of one episode."""
    out, running = np.zeros(len(rewards), dtype=np.float32), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


class CategoricalPolicy(Policy):
    """An MLP giving action logits; `act` samples from them, or takes the most likely action."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: list[int], activation: str):
        super().__init__()
        self.net = mlp(obs_dim, hidden, n_actions, activation)

    def forward(self, obs: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.net(obs))

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        with torch.inference_mode():  # acting never builds an autograd graph
            device = next(self.parameters()).device
            dist = self(torch.as_tensor(obs, dtype=torch.float32, device=device).reshape(len(obs), -1))
            actions = dist.probs.argmax(-1) if deterministic else dist.sample()
            return actions.cpu().numpy()


class ReinforceAgent(Agent):
    def __init__(self, config, observation_space, action_space, num_envs=1, device="cpu"):
        super().__init__(config, observation_space, action_space, num_envs, device)
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"reinforce needs a Discrete action space, got {action_space}")
        self.obs_dim = int(np.prod(observation_space.shape))
        self.steps_per_iteration = config.rollout_steps
        self.policy = CategoricalPolicy(self.obs_dim, int(action_space.n), list(config.hidden),
                                        config.activation).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
        self.open = [self._episode() for _ in range(num_envs)]  # each env's unfinished episode
        self.finished = []  # finished episodes waiting for the next gradient step
        self.updates = 0

    def _episode(self, obs=(), actions=(), rewards=()) -> dict:
        return {"obs": np.asarray(obs, np.float32).reshape(-1, self.obs_dim),
                "actions": np.asarray(actions, np.int64), "rewards": np.asarray(rewards, np.float32)}

    def observe(self, batch: Transitions) -> None:
        """Append each env's steps to its open episode; close the episode where it ended."""
        for i in range(self.num_envs):
            done, start = batch.terminated[:, i] | batch.truncated[:, i], 0
            for end in [*(np.flatnonzero(done) + 1), len(done)]:
                if end > start:
                    episode = self.open[i]
                    self.open[i] = self._episode(
                        np.concatenate([episode["obs"], batch.obs[start:end, i].reshape(end - start, -1)]),
                        np.concatenate([episode["actions"], batch.actions[start:end, i]]),
                        np.concatenate([episode["rewards"], batch.rewards[start:end, i]]))
                    if done[end - 1]:
                        self.finished.append(self.open[i])
                        self.open[i] = self._episode()
                start = end

    def update(self, progress: Progress) -> dict[str, float]:
        if sum(len(e["rewards"]) for e in self.finished) < self.config.batch_steps:
            return {}  # not enough finished episodes yet
        episodes, self.finished = self.finished, []
        obs = torch.as_tensor(np.concatenate([e["obs"] for e in episodes]), device=self.device)
        actions = torch.as_tensor(np.concatenate([e["actions"] for e in episodes]), device=self.device)
        returns = np.concatenate([reward_to_go(e["rewards"], self.config.gamma) for e in episodes])
        weights = torch.as_tensor(returns, device=self.device)
        if self.config.normalize:
            weights = (weights - weights.mean()) / (weights.std() + 1e-8)
        dist = self.policy(obs)
        loss = -(dist.log_prob(actions) * weights).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return {"losses/policy": loss.item(), "charts/entropy": dist.entropy().mean().item(),
                "charts/batch_episodes": float(len(episodes))}

    def state_dict(self) -> dict:  # everything a resume needs
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                "open": self.open, "finished": self.finished, "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.open = [self._episode(e["obs"], e["actions"], e["rewards"]) for e in state["open"]]
        self.finished = [self._episode(e["obs"], e["actions"], e["rewards"]) for e in state["finished"]]
        self.updates = int(state["updates"])
