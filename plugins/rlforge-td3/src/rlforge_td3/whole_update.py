"""TD3's (and DDPG's) update steps as functions of a batch, for `compile_update: true`:
torch.compile makes each one graph, so forward passes, gradients and Adam's maths run as a few
fused kernels with no Python between them.

Two steps, as the agent alternates them: a critic step alone, and (every `policy_delay`-th)
the critic step followed by the actor step and the Polyak average of both targets. The losses
are TD3Agent's (its `critic_target`, the critics' squared error, the actor's -Q1), differentiated
with `torch.func.grad_and_value` with the network's parameters swapped in; Adam's steps work on
the optimisers' own state tensors (rlforge.functional_update), all in place. So checkpoints,
resume and metrics are those of the eager update, and the numbers match it to float rounding
(tests/test_td3_compiled_update.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rlforge.actor_critic import q_values
from rlforge.functional_update import adam_step_, module_adam, swapped_parameters

Batch = dict[str, torch.Tensor]


def update_steps(agent) -> tuple[Callable[[Batch], tuple[torch.Tensor, ...]], Callable[[Batch], tuple[torch.Tensor, ...]]]:
    """(critic step, critic step then actor step and targets) of `agent` (a TD3Agent), in place.
    The first returns the critic loss and mean Q, the second those and the actor loss.

    Built on the optimisers' state tensors as they are now: build them again after the agent
    loads a state (torch's load_state_dict replaces those tensors)."""
    critic, policy, tau = agent.critic, agent.policy, agent.config.tau
    critic_names, critic_adam = module_adam(critic, agent.critic_optimizer)
    actor_names, actor_adam = module_adam(policy, agent.actor_optimizer)
    target_params, online_params = agent._target_params, agent._online_params

    def critic_objective(params: list[torch.Tensor], batch: Batch):
        target = agent.critic_target(batch)
        with swapped_parameters(critic, critic_names, params):
            q = q_values(critic, batch["obs"], batch["actions"])  # [n_critics, B]
        per_critic = (q - target).pow(2).mean(-1)
        return per_critic.sum(), (per_critic.detach().mean(), q.detach().mean())

    def actor_objective(params: list[torch.Tensor], obs: torch.Tensor):
        with swapped_parameters(policy, actor_names, params):
            loss = -q_values(critic, obs, policy.actions(obs))[0].mean()  # through the first critic (Q1)
        return loss, loss.detach()

    critic_gradients = torch.func.grad_and_value(critic_objective, has_aux=True)
    actor_gradients = torch.func.grad_and_value(actor_objective, has_aux=True)

    def critic_step(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        grads, (_, (loss, q_mean)) = critic_gradients([p.detach() for p in critic_adam.params], batch)
        adam_step_(critic_adam, grads)
        return loss, q_mean

    def critic_actor_and_targets_step(batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        loss, q_mean = critic_step(batch)
        grads, (_, actor_loss) = actor_gradients([p.detach() for p in actor_adam.params], batch["obs"])
        adam_step_(actor_adam, grads)
        with torch.no_grad():
            torch._foreach_lerp_(target_params, online_params, tau)
        return loss, q_mean, actor_loss

    return critic_step, critic_actor_and_targets_step
