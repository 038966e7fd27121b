"""TD3 (Fujimoto et al. 2018, arXiv:1802.09477) and, as settings of the same agent, DDPG
(Lillicrap et al. 2015, as re-tuned by Fujimoto et al.: one critic, no smoothing, no delay).

Read top to bottom: the target's math as small functions, then the deterministic policy, then
the agent (replay, critic and delayed actor updates, target networks, state for resume).

Actions are learnt in [-1, 1]: the actor ends in tanh and the policy rescales to the env's Box
bounds when acting; `observe` maps the env's actions back to [-1, 1] before storing them. So
every noise scale is a fraction of half the action range, as in the authors' main.py. The
critics are one batched ensemble (one matrix product per layer for all of them).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from gymnasium import spaces

from rlforge.actor_critic import (as_floats, clipped_double_q_target, critic_step, critic_steps, critic_steps_due,
                                  off_policy_basics, q_values, set_requires_grad, smoothed_target_actions,
                                  soft_update)
from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.mlp_passes import NumpyMLP, plain_mlp
from rlforge.nn import ensemble_mlp, load_optimizer_state, make_adam, maybe_compile, mlp, optimizer_state, resolve_device

from rlforge_td3.whole_update import update_steps

# ----------------------------------------------------------------------------- policy


class TD3Policy(Policy):
    """A deterministic actor mu(s) = tanh(MLP(s)) in [-1, 1], rescaled to the env's bounds when
    acting; collecting adds Gaussian noise of `exploration_noise` (clipped back into the bounds)."""

    def __init__(self, obs_dim: int, action_space: spaces.Box, hidden: list[int], activation: str = "relu",
                 exploration_noise: float = 0.1):
        super().__init__()
        self.action_shape = tuple(action_space.shape)
        self.net = mlp(obs_dim, list(hidden), int(np.prod(self.action_shape)), activation)
        self.exploration_noise = float(exploration_noise)
        low = np.asarray(action_space.low, dtype=np.float32).reshape(-1)
        high = np.asarray(action_space.high, dtype=np.float32).reshape(-1)
        self._np_scale, self._np_bias = (high - low) / 2.0, (high + low) / 2.0
        self.register_buffer("action_scale", torch.as_tensor(self._np_scale), persistent=False)
        self.register_buffer("action_bias", torch.as_tensor(self._np_bias), persistent=False)
        # Acting on the CPU runs the plain MLP in NumPy: a one-row pass through nn.Module calls
        # costs several times its arithmetic (docs/performance.md). Built on first use; False
        # where acting stays in torch (another device, or layers NumpyMLP does not cover).
        self._numpy_net: NumpyMLP | bool | None = None

    def actions(self, obs: torch.Tensor) -> torch.Tensor:
        """mu(obs) in [-1, 1] (differentiable)."""
        return torch.tanh(self.net(obs))

    forward = actions

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        n = len(obs)
        if self._numpy_net is None:
            plain = plain_mlp(self.net) if self.action_scale.is_cpu else None
            self._numpy_net = NumpyMLP(plain) if plain is not None else False
        if self._numpy_net:
            unit = np.tanh(self._numpy_net(np.asarray(obs).reshape(n, -1)))
        else:
            with torch.inference_mode():
                x = torch.as_tensor(obs, dtype=torch.float32, device=self.action_scale.device).reshape(n, -1)
                unit = self.actions(x).numpy(force=True)
        if not deterministic and self.exploration_noise > 0:
            # drawn from torch's generator, whose state the checkpoint keeps
            unit = np.clip(unit + self.exploration_noise * torch.randn(unit.shape).numpy(), -1.0, 1.0)
        return (unit * self._np_scale + self._np_bias).astype(np.float32).reshape(n, *self.action_shape)

    def export_module(self) -> torch.nn.Module:
        """mu(obs) rescaled to the bounds, without exploration noise (`rlforge export`)."""
        from rlforge.export import blocks

        return torch.nn.Sequential(torch.nn.Flatten(), blocks.frozen(self.net), torch.nn.Tanh(),
                                   blocks.ToBounds(self.action_scale, self.action_bias),
                                   blocks.ActionShape(self.action_shape))


# ----------------------------------------------------------------------------- agent


class TD3Agent(Agent):
    """TD3 over a replay buffer: a critic step per env step, the actor and the targets every
    `policy_delay`-th. DDPG is this agent with one critic, no smoothing and no delay."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        off_policy_basics(self, "TD3")  # spaces, dimensions, replay buffer, counters
        cfg = config

        self.policy = TD3Policy(self.obs_dim, action_space, cfg.actor_hidden, cfg.activation,
                                cfg.exploration_noise).to(self.device)
        self.target_actor = copy.deepcopy(self.policy.net).requires_grad_(False)
        self.critic = ensemble_mlp(cfg.num_critics, self.obs_dim + self.act_dim, list(cfg.critic_hidden), 1,
                                   cfg.activation).to(self.device)
        self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self._critic_params = list(self.critic.parameters())
        # online and target parameters of actor and critics, lerped together at each delayed step
        self._online_params = [*self.policy.net.parameters(), *self._critic_params]
        self._target_params = [*self.target_actor.parameters(), *self.target_critic.parameters()]

        self.actor_optimizer = make_adam(self.policy.parameters(), cfg.actor_lr)
        self.critic_optimizer = make_adam(self._critic_params, cfg.critic_lr)
        self._actor_loss: torch.Tensor | None = None  # the last actor step's, reported until the next one
        self._compiled_steps = None  # compile_update: built at the first update, on the optimisers' state of then

    def observe(self, batch: Transitions) -> None:
        """Store the batch; actions are mapped from the env's bounds to [-1, 1]."""
        self.unit_actions.store(self.buffer, batch)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        steps = critic_steps_due(self, progress)
        if steps == 0:
            return {}
        if self.config.compile_update:
            critic_loss, q_mean = critic_steps(self._compiled_step, self.buffer, self.config.batch_size, steps)
        else:
            critic_loss, q_mean = critic_steps(self._update_critic, self.buffer, self.config.batch_size, steps,
                                               self._delayed_step)
        if not progress.metrics_due:  # the losses stay tensors: no float conversion (a GPU sync)
            return {}
        metrics = {"losses/critic": critic_loss, "charts/q_mean": q_mean}
        if self._actor_loss is not None:
            metrics["losses/actor"] = self._actor_loss
        return as_floats(metrics)

    def _delayed_step(self, batch: dict[str, torch.Tensor]) -> None:
        """Every policy_delay-th critic step: the actor, then both targets."""
        if self.critic_updates % self.config.policy_delay == 0:
            self._actor_loss = self._update_actor(batch["obs"])
            soft_update(self._target_params, self._online_params, self.config.tau)

    def _compiled_step(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """compile_update: the critic step, and every policy_delay-th the actor and targets too, each
        as one compiled graph."""
        if self._compiled_steps is None:
            self._compiled_steps = tuple(maybe_compile(step, True) for step in update_steps(self))
        critic_only, with_actor = self._compiled_steps
        self.critic_updates += 1
        if self.critic_updates % self.config.policy_delay != 0:
            return critic_only(batch)
        loss, q_mean, self._actor_loss = with_actor(batch)
        self.actor_updates += 1
        return loss, q_mean

    def critic_target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The clipped double-Q target [B] from the target actor (smoothed) and target critics."""
        cfg = self.config
        with torch.no_grad():
            next_actions = torch.tanh(self.target_actor(batch["next_obs"]))
            next_actions = smoothed_target_actions(next_actions, cfg.policy_noise, cfg.noise_clip)
            next_q = q_values(self.target_critic, batch["next_obs"], next_actions)
            return clipped_double_q_target(next_q, batch["rewards"], batch["terminated"], cfg.gamma)

    def _update_critic(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        target = self.critic_target(batch)
        q = q_values(self.critic, batch["obs"], batch["actions"])  # [n_critics, B]
        loss, q_mean = critic_step(self.critic_optimizer, (q - target).pow(2).mean(-1), q)
        self.critic_updates += 1
        return loss, q_mean

    def _update_actor(self, obs: torch.Tensor) -> torch.Tensor:
        """Deterministic policy gradient through the first critic (TD3's Q1)."""
        set_requires_grad(self._critic_params, False)  # gradients flow through the critic to the actions only
        loss = -q_values(self.critic, obs, self.policy.actions(obs))[0].mean()
        set_requires_grad(self._critic_params, True)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.actor_optimizer.step()
        self.actor_updates += 1
        return loss.detach()

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {
            "actor": self.policy.state_dict(),
            "target_actor": self.target_actor.state_dict(),
            "critic": self.critic.state_dict(),
            "target_critic": self.target_critic.state_dict(),
            "optimizers": {"actor": optimizer_state(self.actor_optimizer), "critic": optimizer_state(self.critic_optimizer)},
            "buffer": self.unit_actions.buffer_state(self.buffer),  # actions in [-1, 1], with the map back
            "counters": {"critic_updates": self.critic_updates, "actor_updates": self.actor_updates},
            "last_actor_loss": {} if self._actor_loss is None else {"actor": self._actor_loss.clone()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["actor"])
        self.target_actor.load_state_dict(state["target_actor"])
        self.critic.load_state_dict(state["critic"])
        self.target_critic.load_state_dict(state["target_critic"])
        load_optimizer_state(self.actor_optimizer, state["optimizers"]["actor"])
        load_optimizer_state(self.critic_optimizer, state["optimizers"]["critic"])
        self.buffer.load_state_dict(state["buffer"])
        self.critic_updates = int(state["counters"]["critic_updates"])
        self.actor_updates = int(state["counters"]["actor_updates"])
        last = state["last_actor_loss"]
        self._actor_loss = torch.as_tensor(last["actor"]) if "actor" in last else None
        self._compiled_steps = None  # the optimisers' state tensors were replaced
