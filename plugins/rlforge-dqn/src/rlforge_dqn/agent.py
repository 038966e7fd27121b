"""Deep Q-Network (Mnih et al. 2015) with the CS285 hw3 options: double Q-learning (van
Hasselt et al. 2016), hard or soft target updates, epsilon-greedy exploration on a linear
schedule, Huber or MSE loss, gradient clipping, a learning-rate schedule; and dueling heads
(Wang et al. 2016) and n-step returns as options.

Read top to bottom: the math (TD target, schedules), the Q-networks (MLP, Nature CNN), the
epsilon-greedy policy, then the agent (replay, gradient steps, target network, resume).

Exploration draws from NumPy's global generator, which the engine seeds and checkpoints
(with torch's and Python's), so a resumed run explores exactly as an uninterrupted one;
greedy actions (evaluation, videos) draw nothing.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.mlp_passes import MLPGradient, NumpyMLP, PlainMLP, mlp_forward, plain_mlp
from rlforge.nn import activation as activation_class
from rlforge.nn import clip_grad_norm, load_optimizer_state, make_adam, mlp, optimizer_state, resolve_device

from rlforge_dqn.frame_buffer import FrameReplayBuffer

# ----------------------------------------------------------------------------- math


def td_target(returns: torch.Tensor, discounts: torch.Tensor, next_q_target: torch.Tensor,
              next_q_online: torch.Tensor | None = None) -> torch.Tensor:
    """The (n-step) TD target  R + discount * Q_target(s', a*).

    `discounts` is gamma^k where the target bootstraps after k rewards (gamma for a one-step
    transition, also one cut by a time limit: s' is its true final observation) and 0 after a
    terminal transition. a* = argmax_a Q_target(s', a), or with double Q-learning (pass
    `next_q_online`) a* = argmax_a Q_online(s', a), valued by the target network.
    """
    if next_q_online is None:
        next_value = next_q_target.amax(-1)
    else:
        best = next_q_online.argmax(-1, keepdim=True)
        next_value = next_q_target.gather(-1, best).squeeze(-1)
    return returns + discounts * next_value


def linear_schedule(start: float, end: float, fraction: float, progress: Progress) -> float:
    """`start` moving linearly to `end` over the first `fraction` of the run's steps, then `end`."""
    done = min(1.0, progress.step / max(1.0, fraction * progress.total_steps))
    return start + (end - start) * done


# ----------------------------------------------------------------------------- networks


class QNetwork(nn.Module):
    """Q-values of every action: an MLP over flattened observations, or the Nature DQN CNN over
    stacked frames [stack, 84, 84] (uint8 frames are scaled to [0, 1] inside). With `dueling`,
    Q = V + A - mean(A) from two heads over a shared torso."""

    def __init__(self, obs_shape: tuple, num_actions: int, kind: str = "mlp", hidden=(64, 64),
                 activation: str = "relu", dueling: bool = False, scale: float = 1.0):
        super().__init__()
        self.kind, self.dueling, self.scale = kind, dueling, float(scale)
        if kind == "cnn":
            channels = obs_shape[0]
            self.torso = nn.Sequential(
                nn.Conv2d(channels, 32, 8, stride=4), nn.ReLU(),
                nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
                nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
                nn.Flatten())
            with torch.no_grad():
                features = self.torso(torch.zeros(1, *obs_shape)).shape[-1]
            head_hidden = [512]
        else:
            in_dim = int(np.prod(obs_shape))
            hidden = list(hidden)
            if dueling:  # hidden layers shared; linear heads
                layers, width = [nn.Flatten()], in_dim
                for size in hidden:
                    layers += [nn.Linear(width, size), activation_class(activation)()]
                    width = size
                self.torso, features, head_hidden = nn.Sequential(*layers), width, []
            else:
                self.torso, features, head_hidden = nn.Flatten(), in_dim, hidden
        act = "relu" if kind == "cnn" else activation
        if dueling:
            self.value = mlp(features, head_hidden, 1, act)
            self.advantage = mlp(features, head_hidden, num_actions, act)
        else:
            self.head = mlp(features, head_hidden, num_actions, act)

    def head_device(self) -> torch.device:
        """The device of the parameters (looked up once per step when acting)."""
        return self.value[0].weight.device if self.dueling else self.head[0].weight.device

    def plain_head(self) -> PlainMLP | None:
        """The MLP as a PlainMLP for hand-written passes (one relu/tanh MLP over float
        observations, on the CPU), else None."""
        if self.kind != "mlp" or self.dueling or self.scale != 1.0:
            return None
        return plain_mlp(self.head)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float()
        if self.scale != 1.0:
            x = x * self.scale
        features = self.torso(x)
        if not self.dueling:
            return self.head(features)
        advantage = self.advantage(features)
        return self.value(features) + advantage - advantage.mean(-1, keepdim=True)


# ----------------------------------------------------------------------------- policy


class EpsilonGreedyPolicy(Policy):
    """Greedy in the Q-network, or with probability `epsilon` a uniformly random action.
    `numpy_q` (the same network's NumPy pass) answers greedy queries where given."""

    def __init__(self, q_network: QNetwork, num_actions: int, epsilon: float = 1.0,
                 numpy_q: NumpyMLP | None = None):
        super().__init__()
        self.q = q_network
        self.num_actions = int(num_actions)
        self.epsilon = float(epsilon)
        self.numpy_q = numpy_q

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        if self.numpy_q is not None:
            return self.numpy_q(obs.reshape(len(obs), -1)).argmax(-1)
        with torch.inference_mode():
            device = self.q.head_device()
            return self.q(torch.as_tensor(obs, device=device)).argmax(-1).numpy(force=True)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        if deterministic:
            return self.greedy(obs)
        n = len(obs)
        explore = np.random.random_sample(n) < self.epsilon
        random_actions = np.random.randint(0, self.num_actions, size=n)
        if explore.all():  # no need for the network (most steps early on)
            return random_actions
        return np.where(explore, random_actions, self.greedy(obs))

    def export_module(self) -> nn.Module:
        """The greedy action (`rlforge export`); the Q-network flattens or scales frames itself."""
        from rlforge.export.blocks import greedy

        return greedy(self.q, flatten=False)


# ----------------------------------------------------------------------------- agent


class DQNAgent(Agent):
    """DQN over a replay buffer that stores each observation (each frame) once."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu"):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"DQN needs a discrete action space, got {action_space}")
        if not isinstance(observation_space, spaces.Box):
            raise ValueError(f"DQN needs a Box observation space, got {observation_space}")
        obs_shape = tuple(observation_space.shape)
        kind = cfg.network if cfg.network != "auto" else ("cnn" if len(obs_shape) == 3 else "mlp")
        if kind == "cnn" and len(obs_shape) != 3:
            raise ValueError(f"network 'cnn' needs stacked frames [stack, height, width], got observations of shape {obs_shape}")
        self.kind = kind
        images = observation_space.dtype == np.uint8
        self.clip_rewards = cfg.clip_rewards if cfg.clip_rewards is not None else kind == "cnn"
        self.steps_per_iteration = 1
        self.random_steps = 0
        # The step-info entries wanted in Transitions.info (the Atari preprocessing reports
        # `life_lost`; other envs do not, and it then reads as False).
        self.info_keys = ("life_lost",) if cfg.episodic_life else ()

        self.num_actions = int(action_space.n)
        self.q = QNetwork(obs_shape, self.num_actions, kind, cfg.hidden, cfg.activation, cfg.dueling,
                          scale=1.0 / 255.0 if images else 1.0).to(self.device)
        self.target_q = copy.deepcopy(self.q).requires_grad_(False)
        self._params = list(self.q.parameters())
        self._target_params = list(self.target_q.parameters())
        # Small MLPs on the CPU: torch's per-operation overhead outweighs their math, so they
        # act in NumPy and learn through hand-written passes (rlforge.mlp_passes).
        head = self.q.plain_head() if cfg.hand_written_passes else None
        self._online = MLPGradient(head) if head else None
        self._target_head = self.target_q.plain_head() if head else None
        self.policy = EpsilonGreedyPolicy(self.q, self.num_actions, cfg.epsilon_start, NumpyMLP(head) if head else None)
        self.optimizer = make_adam(self._params, cfg.lr, eps=cfg.adam_eps)

        # The engine seeds torch/numpy/random before building the agent; derive the buffer's
        # sampling seed from torch's seed without drawing from any global stream.
        seed = int(np.random.default_rng(torch.initial_seed()).integers(2**31))
        stack = obs_shape[0] if kind == "cnn" else 1
        obs_dtype = np.uint8 if images else np.float32
        self.buffer = FrameReplayBuffer(cfg.buffer_size, obs_shape, obs_dtype, num_envs, stack, cfg.gamma,
                                        cfg.n_step, seed=seed, device=self.device)
        self.gradient_steps = 0
        self.target_block = 0  # hard copies: the index of the current target_period of env steps
        self.last_step = 0  # env steps seen at the previous update
        self.since_phase = 0  # env steps since the previous training phase
        self.credit = 0.0  # gradient steps owed (updates_per_step per env step)
        self._phase_values = None  # the newest training phase's metrics: (summed tensors, steps, lr)

    # ------------------------------------------------------------------ experience

    def observe(self, batch: Transitions) -> None:
        """Store the batch; rewards are clipped to their sign when `clip_rewards`, and a lost
        life is terminal for learning when `episodic_life` and the env reports `life_lost`."""
        rewards = np.sign(batch.rewards).astype(np.float32) if self.clip_rewards else batch.rewards
        terminal = batch.terminated
        if self.config.episodic_life and "life_lost" in batch.info:
            terminal = terminal | batch.info["life_lost"].astype(bool).reshape(terminal.shape)
        self.buffer.add(Transitions(batch.obs, batch.actions, rewards, batch.next_obs, batch.terminated,
                                    batch.truncated), terminal)

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        cfg = self.config
        epsilon = linear_schedule(cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_fraction, progress)
        self.policy.epsilon = epsilon  # for the next actions
        metrics = {"charts/epsilon": epsilon}
        if cfg.target_update == "hard":
            block = progress.step // cfg.target_period
            if block != self.target_block:
                self._copy_target()
                self.target_block = block
        new_steps, self.last_step = progress.step - self.last_step, progress.step
        if progress.step >= cfg.learning_starts and len(self.buffer) > 0:
            self._train_phase(new_steps, progress)
        if progress.metrics_due:
            metrics.update(self._phase_metrics())
        return metrics

    def _phase_metrics(self) -> dict[str, float]:
        """The newest training phase's metrics as floats ({} before the first phase)."""
        if self._phase_values is None:
            return {}
        totals, n, lr = self._phase_values
        names = ["losses/td", "charts/q_mean", "charts/td_error"] + (["charts/grad_norm"] if self.config.max_grad_norm else [])
        return {**dict(zip(names, (torch.stack(totals) / n).tolist())), "charts/lr": lr}

    def _train_phase(self, new_steps: int, progress: Progress) -> None:
        """The gradient steps owed, every train_frequency env steps. Their metrics stay tensors
        (`_phase_values`) until a metric row wants them."""
        cfg = self.config
        self.credit += new_steps * cfg.updates_per_step
        self.since_phase += new_steps
        if self.since_phase < cfg.train_frequency:
            return
        self.since_phase = 0
        n = int(self.credit + 1e-9)
        self.credit -= n
        if n == 0:
            return
        lr = cfg.lr if cfg.lr_schedule == "constant" else linear_schedule(cfg.lr, cfg.lr_end, cfg.lr_fraction, progress)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        totals = None
        for _ in range(n):
            values = self._gradient_step(self.buffer.sample(cfg.batch_size))
            totals = values if totals is None else [a + b for a, b in zip(totals, values)]
        self._phase_values = (totals, n, lr)

    def _gradient_step(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        cfg = self.config
        target = self._td_target(batch)
        chosen = batch["actions"].long().unsqueeze(-1)
        if self._online is None:
            q = self.q(batch["obs"]).gather(-1, chosen).squeeze(-1)
            loss = self._loss(q, target)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            q, loss = q.detach(), loss.detach()
        else:
            q, loss = self._hand_written_backward(batch["obs"], chosen, target)
        values = [loss, q.mean(), (q - target).abs().mean()]
        if cfg.max_grad_norm:
            values.append(clip_grad_norm(self._params, cfg.max_grad_norm))
        self.optimizer.step()
        self.gradient_steps += 1
        if cfg.target_update == "soft":
            with torch.no_grad():
                torch._foreach_lerp_(self._target_params, self._params, cfg.tau)
        return values

    def _td_target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        next_obs = batch["next_obs"]
        with torch.no_grad():
            if self._online is None:
                next_q_target = self.target_q(next_obs)
                next_q_online = self.q(next_obs) if self.config.double_q else None
            else:
                next_obs = next_obs.reshape(len(next_obs), -1)
                next_q_target = mlp_forward(self._target_head, next_obs)
                next_q_online = mlp_forward(self._online.net, next_obs) if self.config.double_q else None
        return td_target(batch["returns"], batch["discounts"], next_q_target, next_q_online)

    def _loss(self, q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(q, target) if self.config.loss == "mse" else F.smooth_l1_loss(q, target, beta=1.0)

    def _hand_written_backward(self, obs: torch.Tensor, chosen: torch.Tensor,
                               target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q(s, a) and the loss, with the loss's gradient in each parameter's .grad: the
        autograd branch's values through the passes of rlforge.mlp_passes."""
        q_all = self._online.forward(obs.reshape(len(obs), -1))
        q = q_all.gather(-1, chosen).squeeze(-1)
        error = q - target
        # d(mean loss)/dq: the Huber loss (delta 1) clips the error at +-1, the squared error doubles it
        grad_q = (error.clamp(-1.0, 1.0) if self.config.loss == "huber" else error * 2.0).div_(len(q))
        self._online.backward(torch.zeros_like(q_all).scatter_(-1, chosen, grad_q.unsqueeze(-1)))
        return q, self._loss(q, target)

    def _copy_target(self) -> None:
        with torch.no_grad():
            torch._foreach_copy_(self._target_params, self._params)

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        return {
            "q": self.q.state_dict(),
            "target_q": self.target_q.state_dict(),
            "optimizer": optimizer_state(self.optimizer),
            "buffer": self.buffer.state_dict(),
            "counters": {"gradient_steps": self.gradient_steps, "target_block": self.target_block,
                         "last_step": self.last_step, "since_phase": self.since_phase, "credit": self.credit},
            "epsilon": self.policy.epsilon,
            "phase_metrics": self._phase_metrics(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.q.load_state_dict(state["q"])
        self.target_q.load_state_dict(state["target_q"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        counters = state["counters"]
        self.gradient_steps, self.target_block = int(counters["gradient_steps"]), int(counters["target_block"])
        self.last_step, self.since_phase = int(counters["last_step"]), int(counters["since_phase"])
        self.credit = float(counters["credit"])
        self.policy.epsilon = float(state["epsilon"])
        saved = dict(state.get("phase_metrics") or {})  # absent from checkpoints of earlier versions
        lr = saved.pop("charts/lr", None)
        self._phase_values = ([torch.tensor(v) for v in saved.values()], 1, lr) if saved else None


# ----------------------------------------------------------------------------- helpers
