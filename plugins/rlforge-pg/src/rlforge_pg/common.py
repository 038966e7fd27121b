"""What `pg`, `a2c` and `ppo` share: the action distributions and their log-probabilities, the
policy (categorical for Discrete actions, Gaussian with a state-independent log-std for Box
actions), value networks, a running mean/std, the PPO losses, and optimiser state helpers.

Box actions. The Gaussian's samples are clipped into the action space's bounds before they
reach the env (and rlforge's collector stores the clipped actions). The log-probability of a
stored action is therefore that of the *clipped* Gaussian (Fujita & Maeda 2018, "Clipped
Action Policy Gradient"): the Gaussian density inside the bounds, and the Gaussian's tail
mass beyond a bound for an action that sits on it. That is the exact likelihood of what the
env received, so the policy gradient stays unbiased, and it needs nothing but the stored
action. For bounds that are never reached (or infinite) it is the plain Gaussian log-density.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlforge.agent import Policy
from rlforge.mlp_passes import NumpyMLP, plain_mlp
from rlforge.nn import clip_grad_norm, make_adam, mlp

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
HALF_LOG_2PIE = 0.5 * math.log(2.0 * math.pi * math.e)
LARGE = 1e6  # stands in for an infinite bound (keeps every branch of torch.where finite)

# ----------------------------------------------------------------------------- math


def categorical_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log pi(a), entropy) of categorical policies: logits [B, n], actions [B] (0-based ints)."""
    log_p = torch.log_softmax(logits, dim=-1)
    chosen = log_p.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    entropy = -(log_p.exp() * log_p).sum(-1)
    return chosen, entropy


def gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log N(actions; mean, exp(log_std)), summed over the last (action) axis."""
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - LOG_SQRT_2PI).sum(-1)


def clipped_gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor,
                              low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """log-probability of actions of a Gaussian clipped into [low, high] (summed over the
    action axis): the density inside, log P(x >= high) on the upper bound, log P(x <= low) on
    the lower bound. Gradients flow to mean and log_std in every case."""
    log_std = log_std.expand_as(mean)
    std = torch.exp(log_std)
    inside = -0.5 * ((actions - mean) / std).pow(2) - log_std - LOG_SQRT_2PI
    upper = torch.special.log_ndtr((mean - high) / std)  # log P(mean + std * eps >= high)
    lower = torch.special.log_ndtr((low - mean) / std)  # log P(mean + std * eps <= low)
    per_dim = torch.where(actions >= high, upper, torch.where(actions <= low, lower, inside))
    return per_dim.sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian (of the unclipped policy), summed over the action axis."""
    return (log_std + HALF_LOG_2PIE).sum(-1)


def clipped_surrogate_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor,
                           clip: float) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped objective as a loss: mean(max(-A r, -A clip(r, 1 - c, 1 + c))) with
    r = exp(log_prob - old_log_prob). Returns (loss, fraction of rows where the clip is active)."""
    ratio = torch.exp(log_prob - old_log_prob)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    loss = torch.max(unclipped, clipped).mean()
    with torch.no_grad():
        clip_fraction = ((ratio - 1.0).abs() > clip).float().mean()
    return loss, clip_fraction


def value_loss(values: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor | None = None,
               clip: float | None = None) -> torch.Tensor:
    """0.5 * mean((V - R)^2); with `clip`, the larger of that and the error of the old value
    moved at most `clip` towards the new one (PPO's value clipping, as in CleanRL)."""
    unclipped = (values - returns).pow(2)
    if clip is None or old_values is None:
        return 0.5 * unclipped.mean()
    moved = old_values + torch.clamp(values - old_values, -clip, clip)
    return 0.5 * torch.max(unclipped, (moved - returns).pow(2)).mean()


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """1 - Var(target - predicted) / Var(target) (nan when the target is constant)."""
    var = target.var(unbiased=False)
    return float("nan") if var == 0 else float(1.0 - (target - predicted).var(unbiased=False) / var)


def normalized(x: torch.Tensor, unbiased: bool = False, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean) / (std + eps): the population std by default (as the CS285 code, NumPy's
    np.std), the sample std with `unbiased` (as CleanRL's PPO, torch's Tensor.std)."""
    return (x - x.mean()) / (x.std(unbiased=unbiased) + eps)


# ----------------------------------------------------------------------------- running statistics


class RunningMeanStd(nn.Module):
    """Running mean and variance (the parallel update of Chan et al., as in SB3/Gymnasium),
    kept as float64 buffers so that they travel in the module's state_dict."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(epsilon, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: np.ndarray | torch.Tensor) -> None:
        x = torch.as_tensor(np.asarray(x), dtype=torch.float64, device=self.mean.device).reshape(-1, *self.mean.shape)
        batch_mean, batch_var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * self.count * n / total
        self.mean += delta * n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def normalize(self, x: torch.Tensor, clip: float, eps: float = 1e-8) -> torch.Tensor:
        scaled = (x - self.mean.to(x.dtype)) / torch.sqrt(self.var.to(x.dtype) + eps)
        return scaled.clamp(-clip, clip)


# ----------------------------------------------------------------------------- networks


def orthogonal_init(net: nn.Sequential, head_gain: float) -> nn.Sequential:
    """Orthogonal weights (gain sqrt 2 for hidden layers, `head_gain` for the last) and zero
    biases, as in CleanRL and SB3."""
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, gain=head_gain if i == len(linears) - 1 else math.sqrt(2.0))
        nn.init.zeros_(layer.bias)
    return net


def value_net(obs_dim: int, hidden: list[int], activation: str, ortho: bool = False) -> nn.Sequential:
    net = mlp(obs_dim, list(hidden), 1, activation)
    return orthogonal_init(net, 1.0) if ortho else net


class PGPolicy(Policy):
    """An MLP policy over flat observations: categorical logits for a Discrete action space,
    the mean of a Gaussian with a learned state-independent log-std for a Box action space.

    With `normalize_obs` it holds a RunningMeanStd of the observations and `act` (and
    `features`) normalise with it; its statistics are buffers, saved in the state_dict.
    """

    def __init__(self, observation_space, action_space, hidden: list[int], activation: str = "tanh",
                 log_std_init: float = 0.0, normalize_obs: bool = False, obs_clip: float = 10.0,
                 ortho_init: bool = False):
        super().__init__()
        check_spaces(observation_space, action_space)
        self.obs_dim = int(np.prod(observation_space.shape))
        self.discrete = isinstance(action_space, spaces.Discrete)
        if self.discrete:
            out_dim = int(action_space.n)
            self.action_start = int(action_space.start)
            self.action_shape: tuple[int, ...] = ()
        else:
            self.action_shape = tuple(action_space.shape)
            out_dim = int(np.prod(self.action_shape))
            self.log_std = nn.Parameter(torch.full((out_dim,), float(log_std_init)))
            low = np.asarray(action_space.low, dtype=np.float32).reshape(-1)
            high = np.asarray(action_space.high, dtype=np.float32).reshape(-1)
            self.register_buffer("action_low", torch.as_tensor(low), persistent=False)
            self.register_buffer("action_high", torch.as_tensor(high), persistent=False)
            # Bounds as used in the log-probability: infinite ones replaced by a large number.
            self.register_buffer("safe_low", torch.as_tensor(np.where(np.isfinite(low), low, -LARGE)), persistent=False)
            self.register_buffer("safe_high", torch.as_tensor(np.where(np.isfinite(high), high, LARGE)), persistent=False)
            self.action_dtype = action_space.dtype
        self.net = mlp(self.obs_dim, list(hidden), out_dim, activation)
        if ortho_init:
            orthogonal_init(self.net, 0.01)
        self.obs_rms = RunningMeanStd((self.obs_dim,)) if normalize_obs else None
        self.obs_clip = float(obs_clip)
        # Acting on the CPU without observation normalisation runs in NumPy: a few observations
        # per call, where torch's per-operation overhead outweighs the math (rlforge.mlp_passes).
        plain = plain_mlp(self.net)
        self.numpy_net = NumpyMLP(plain) if plain is not None and self.obs_rms is None else None

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def features(self, obs) -> torch.Tensor:
        """Observations (NumPy or tensor, any leading shape) as the float32 [N, obs_dim] input of
        the networks: flattened, and normalised with the current statistics if enabled."""
        x = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs,
                            dtype=torch.float32, device=self.device)
        x = x.reshape(-1, self.obs_dim)
        if self.obs_rms is not None:
            x = self.obs_rms.normalize(x, self.obs_clip)
        return x

    def action_tensor(self, actions) -> torch.Tensor:
        """Stored env actions as the tensor `log_prob` takes: 0-based indices [N] or floats [N, dim]."""
        if self.discrete:
            return torch.as_tensor(np.asarray(actions), device=self.device).reshape(-1).long() - self.action_start
        return torch.as_tensor(np.asarray(actions), dtype=torch.float32, device=self.device).reshape(-1, self.log_std.numel())

    def log_prob(self, features: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log pi(a|s), entropy) for normalised observations [N, obs_dim] and actions from
        `action_tensor`; differentiable."""
        out = self.net(features)
        if self.discrete:
            return categorical_log_prob(out, actions)
        log_prob = clipped_gaussian_log_prob(out, self.log_std, actions, self.safe_low, self.safe_high)
        return log_prob, gaussian_entropy(self.log_std).expand(out.shape[0])

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        if self.numpy_net is not None and self.net[0].weight.is_cpu:
            return self._act_in_numpy(np.asarray(obs), deterministic)
        with torch.inference_mode():
            n = len(obs)
            out = self.net(self.features(obs))
            if self.discrete:
                if deterministic:
                    index = out.argmax(-1)
                else:
                    index = torch.multinomial(torch.softmax(out, -1), 1).squeeze(-1)
                return (index + self.action_start).cpu().numpy().astype(np.int64)
            if deterministic:
                actions = out
            else:
                actions = out + torch.exp(self.log_std) * torch.randn_like(out)
            actions = torch.clamp(actions, self.action_low, self.action_high)
            return actions.cpu().numpy().astype(self.action_dtype, copy=False).reshape(n, *self.action_shape)

    def export_module(self) -> nn.Module:
        """The deterministic action (`rlforge export`): normalised observations through the net,
        then its argmax or its mean clipped into the bounds."""
        from rlforge.export import blocks

        layers: list[nn.Module] = [nn.Flatten()]
        if self.obs_rms is not None:  # RunningMeanStd.normalize in float32, eps 1e-8
            std = torch.sqrt(self.obs_rms.var.float() + 1e-8)
            layers.append(blocks.Standardize(self.obs_rms.mean.float(), std, self.obs_clip))
        if self.discrete:
            return nn.Sequential(*layers, blocks.greedy(self.net, self.action_start, flatten=False))
        return nn.Sequential(*layers, blocks.frozen(self.net), blocks.Clip(self.action_low, self.action_high),
                             blocks.ActionShape(self.action_shape))

    def _act_in_numpy(self, obs: np.ndarray, deterministic: bool) -> np.ndarray:
        """`act` through the NumPy pass; random draws come from NumPy's global generator (seeded
        and checkpointed by the engine, as torch's is)."""
        n = len(obs)
        out = self.numpy_net(obs.reshape(n, self.obs_dim))
        if self.discrete:
            index = out.argmax(-1) if deterministic else sample_categorical(out)
            return (index + self.action_start).astype(np.int64)
        if not deterministic:
            std = np.exp(self.log_std.detach().numpy())
            out = out + std * np.random.standard_normal(out.shape).astype(np.float32)
        actions = np.clip(out, self.action_low.numpy(), self.action_high.numpy())
        return actions.astype(self.action_dtype, copy=False).reshape(n, *self.action_shape)


def sample_categorical(logits: np.ndarray) -> np.ndarray:
    """One draw per row of softmax(logits) [N, n], by inverting its CDF with a uniform from
    NumPy's global generator."""
    cdf = np.exp(logits - logits.max(-1, keepdims=True)).cumsum(-1)
    u = np.random.random_sample(len(logits)) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(-1), logits.shape[-1] - 1)


def check_spaces(observation_space, action_space) -> None:
    if not isinstance(observation_space, spaces.Box):
        raise ValueError(f"policy-gradient agents need a Box (vector) observation space, got {observation_space}")
    if not isinstance(action_space, (spaces.Box, spaces.Discrete)):
        raise ValueError(f"policy-gradient agents need a Box or Discrete action space, got {action_space}")


# ----------------------------------------------------------------------------- optimisers


def adam(params, lr: float, eps: float = 1e-8) -> torch.optim.Optimizer:
    return make_adam(params, lr, eps=eps)


def clip_grad(params: list[torch.Tensor], max_norm: float | None) -> torch.Tensor | None:
    if max_norm is None:
        return None
    return clip_grad_norm(params, max_norm)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def annealed(lr: float, progress, batch_steps: int) -> float:
    """lr scaled by the fraction of training left at the start of this iteration (CleanRL's
    schedule: the first update uses lr, the last one lr / iterations)."""
    done_before = max(0, progress.step - batch_steps)
    return lr * max(0.0, 1.0 - done_before / max(1, progress.total_steps))


def resolve(device) -> torch.device:
    from rlforge.nn import resolve_device

    return resolve_device(device) if isinstance(device, str) else torch.device(device)
