"""Pieces every off-policy actor-critic over continuous actions shares (SAC, CrossQ, TD3, DDPG):
the critics' Q-values in one ensemble forward, the one-step Bellman target, Polyak averaging,
the map between the env's action bounds and the [-1, 1] range the agents learn in, and the
entropy temperature of the maximum-entropy ones (SAC, CrossQ).

Functions, not a base class: each agent reads top to bottom and calls what it needs.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from gymnasium import spaces

from rlforge.agent import Transitions
from rlforge.buffers import ReplayBuffer
from rlforge.nn import load_optimizer_state, optimizer_state
from rlforge.precision import precision_for_layers


def q_values(critic: torch.nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """All critics' Q(obs, actions) in one ensemble forward: [n_critics, *leading dims]."""
    x = torch.cat((obs, actions), dim=-1)
    lead = x.shape[:-1]
    out = critic(x.reshape(-1, x.shape[-1]))  # [n, N, 1]
    return out.reshape(out.shape[0], *lead)


def bellman_target(rewards: torch.Tensor, terminated: torch.Tensor, gamma: float, next_value: torch.Tensor) -> torch.Tensor:
    """r + gamma * (1 - terminated) * V(s'): no bootstrap where the episode terminated (a time
    limit is not a termination: those rows bootstrap like any other)."""
    return rewards + gamma * (1.0 - terminated.to(rewards.dtype)) * next_value


def soft_update(target_params: list[torch.Tensor], params: list[torch.Tensor], tau: float) -> None:
    """Polyak averaging, target <- (1 - tau) * target + tau * online, as one foreach call."""
    with torch.no_grad():
        torch._foreach_lerp_(target_params, params, tau)


def set_requires_grad(params: list[torch.Tensor], flag: bool) -> None:
    """Module.requires_grad_ walks the module tree on every call; the list is enough."""
    for p in params:
        p.requires_grad_(flag)


def check_box_spaces(algo: str, observation_space, action_space) -> None:
    """Vector observations and bounded continuous actions, as these agents need."""
    if not isinstance(action_space, spaces.Box):
        raise ValueError(f"{algo} needs a continuous (Box) action space, got {action_space}")
    if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise ValueError(f"{algo} squashes actions into the action space's bounds, which must be finite, got {action_space}")
    if not isinstance(observation_space, spaces.Box):
        raise ValueError(f"{algo} needs a Box (vector) observation space, got {observation_space}")


class UnitActions:
    """The affine map from a Box's bounds to [-1, 1], for storing the env's actions in the
    range the policy learns in (and, through `scale` and `bias`, back)."""

    def __init__(self, action_space: spaces.Box):
        scale = (action_space.high - action_space.low).astype(np.float64).reshape(-1) / 2.0
        self.scale = np.where(scale > 0, scale, 1.0)
        self.bias = (action_space.high + action_space.low).astype(np.float64).reshape(-1) / 2.0

    def store(self, buffer: ReplayBuffer, batch: Transitions) -> None:
        """Add `batch` to `buffer` with its actions mapped to [-1, 1]. (Plain ufuncs and one
        `add_rows`: this runs once per env step, with caches cold from the update.)"""
        n = batch.rewards.size  # steps * num_envs rows
        actions = (batch.actions.reshape(n, -1) - self.bias) / self.scale
        np.maximum(actions, -1.0, out=actions)
        np.minimum(actions, 1.0, out=actions)
        buffer.add_rows(batch.obs.reshape(n, -1), actions, batch.rewards.reshape(n),
                        batch.next_obs.reshape(n, -1), batch.terminated.reshape(n), batch.truncated.reshape(n))

    def buffer_state(self, buffer: ReplayBuffer) -> dict:
        """The buffer's state with the map beside it: a dataset made from a checkpoint
        (rlforge dataset create --from-run) gives the env's actions back with it."""
        return {**buffer.state_dict(), "action_scale": self.scale.copy(), "action_bias": self.bias.copy()}


def buffer_seed() -> int:
    """A replay buffer's sampling seed derived from torch's seed (the engine seeds torch, NumPy
    and random before building the agent) without drawing from any global stream."""
    return int(np.random.default_rng(torch.initial_seed()).integers(2**31))


def entropy_temperature(config, act_dim: int, device: torch.device) -> tuple[torch.Tensor, float]:
    """The log-temperature (a leaf tensor, trainable where `config.auto_temperature`) and the
    entropy it aims for (`config.target_entropy`, or -dim(A) where null)."""
    initial = math.log(config.temperature) if config.temperature > 0 else float("-inf")
    log_temperature = torch.tensor(initial, dtype=torch.float32, device=device, requires_grad=config.auto_temperature)
    target = float(config.target_entropy) if config.target_entropy is not None else -float(act_dim)
    return log_temperature, target


def actor_and_temperature_step(loss: torch.Tensor, mean_log_prob: torch.Tensor, log_temperature: torch.Tensor,
                               target_entropy: float, actor_optimizer: torch.optim.Optimizer,
                               temperature_optimizer: torch.optim.Optimizer | None) -> torch.Tensor | None:
    """One step of the actor on `loss` and, where the temperature is tuned, of the log-temperature
    on -log(alpha) * (mean log pi + target entropy), through one backward pass. Returns the
    temperature's loss (None where it is fixed)."""
    temperature_loss = None
    if temperature_optimizer is not None:
        temperature_loss = -log_temperature * (mean_log_prob.detach() + target_entropy)
        loss = loss + temperature_loss
        temperature_optimizer.zero_grad(set_to_none=True)
    actor_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    actor_optimizer.step()
    if temperature_optimizer is not None:
        temperature_optimizer.step()
        temperature_loss = temperature_loss.detach()
    return temperature_loss


def off_policy_basics(agent, algo: str) -> None:
    """What these agents set up alike from `agent.config` and its spaces: the spaces checked;
    obs_dim and act_dim; random_steps; one engine step per update; the matmul precision of the
    updates; the replay buffer (actions stored in [-1, 1]) and the map to it; step counters."""
    cfg = agent.config
    check_box_spaces(algo, agent.observation_space, agent.action_space)
    agent.obs_dim = int(np.prod(agent.observation_space.shape))
    agent.act_dim = int(np.prod(agent.action_space.shape))
    agent.random_steps = cfg.random_steps
    agent.steps_per_iteration = 1
    # "medium" (faster where exact, see rlforge.precision) for wide layers and large batches
    agent.update_matmul_precision = precision_for_layers(cfg.batch_size, [*cfg.actor_hidden, *cfg.critic_hidden])
    agent.buffer = ReplayBuffer(cfg.buffer_size, (agent.obs_dim,), (agent.act_dim,), seed=buffer_seed(), device=agent.device)
    agent.unit_actions = UnitActions(agent.action_space)
    agent.critic_updates = 0
    agent.actor_updates = 0


def critic_steps_due(agent, progress) -> int:
    """How many critic steps this engine step makes: none before `learning_starts` (or with an
    empty buffer), else one per env step collected times `updates_per_step`."""
    cfg = agent.config
    if progress.step < cfg.learning_starts or len(agent.buffer) == 0:
        return 0
    return agent.steps_per_iteration * agent.num_envs * cfg.updates_per_step


def critic_steps(update_critic, buffer: ReplayBuffer, batch_size: int, steps: int,
                 after_each=None) -> tuple[torch.Tensor, torch.Tensor]:
    """`steps` critic steps, each on a fresh batch: `update_critic(batch) -> (loss, mean Q)`, then
    `after_each(batch)` (a delayed actor step). Returns the mean loss and mean Q, as tensors
    (turned into floats only where a metric row is due)."""
    loss_sum = q_sum = None
    for _ in range(steps):
        batch = buffer.sample(batch_size)
        loss, q_mean = update_critic(batch)
        loss_sum = loss if loss_sum is None else loss_sum + loss
        q_sum = q_mean if q_sum is None else q_sum + q_mean
        if after_each is not None:
            after_each(batch)
    return loss_sum / steps, q_sum / steps


def as_floats(metrics: dict[str, torch.Tensor]) -> dict[str, float]:
    """Tensor metrics as floats in one conversion (one device sync on a GPU)."""
    return dict(zip(metrics, torch.stack(list(metrics.values())).tolist()))


def critic_step(optimizer: torch.optim.Optimizer, per_critic: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step of the critics on the sum of their own losses (`per_critic`
    [n_critics]: each critic gets the gradient of its own MSE); returns the mean loss and the
    mean of `q`, detached."""
    optimizer.zero_grad(set_to_none=True)
    per_critic.sum().backward()
    optimizer.step()
    return per_critic.detach().mean(), q.detach().mean()


def entropy_agent_state(agent) -> dict:
    """What SAC and CrossQ keep alike for a resume: actor and critic (their normalisation
    statistics included), the log-temperature, the three optimisers, the replay buffer with its
    action map, and the step counters."""
    temperature = agent.temperature_optimizer
    return {
        "actor": agent.policy.state_dict(),
        "critic": agent.critic.state_dict(),
        "log_temperature": agent.log_temperature.detach().clone(),
        "optimizers": {"actor": optimizer_state(agent.actor_optimizer), "critic": optimizer_state(agent.critic_optimizer),
                       "temperature": optimizer_state(temperature) if temperature is not None else None},
        "buffer": agent.unit_actions.buffer_state(agent.buffer),  # actions in [-1, 1], with the map back
        "counters": {"critic_updates": agent.critic_updates, "actor_updates": agent.actor_updates},
    }


def load_entropy_agent_state(agent, state: dict) -> None:
    """Restore what `entropy_agent_state` returned."""
    agent.policy.load_state_dict(state["actor"])
    agent.critic.load_state_dict(state["critic"])
    with torch.no_grad():
        agent.log_temperature.copy_(torch.as_tensor(state["log_temperature"]))
    optimizers = state["optimizers"]
    load_optimizer_state(agent.actor_optimizer, optimizers["actor"])
    load_optimizer_state(agent.critic_optimizer, optimizers["critic"])
    if agent.temperature_optimizer is not None and optimizers.get("temperature") is not None:
        load_optimizer_state(agent.temperature_optimizer, optimizers["temperature"])
    agent.buffer.load_state_dict(state["buffer"])
    agent.critic_updates = int(state["counters"]["critic_updates"])
    agent.actor_updates = int(state["counters"]["actor_updates"])


def critic_ensemble(num_critics: int, obs_dim: int, act_dim: int, hidden: list[int], activation: str,
                    device: torch.device | str = "cpu") -> tuple[torch.nn.Module, torch.nn.Module]:
    """`num_critics` Q(s, a) MLPs as one batched ensemble (rlforge.nn.ensemble_mlp) and its
    target copy (no gradients): the critics of SAC, TD3 and the offline actor-critics."""
    import copy

    from rlforge.nn import ensemble_mlp

    critic = ensemble_mlp(int(num_critics), int(obs_dim) + int(act_dim), list(hidden), 1, activation).to(device)
    return critic, copy.deepcopy(critic).requires_grad_(False)


def smoothed_target_actions(actions: torch.Tensor, policy_noise: float, noise_clip: float,
                            noise: torch.Tensor | None = None) -> torch.Tensor:
    """TD3's target policy smoothing: clip(mu'(s') + clip(policy_noise * noise, -noise_clip,
    noise_clip), -1, 1) for standard normal `noise` (drawn here unless given); the target
    actor's actions unchanged where policy_noise is 0."""
    if policy_noise == 0:
        return actions
    if noise is None:
        noise = torch.randn_like(actions)
    return (actions + (policy_noise * noise).clamp(-noise_clip, noise_clip)).clamp(-1.0, 1.0)


def clipped_double_q_target(next_q: torch.Tensor, rewards: torch.Tensor, terminated: torch.Tensor,
                            gamma: float) -> torch.Tensor:
    """r + gamma * (1 - terminated) * min_i Q'_i(s', a'), for next_q [n_critics, B]; one critic
    gives DDPG's target."""
    return bellman_target(rewards, terminated, gamma, next_q.amin(0))

