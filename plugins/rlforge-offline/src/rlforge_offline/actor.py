"""The categorical actor of awac and iql: an MLP of logits over the discrete actions, trained by
advantage-weighted log-likelihood of the data's actions, and the policy that acts with it.

Sampling draws from NumPy's global generator, which the engine seeds and checkpoints, so a
resumed run collects exactly as an uninterrupted one; the most likely action (evaluation,
videos) draws nothing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlforge.agent import Policy
from rlforge.nn import load_optimizer_state, make_adam, mlp, optimizer_state

from rlforge_offline.advantage import weighted_log_likelihood_loss


class CategoricalActor:
    """pi(a|s) = softmax(net(s)): the network and its Adam."""

    def __init__(self, obs_dim: int, num_actions: int, hidden, activation: str, lr: float,
                 device: str | torch.device = "cpu"):
        self.net = mlp(int(obs_dim), list(hidden), int(num_actions), activation).to(device)
        self.params = list(self.net.parameters())
        self.optimizer = make_adam(self.params, lr)

    def probs(self, obs: torch.Tensor) -> torch.Tensor:
        """pi(.|s) [B, A], without a graph."""
        with torch.no_grad():
            return torch.softmax(self.net(obs), dim=-1)

    def fit(self, logits: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """One gradient step on -mean[w * log pi(a_data|s)], given this batch's `logits` (with their
        graph: the caller has used them for pi's probabilities, detached). Returns the loss, detached."""
        loss = weighted_log_likelihood_loss(logits, actions, weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "optimizer": optimizer_state(self.optimizer)}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        load_optimizer_state(self.optimizer, state["optimizer"])


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Mean entropy (nats) of a batch of categorical distributions [B, A]."""
    return -(probs * torch.log(probs.clamp_min(1e-12))).sum(-1).mean()


class ActorPolicy(Policy):
    """Deterministic (evaluation): the actor's most likely action. Otherwise (collecting online):
    an action sampled from pi(.|s), or with probability `epsilon` a uniformly random one."""

    def __init__(self, net: nn.Module, num_actions: int, epsilon: float = 0.0):
        super().__init__()
        self.net = net
        self.num_actions = int(num_actions)
        self.epsilon = float(epsilon)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        n = len(obs)
        with torch.inference_mode():
            device = next(self.net.parameters()).device
            logits = self.net(torch.as_tensor(obs, dtype=torch.float32, device=device).reshape(n, -1))
            if deterministic:
                return logits.argmax(-1).numpy(force=True).astype(np.int64)
            probs = torch.softmax(logits.double(), dim=-1).numpy(force=True)
        # inverse-CDF sampling with NumPy's global generator (seeded and checkpointed by the engine)
        sampled = (probs.cumsum(-1) < np.random.random_sample((n, 1))).sum(-1)
        actions = np.minimum(sampled, self.num_actions - 1).astype(np.int64)
        if self.epsilon > 0:
            explore = np.random.random_sample(n) < self.epsilon
            actions = np.where(explore, np.random.randint(0, self.num_actions, size=n), actions).astype(np.int64)
        return actions

    def export_module(self) -> nn.Module:
        """The most likely action (`rlforge export`)."""
        from rlforge.export.blocks import greedy

        return greedy(self.net)
