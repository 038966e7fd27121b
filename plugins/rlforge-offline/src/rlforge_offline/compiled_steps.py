"""TD3+BC's and IQL's (Box actions) gradient steps as functions of a batch, for
`compile_update: true`: torch.compile makes each one graph, so the forward passes, gradients
and Adam's maths run as a few fused kernels with no Python between them.

The losses are the agents' own (their critic targets, rlforge_offline.box_losses and
rlforge_offline.advantage), differentiated with `torch.func.grad_and_value` with each network's
parameters swapped in; Adam's steps work on the optimisers' own state tensors
(rlforge.functional_update), in place. So checkpoints, resume and metrics are those of the
eager step, and the numbers match it to float rounding (tests/test_compiled_steps.py).

Build the steps again after the agent loads a state: torch's load_state_dict replaces the
optimisers' state tensors they hold.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rlforge.actor_critic import soft_update
from rlforge.functional_update import adam_step_, module_adam, swapped_parameters

from rlforge_offline.advantage import advantage_weights, bootstrap_target, expectile_loss
from rlforge_offline.box_losses import td3bc_actor_loss

Batch = dict[str, torch.Tensor]
Metrics = dict[str, torch.Tensor]


def _detached(params: list[torch.Tensor]) -> list[torch.Tensor]:
    return [p.detach() for p in params]


def _critic_regression(critics, names: list[str]):
    """The critics' loss sum_i MSE(Q_i(s, a), target) as a function of their parameters, with
    (per-critic loss mean, Q mean) beside it."""

    def objective(params: list[torch.Tensor], obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor):
        with swapped_parameters(critics.net, names, params):
            q = critics(obs, actions)  # [n_critics, B]
        per_critic = (q - target).pow(2).mean(-1)
        return per_critic.sum(), (per_critic.detach().mean(), q.detach().mean())

    return torch.func.grad_and_value(objective, has_aux=True)


def td3bc_steps(agent) -> tuple[Callable[[Batch], Metrics], Callable[[Batch], Metrics]]:
    """(critic step, critic step then actor step and targets) of `agent` (a TD3BCAgent), in place.
    Each returns the metrics of the eager step: the critic's, and the actor's for the second."""
    critics, actor, alpha, tau = agent.critics, agent.actor, agent.config.alpha, agent.config.tau
    critic_names, critic_adam = module_adam(critics.net, critics.optimizer)
    actor_names, actor_adam = module_adam(actor, agent.actor_optimizer)
    critic_gradients = _critic_regression(critics, critic_names)

    def actor_objective(params: list[torch.Tensor], obs: torch.Tensor, data_actions: torch.Tensor):
        with swapped_parameters(actor, actor_names, params):
            pi = actor.mode(obs)
        loss, lmbda, bc = td3bc_actor_loss(critics(obs, pi)[0], pi, data_actions, alpha)  # Q_1, as TD3
        return loss, {"losses/actor": loss.detach(), "losses/bc": bc, "charts/lambda": lmbda}

    actor_gradients = torch.func.grad_and_value(actor_objective, has_aux=True)

    def critic_step(batch: Batch) -> Metrics:
        target = agent.critic_target(batch)
        grads, (_, (loss, q_mean)) = critic_gradients(_detached(critic_adam.params), batch["obs"], batch["actions"],
                                                      target)
        adam_step_(critic_adam, grads)
        return {"losses/critic": loss, "charts/q_mean": q_mean, "charts/target_mean": target.mean()}

    def critic_actor_and_targets_step(batch: Batch) -> Metrics:
        metrics = critic_step(batch)
        grads, (_, actor_metrics) = actor_gradients(_detached(actor_adam.params), batch["obs"], batch["actions"])
        adam_step_(actor_adam, grads)
        soft_update(agent._targets, agent._online, tau)
        return {**metrics, **actor_metrics}

    return critic_step, critic_actor_and_targets_step


def iql_step(agent) -> Callable[[Batch, torch.Tensor], Metrics]:
    """IQL's whole gradient step of `agent` (a BoxIQLAgent), in place: value, critics and their
    targets, actor, as the eager `gradient_step` orders them. Its second argument is the actor's
    learning rate of this step, a 0-d tensor (so the cosine schedule does not recompile)."""
    cfg = agent.config
    critics, value, actor = agent.critics, agent.value, agent.actor
    critic_names, critic_adam = module_adam(critics.net, critics.optimizer)
    value_names, value_adam = module_adam(value, agent.value_optimizer)
    actor_names, actor_adam = module_adam(actor, agent.actor_optimizer)
    critic_gradients = _critic_regression(critics, critic_names)

    def value_objective(params: list[torch.Tensor], obs: torch.Tensor, q_target: torch.Tensor):
        with swapped_parameters(value, value_names, params):
            v = value(obs).squeeze(-1)
        loss = expectile_loss(q_target - v, cfg.expectile)
        return loss, (loss.detach(), v.detach())

    def actor_objective(params: list[torch.Tensor], obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor):
        with swapped_parameters(actor, actor_names, params):
            loss = -(weights * actor.distribution(obs).log_prob(actions)).mean()
        return loss, loss.detach()

    value_gradients = torch.func.grad_and_value(value_objective, has_aux=True)
    actor_gradients = torch.func.grad_and_value(actor_objective, has_aux=True)

    def step(batch: Batch, actor_lr: torch.Tensor) -> Metrics:
        obs, actions = batch["obs"], batch["actions"]
        with torch.no_grad():
            q_target = critics.target_q(obs, actions).amin(0)  # [B]
            next_v = value(batch["next_obs"]).squeeze(-1)
        grads, (_, (value_loss, v)) = value_gradients(_detached(value_adam.params), obs, q_target)
        adam_step_(value_adam, grads)
        advantage = q_target - v  # V before this step's update, as the eager step

        target = bootstrap_target(batch["rewards"], batch["terminated"], cfg.gamma, next_v)
        grads, (_, (critic_loss, q_mean)) = critic_gradients(_detached(critic_adam.params), obs, actions, target)
        adam_step_(critic_adam, grads)
        critics.update_target()

        weights = advantage_weights(advantage, cfg.temperature, cfg.max_weight)
        grads, (_, actor_loss) = actor_gradients(_detached(actor_adam.params), obs, actions, weights)
        adam_step_(actor_adam, grads, lr=actor_lr)
        return {"losses/critic": critic_loss, "losses/value": value_loss, "losses/actor": actor_loss,
                "charts/q_mean": q_mean, "charts/value_mean": v.mean(), "charts/advantage_mean": advantage.mean(),
                "charts/weight_mean": weights.mean(), "charts/weight_max": weights.max()}

    return step
