"""The math of the actor-critic agents of this plugin (awac, iql), as pure functions on tensors.

Discrete actions throughout: Q-values come as [batch, actions], a policy as its probabilities
(or logits) over the same actions. A transition cut by a time limit bootstraps like any other
(its next observation is the true one); only `terminated` stops the backup.

    AWAC (Nair et al. 2020; CS285 hw5)
      critic target   r + gamma * sum_a' pi(a'|s') Q_target(s', a')
      advantage       Q(s, a) - sum_a pi(a|s) Q(s, a)
    IQL (Kostrikov et al. 2021; CS285 hw5)
      value loss      mean |tau - 1(u < 0)| u^2,  u = Q_target(s, a) - V(s)
      critic target   r + gamma * V(s')
      advantage       Q_target(s, a) - V(s)
    both actors       minimise -mean[ exp(A / temperature) * log pi(a_data | s) ]

The actor's weight is exp(A / temperature), the course's exp(A / lambda) for both algorithms
(the IQL paper writes exp(beta * A), beta = 1 / temperature). The course neither normalises
nor clips the weights; `max_weight` optionally clips them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def expected_q(q_all: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """E_{a ~ pi} Q(s, a) = sum_a pi(a|s) Q(s, a), per row: [B, A] x [B, A] -> [B]."""
    return (probs * q_all).sum(-1)


def bootstrap_target(rewards: torch.Tensor, terminated: torch.Tensor, gamma: float,
                     next_value: torch.Tensor) -> torch.Tensor:
    """r + gamma * (1 - terminated) * next_value, per row."""
    return rewards + gamma * (1.0 - terminated.float()) * next_value


def policy_backup_target(rewards: torch.Tensor, terminated: torch.Tensor, gamma: float,
                         next_q_target: torch.Tensor, next_probs: torch.Tensor) -> torch.Tensor:
    """AWAC's critic target: the next state valued by the actor, r + gamma * E_{a'~pi} Q_target(s', a').
    No maximum over actions, so the backup asks only about actions the actor would take."""
    return bootstrap_target(rewards, terminated, gamma, expected_q(next_q_target, next_probs))


def awac_advantage(q_all: torch.Tensor, actions: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Q(s, a_data) - E_{a~pi} Q(s, a): how much better the data's action is than the actor's average."""
    taken = q_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    return taken - expected_q(q_all, probs)


def expectile_loss(diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """mean of |tau - 1(u < 0)| * u^2 over u = diff (target - prediction).

    Minimised by the tau-expectile of the targets: tau 0.5 is half the squared error (the mean),
    tau near 1 tends to their maximum. IQL fits V(s) this way to the Q-values of the data's
    actions, an in-sample soft maximum over actions.
    """
    weight = torch.where(diff < 0, 1.0 - expectile, expectile)
    return (weight * diff.pow(2)).mean()


def advantage_weights(advantages: torch.Tensor, temperature: float, max_weight: float | None = None) -> torch.Tensor:
    """exp(A / temperature), clipped at `max_weight` when given (no gradient: the weights are data)."""
    weights = torch.exp(advantages.detach() / temperature)
    return weights.clamp(max=max_weight) if max_weight is not None else weights


def weighted_log_likelihood_loss(logits: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """-mean[ w * log pi(a_data | s) ] for a categorical policy given by `logits` [B, A]:
    weighted behaviour cloning of the data's actions."""
    log_probs = F.log_softmax(logits, dim=-1).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    return -(weights * log_probs).mean()
