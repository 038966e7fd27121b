"""Soft Actor-Critic (Haarnoja et al. 2018), with the CS285 hw3 variants as options.

Read top to bottom: the pure math (critic targets, log-probabilities) as small functions,
then the policy (a tanh-squashed Gaussian), then the agent (replay, critic, actor and
temperature updates, target networks, state for resume).

Actions are learnt in [-1, 1]: the policy squashes with tanh and rescales to the env's Box
bounds when acting; `observe` maps the env's actions back to [-1, 1] before storing them.
All critics are one batched ensemble (one matrix product per layer for all of them).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from gymnasium import spaces

from rlforge.actor_critic import (actor_and_temperature_step, as_floats, bellman_target, critic_step, critic_steps,
                                  critic_steps_due, entropy_agent_state, entropy_temperature, load_entropy_agent_state, off_policy_basics, q_values,
                                  set_requires_grad, soft_update)
from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.mlp_passes import NumpyMLP, plain_mlp
from rlforge.nn import SquashedNormal, ensemble_mlp, make_adam, maybe_compile, mlp, resolve_device, squashed_log_prob

from rlforge_sac.whole_update import whole_update

# ----------------------------------------------------------------------------- math


def critic_target(next_q: torch.Tensor, rewards: torch.Tensor, terminated: torch.Tensor, gamma: float,
                  next_log_prob: torch.Tensor, temperature, backup: str, backup_entropy: bool,
                  redq_subset: int = 2, generator: torch.Generator | None = None) -> torch.Tensor:
    """The soft Bellman target r + gamma * (1 - terminated) * (V'(s') - alpha * log pi(a'|s')).

    `next_q` [n_critics, B] holds each target critic's Q(s', a') with a' ~ pi(.|s').
    Returns [n_critics, B] for "doubleq" (critic i regresses onto the other critic's value)
    and [1, B] otherwise (one target shared by all critics; it broadcasts).
      single   the one critic's value (needs n_critics == 1)
      doubleq  the two values swapped (needs n_critics == 2)
      min      the minimum over all target critics (clipped double-Q)
      mean     the mean over the target critics
      redq     the minimum over a random subset of `redq_subset` target critics
    """
    n = next_q.shape[0]
    if backup == "single":
        if n != 1:
            raise ValueError(f"backup 'single' needs one critic, got {n}")
        value = next_q
    elif backup == "doubleq":
        if n != 2:
            raise ValueError(f"backup 'doubleq' needs two critics, got {n}")
        value = next_q.flip(0)
    elif backup == "min":
        value = next_q.amin(0, keepdim=True)
    elif backup == "mean":
        value = next_q.mean(0, keepdim=True)
    elif backup == "redq":
        if not 1 <= redq_subset <= n:
            raise ValueError(f"backup 'redq' needs 1 <= redq_subset <= {n}, got {redq_subset}")
        rng_device = generator.device if generator is not None else next_q.device
        subset = torch.randperm(n, generator=generator, device=rng_device)[:redq_subset].to(next_q.device)
        value = next_q.index_select(0, subset).amin(0, keepdim=True)
    else:
        raise ValueError(f"unknown backup {backup!r}")
    if backup_entropy:
        value = value - temperature * next_log_prob
    return bellman_target(rewards, terminated, gamma, value)


def combine_critics(q: torch.Tensor, how: str) -> torch.Tensor:
    """Q-values [n_critics, ...] combined over the critics: "min" or "mean"."""
    return q.amin(0) if how == "min" else q.mean(0)


# ----------------------------------------------------------------------------- policy


class SACPolicy(Policy):
    """An MLP giving the mean and (state-dependent) log-std of a tanh-squashed Gaussian.

    `distribution(obs)` works in the normalised action range [-1, 1]; `act` rescales to
    the env's Box bounds.
    """

    def __init__(self, obs_dim: int, action_space: spaces.Box, hidden: list[int], activation: str = "relu",
                 log_std_min: float = -20.0, log_std_max: float = 2.0, net: torch.nn.Module | None = None):
        super().__init__()
        self.action_shape = tuple(action_space.shape)
        act_dim = int(np.prod(self.action_shape))
        # `net` maps observations to (mean, log-std) pairs; CrossQ passes one with batch renormalisation
        self.net = net if net is not None else mlp(obs_dim, list(hidden), 2 * act_dim, activation)
        low = np.asarray(action_space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(action_space.high, dtype=np.float64).reshape(-1)
        self.register_buffer("action_scale", torch.as_tensor((high - low) / 2.0, dtype=torch.float32), persistent=False)
        self.register_buffer("action_bias", torch.as_tensor((high + low) / 2.0, dtype=torch.float32), persistent=False)
        self.register_buffer("action_low", torch.as_tensor(low, dtype=torch.float32), persistent=False)
        self.register_buffer("action_high", torch.as_tensor(high, dtype=torch.float32), persistent=False)
        self.log_std_min, self.log_std_max = float(log_std_min), float(log_std_max)
        # Acting on the CPU runs the network in NumPy where it is a plain MLP: a one-row pass
        # through nn.Module calls costs several times its arithmetic (docs/performance.md).
        self.numpy_acting = True
        self._numpy_net: tuple[torch.nn.Module, NumpyMLP | None] | None = None  # (the net it was built for, the pass)
        self._np_bounds = tuple(np.asarray(b, dtype=np.float32) for b in ((high - low) / 2.0, (high + low) / 2.0, low, high))

    def distribution(self, obs: torch.Tensor) -> SquashedNormal:
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        return SquashedNormal(mean, log_std.clamp(self.log_std_min, self.log_std_max))

    forward = distribution

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        # The same numbers (and the same draw from torch's generator) as distribution(x).rsample()
        # or .mode, without building the distribution: acting runs once per env step.
        numpy_net = self._numpy_pass()
        if numpy_net is not None:
            return self._act_in_numpy(numpy_net, np.asarray(obs), deterministic)
        with torch.inference_mode():
            n = len(obs)
            x = torch.as_tensor(obs, dtype=torch.float32, device=self.action_scale.device).reshape(n, -1)
            mean, log_std = self.net(x).chunk(2, dim=-1)
            if deterministic:
                squashed = torch.tanh(mean)
            else:
                std = log_std.clamp(self.log_std_min, self.log_std_max).exp()
                noise = torch.randn(mean.shape, dtype=mean.dtype, device=mean.device)
                squashed = torch.tanh(mean + std * noise)
            actions = squashed.mul_(self.action_scale).add_(self.action_bias).clamp_(self.action_low, self.action_high)
            return actions.numpy(force=True).reshape(n, *self.action_shape)

    def _numpy_pass(self) -> NumpyMLP | None:
        """The NumPy forward pass of `self.net`, rebuilt if the net is replaced (agents building
        on SAC may put layers in front of it); None where acting stays in torch."""
        if not self.numpy_acting or not self.action_scale.is_cpu:
            return None
        if self._numpy_net is None or self._numpy_net[0] is not self.net:
            plain = plain_mlp(self.net)
            self._numpy_net = (self.net, NumpyMLP(plain) if plain is not None else None)
        return self._numpy_net[1]

    def _act_in_numpy(self, numpy_net: NumpyMLP, obs: np.ndarray, deterministic: bool) -> np.ndarray:
        """`act` through the NumPy pass; the noise is still drawn from torch's generator, so
        runs draw the same random numbers on either path. Right after an update every call
        here runs with cold CPU caches, so it sticks to a few plain ufuncs (np.split and
        np.clip go through Python wrappers that cost tens of microseconds there)."""
        n = len(obs)
        out = numpy_net(obs.reshape(n, -1))
        half = out.shape[-1] // 2
        pre_tanh = out[:, :half]
        if not deterministic:
            log_std = np.minimum(np.maximum(out[:, half:], self.log_std_min), self.log_std_max)
            pre_tanh = pre_tanh + np.exp(log_std) * torch.randn(pre_tanh.shape).numpy()
        scale, bias, low, high = self._np_bounds
        actions = np.tanh(pre_tanh)
        actions *= scale
        actions += bias
        np.maximum(actions, low, out=actions)
        np.minimum(actions, high, out=actions)
        return actions.reshape(n, *self.action_shape)

    def export_module(self) -> torch.nn.Module:
        """tanh of the mean, rescaled to the bounds and clipped (`rlforge export`). Whatever `net`
        holds in front (BC-SAC's observation normalisation, CrossQ's batch renormalisation with
        its running statistics) is exported as it acts."""
        from rlforge.export import blocks

        return torch.nn.Sequential(torch.nn.Flatten(), blocks.frozen(self.net), blocks.FirstHalf(), torch.nn.Tanh(),
                                   blocks.ToBounds(self.action_scale, self.action_bias),
                                   blocks.Clip(self.action_low, self.action_high), blocks.ActionShape(self.action_shape))


# ----------------------------------------------------------------------------- agent


class SACAgent(Agent):
    """Soft Actor-Critic over a replay buffer; one actor step per env step."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        off_policy_basics(self, "SAC")  # spaces, dimensions, replay buffer, counters
        cfg = config

        self.policy = SACPolicy(self.obs_dim, action_space, cfg.actor_hidden, cfg.activation,
                                cfg.log_std_min, cfg.log_std_max).to(self.device)
        self.critic = ensemble_mlp(cfg.num_critics, self.obs_dim + self.act_dim, list(cfg.critic_hidden), 1,
                                   cfg.activation).to(self.device)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self._critic_params = list(self.critic.parameters())
        self._target_params = list(self.target_critic.parameters())

        self.log_temperature, self.target_entropy = entropy_temperature(cfg, self.act_dim, self.device)

        self.actor_optimizer = make_adam(self.policy.parameters(), cfg.actor_lr)
        self.critic_optimizer = make_adam(self._critic_params, cfg.critic_lr)
        self.temperature_optimizer = make_adam([self.log_temperature], cfg.temperature_lr) if cfg.auto_temperature else None

        # The loss math, torch.compile'd as compile_update says (eager where compiling fails).
        compiled = getattr(cfg, "compile_update", False)
        self._critic_losses = maybe_compile(self._critic_loss_math, compiled is True or compiled == "critic")
        self._actor_losses = maybe_compile(self._actor_loss_math, compiled is True or compiled == "actor")
        if compiled == "whole" and type(self) is not SACAgent:  # subclasses change the losses it holds
            raise ValueError(f"compile_update 'whole' is SAC's own update; {type(self).__name__} does not support it")
        self._compile_whole = compiled == "whole"
        self._whole_update = None  # built at the first update, on the optimisers' state tensors of then

    # ------------------------------------------------------------------ experience

    def observe(self, batch: Transitions) -> None:
        """Store the batch; actions are mapped from the env's bounds to [-1, 1]."""
        self.unit_actions.store(self.buffer, batch)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        steps = critic_steps_due(self, progress)
        if steps == 0:
            return {}
        if self._compile_whole:
            critic_loss, q_mean = critic_steps(self._update_whole, self.buffer, self.config.batch_size, steps)
        else:
            critic_loss, q_mean = critic_steps(self._update_critic, self.buffer, self.config.batch_size, steps,
                                               self._actor_step_after_critics)
        if not progress.metrics_due:  # the losses stay tensors: no float conversion (a GPU sync)
            return {}
        actor_loss, entropy, temperature_loss = self._actor_losses_last
        metrics = {"losses/critic": critic_loss, "charts/q_mean": q_mean, "losses/actor": actor_loss,
                   "charts/entropy": entropy, "charts/temperature": self.log_temperature.detach().exp()}
        if temperature_loss is not None:
            metrics["losses/temperature"] = temperature_loss
        return as_floats(metrics)

    def _actor_step_after_critics(self, batch: dict[str, torch.Tensor]) -> None:
        """One actor (and temperature) step per env step: after its `updates_per_step` critic steps,
        on the last critic batch's observations."""
        if self.critic_updates % self.config.updates_per_step == 0:
            self._actor_losses_last = self._update_actor(batch["obs"])

    def _update_whole(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """compile_update 'whole': critic, target, actor and temperature steps as one compiled graph."""
        if self._whole_update is None:
            self._whole_update = maybe_compile(whole_update(self), True)
        critic_loss, q_mean, *actor_losses = self._whole_update(batch)
        self._actor_losses_last = tuple(actor_losses)
        self.critic_updates += 1
        self.actor_updates += 1
        return critic_loss, q_mean

    def _update_critic(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        loss, q_mean = critic_step(self.critic_optimizer, *self._critic_losses(batch))
        self.critic_updates += 1
        self._update_target()
        return loss, q_mean

    def _critic_loss_math(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each critic's MSE to the soft Bellman target [n_critics], and the Q-values [n_critics, B]."""
        cfg = self.config
        with torch.no_grad():
            next_actions, next_log_prob = self.policy.distribution(batch["next_obs"]).rsample_with_log_prob()
            next_q = q_values(self.target_critic, batch["next_obs"], next_actions)
            target = critic_target(next_q, batch["rewards"], batch["terminated"], cfg.gamma, next_log_prob,
                                   self.log_temperature.exp(), cfg.backup, cfg.backup_entropy, cfg.redq_subset)
        q = q_values(self.critic, batch["obs"], batch["actions"])  # [n_critics, B]
        return (q - target).pow(2).mean(-1), q

    def _update_target(self) -> None:
        cfg = self.config
        if cfg.target_update == "soft":
            soft_update(self._target_params, self._critic_params, cfg.tau)
        elif self.critic_updates % cfg.target_period == 0:
            with torch.no_grad():
                torch._foreach_copy_(self._target_params, self._critic_params)

    def _update_actor(self, obs: torch.Tensor):
        alpha = self.log_temperature.detach().exp()
        set_requires_grad(self._critic_params, False)  # gradients flow through the critic to the actions only
        loss, log_prob, q = self._actor_losses(obs, alpha)
        set_requires_grad(self._critic_params, True)
        mean_log_prob = log_prob.detach().mean()
        total = loss
        extra = self._actor_regulariser(q)
        if extra is not None:
            total = total + extra
        temperature_loss = actor_and_temperature_step(total, mean_log_prob, self.log_temperature, self.target_entropy,
                                                      self.actor_optimizer, self.temperature_optimizer)
        self.actor_updates += 1
        return loss.detach(), -mean_log_prob, temperature_loss

    def _actor_loss_math(self, obs: torch.Tensor, alpha: torch.Tensor):
        """The actor's loss, the log-probabilities of its sampled actions and the critics' values of them."""
        cfg = self.config
        samples = cfg.actor_samples
        shape = () if samples == 1 else (samples,)
        obs_s = obs if samples == 1 else obs.expand(samples, *obs.shape)
        dist = self.policy.distribution(obs)
        if cfg.actor_gradient == "reparametrize":
            actions, log_prob = dist.rsample_with_log_prob(shape)
            q = combine_critics(q_values(self.critic, obs_s, actions), cfg.actor_q)
            loss = (alpha * log_prob - q).mean()
        else:
            with torch.no_grad():
                noise = torch.randn(shape + dist.mean.shape, dtype=dist.mean.dtype, device=dist.mean.device)
                pre_tanh = dist.mean + dist.std * noise
                q = combine_critics(q_values(self.critic, obs_s, torch.tanh(pre_tanh)), cfg.actor_q)
            score = squashed_log_prob(pre_tanh, dist.mean, dist.log_std)
            _, log_prob = dist.rsample_with_log_prob()  # reparametrised entropy estimate
            loss = -(score * q).mean() + alpha * log_prob.mean()
        return loss, log_prob, q

    def _actor_regulariser(self, q: torch.Tensor) -> torch.Tensor | None:
        """An extra term for the actor's loss, for agents building on SAC (imitation-seeded SAC
        pulls the actor towards the expert). `q` holds the critics' values of the sampled actions."""
        return None

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {**entropy_agent_state(self), "target_critic": self.target_critic.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        load_entropy_agent_state(self, state)
        self.target_critic.load_state_dict(state["target_critic"])
        self._whole_update = None  # the optimisers' state tensors were replaced
