"""The math of the Box-action offline agents that is theirs alone, as pure functions on tensors
(IQL's expectile loss and the advantage weights are shared with the discrete agents, in
rlforge_offline.advantage). Actions are in [-1, 1] units throughout.

    TD3+BC (Fujimoto & Gu 2021)
      actor loss    -lambda * mean_B Q1(s, pi(s)) + mean_{B, A} (pi(s) - a)^2,
                    lambda = alpha / mean_B |Q1(s, pi(s))| (held constant: no gradient)
    CQL (Kumar et al. 2020), continuous actions, importance-sampled CQL(H)
      soft max      T * logsumexp over 3N sampled actions of (Q - log density) / T:
                      N uniform a ~ U[-1, 1]^d        Q(s, a) - log(0.5^d)
                      N from pi(.|s)                  Q(s, a) - log pi(a|s)
                      N from pi(.|s'), valued at s    Q(s, a) - log pi(a|s')
      gap           soft max - Q(s, a_data), per critic, averaged over the batch
      penalty       cql_alpha * gap; with the Lagrange variant
                    alpha' * cql_alpha * (gap - target_action_gap), alpha' = exp(log alpha') clipped
                    to [0, 1e6], and alpha' trained to maximise it
    Cal-QL (Nakamoto et al. 2023)
      the policy's sampled Q-values (from pi(.|s) and pi(.|s')) are replaced by
      max(Q, G) before the soft max, G the data transition's Monte-Carlo return-to-go: the
      penalty stops pushing Q(s, pi) below the return the data's behaviour already collected.
"""

from __future__ import annotations

import math

import torch


def td3bc_actor_loss(q_pi: torch.Tensor, pi_actions: torch.Tensor, data_actions: torch.Tensor,
                     alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """TD3+BC's actor loss from Q1(s, pi(s)) [B], pi(s) [B, A] and the data's actions [B, A].
    Returns (loss, lambda, the BC term)."""
    lmbda = alpha / q_pi.abs().mean().detach()
    bc = (pi_actions - data_actions).pow(2).mean()
    return -lmbda * q_pi.mean() + bc, lmbda, bc.detach()


def random_log_density(act_dim: int) -> float:
    """log of the uniform density on [-1, 1]^d: log(0.5^d)."""
    return act_dim * math.log(0.5)


def calibrate(q_sampled: torch.Tensor, lower_bound: torch.Tensor) -> torch.Tensor:
    """Cal-QL's bound: max(Q, G) with G [B] broadcast over the leading (critic, sample) axes of
    q_sampled [..., B]."""
    return torch.maximum(q_sampled, lower_bound)


def cql_soft_maximum(q_random: torch.Tensor, q_policy: torch.Tensor, q_next_policy: torch.Tensor,
                     log_prob_policy: torch.Tensor, log_prob_next: torch.Tensor, act_dim: int,
                     temperature: float = 1.0, lower_bound: torch.Tensor | None = None) -> torch.Tensor:
    """T * logsumexp over the 3N importance-weighted samples (see the module's docstring).

    q_* are [n_critics, N, B] (the critics' values at s of the sampled actions), log_prob_* [N, B]
    (no gradient reaches them). `lower_bound` [B]: Cal-QL's returns-to-go, bounding the policy's
    two sets of values. Returns [n_critics, B]."""
    if lower_bound is not None:
        q_policy, q_next_policy = calibrate(q_policy, lower_bound), calibrate(q_next_policy, lower_bound)
    weighted = torch.cat((q_random - random_log_density(act_dim), q_policy - log_prob_policy.detach(),
                          q_next_policy - log_prob_next.detach()), dim=-2)
    return temperature * torch.logsumexp(weighted / temperature, dim=-2)


def cql_gap(soft_max: torch.Tensor, q_data: torch.Tensor) -> torch.Tensor:
    """mean over the batch of soft max - Q(s, a_data): [n_critics]."""
    return (soft_max - q_data).mean(-1)


def cql_penalty(gap: torch.Tensor, alpha: float, multiplier: torch.Tensor | None = None,
                target_action_gap: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The penalty per critic [n_critics], and (Lagrange variant, `multiplier` = alpha') the
    multiplier's loss: -mean(alpha' * alpha * (gap - target_gap)), gradient to alpha' only, so
    alpha' grows while the gap exceeds its target and shrinks (to 0) below it."""
    if multiplier is None:
        return alpha * gap, None
    penalty = multiplier.detach() * alpha * (gap - target_action_gap)
    multiplier_loss = -(multiplier * alpha * (gap.detach() - target_action_gap)).mean()
    return penalty, multiplier_loss


def lagrange_multiplier(log_multiplier: torch.Tensor) -> torch.Tensor:
    """alpha' = exp(log alpha') clipped to [0, 1e6] (CQL's)."""
    return log_multiplier.exp().clamp(0.0, 1e6)
