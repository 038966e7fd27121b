"""SAC's whole update (critic step, target average, actor and temperature step) as one function
of a batch, for `compile_update: whole`: torch.compile makes it one graph, so forward passes,
gradients and Adam's maths run as a few fused kernels with no Python between them.

The losses are SACAgent's own (`_critic_loss_math`, `_actor_loss_math`), differentiated with
`torch.func.grad_and_value` with the network's parameters swapped in for the call; Adam's step
works on the optimisers' own state tensors (rlforge.functional_update) and the Polyak average on
the target critic's, all in place. So the agent's checkpoints, resume and metrics are those of
the eager update, and the numbers match it to float rounding (tests/test_sac_whole_update.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rlforge.functional_update import adam_step_, adam_tensors, module_adam, swapped_parameters

Batch = dict[str, torch.Tensor]


def whole_update(agent) -> Callable[[Batch], tuple[torch.Tensor, ...]]:
    """A function of a batch that makes one critic step, the target average and one actor and
    temperature step of `agent` (a SACAgent), in place. It returns the critic loss and mean Q,
    the actor loss, the entropy estimate and the temperature loss (detached tensors).

    Built on the optimisers' state tensors as they are now: build it again after the agent
    loads a state (torch's load_state_dict replaces those tensors)."""
    cfg = agent.config
    policy, critic = agent.policy, agent.critic
    critic_names, critic_adam = module_adam(critic, agent.critic_optimizer)
    actor_names, actor_adam = module_adam(policy, agent.actor_optimizer)
    temperature_adam = adam_tensors(agent.temperature_optimizer)
    target_params, critic_params = agent._target_params, agent._critic_params
    log_temperature, target_entropy = agent.log_temperature, agent.target_entropy

    def critic_objective(params: list[torch.Tensor], batch: Batch):
        with swapped_parameters(critic, critic_names, params):
            per_critic, q = agent._critic_loss_math(batch)
        return per_critic.sum(), (per_critic.detach().mean(), q.detach().mean())

    def actor_objective(params: list[torch.Tensor], log_temp: torch.Tensor, obs: torch.Tensor, alpha: torch.Tensor):
        with swapped_parameters(policy, actor_names, params):
            loss, log_prob, _ = agent._actor_loss_math(obs, alpha)
        mean_log_prob = log_prob.detach().mean()
        temperature_loss = -log_temp * (mean_log_prob + target_entropy)
        return loss + temperature_loss, (loss.detach(), -mean_log_prob, temperature_loss.detach())

    critic_gradients = torch.func.grad_and_value(critic_objective, has_aux=True)
    actor_gradients = torch.func.grad_and_value(actor_objective, argnums=(0, 1), has_aux=True)

    def update(batch: Batch) -> tuple[torch.Tensor, ...]:
        grads, (_, (critic_loss, q_mean)) = critic_gradients([p.detach() for p in critic_params], batch)
        adam_step_(critic_adam, grads)
        with torch.no_grad():
            torch._foreach_lerp_(target_params, critic_params, cfg.tau)
        alpha = log_temperature.detach().exp()
        (actor_grads, temperature_grad), (_, (actor_loss, entropy, temperature_loss)) = actor_gradients(
            [p.detach() for p in actor_adam.params], log_temperature.detach(), batch["obs"], alpha)
        adam_step_(actor_adam, actor_grads)
        adam_step_(temperature_adam, [temperature_grad])
        return critic_loss, q_mean, actor_loss, entropy, temperature_loss

    return update
