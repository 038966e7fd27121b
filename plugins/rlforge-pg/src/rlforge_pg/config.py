"""The settings of `pg`, `a2c` and `ppo`.

PGConfig defaults are the CS285 (fall 2023) hw2 script's: 2x64 tanh MLP, Adam 5e-3, batch
1000 env steps, discount 1.0, no reward-to-go, no baseline (5e-3, 5 steps when on), no
advantage normalisation, no GAE. The homework's option names are accepted too (aliases).

A2CConfig defaults are Stable-Baselines3's A2C (RMSprop 7e-4, 5 steps per env, value
coefficient 0.5, gradient norm 0.5, no entropy bonus, n-step returns). PPOConfig defaults
are CleanRL's ppo.py (discrete actions, as for CartPole): 128 steps per env, 4 minibatches,
4 epochs, Adam 2.5e-4 annealed to 0, gamma 0.99, GAE 0.95, clip 0.2 (policy and value),
entropy 0.01, value 0.5, gradient norm 0.5, per-minibatch advantage normalisation.

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlforge.config import option

ACTIVATION_HELP = "hidden activation (tanh, relu, elu, gelu, leaky_relu)"


def _check_widths(name: str, widths) -> None:
    if widths is not None and any(int(w) < 1 for w in widths):
        raise ValueError(f"{name} widths must be positive, got {widths}")


def _check_positive(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")


def _check_unit(config, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")


# The homework's spellings (cs285/scripts/run_hw2.py long option names) and the key each sets.
PG_ALIASES = {
    "use_reward_to_go": "reward_to_go",
    "baseline_learning_rate": "baseline_lr",
    "discount": "gamma",
    "learning_rate": "lr",
}


@dataclass
class PGConfig:
    """REINFORCE with the CS285 hw2 options. Homework flag -> key: -b batch_size, -rtg
    reward_to_go, --use_baseline use_baseline, -blr baseline_lr, -bgs baseline_gradient_steps,
    -na normalize_advantages, --gae_lambda gae_lambda, --discount gamma, -lr lr, -l/-s hidden,
    -n total_steps = n * batch_size, --ep_len max_episode_steps, --seed seed."""

    # networks
    hidden: list[int] = option([64, 64], "hidden layer widths of the policy MLP (homework -l layers of -s units)")
    activation: str = option("tanh", ACTIVATION_HELP)
    log_std_init: float = option(0.0, "initial log standard deviation of the Gaussian policy (Box actions)")

    # the policy gradient
    batch_size: int = option(1000, "env steps per iteration, all envs together (homework -b); a multiple of num_envs")
    lr: float = option(5.0e-3, "Adam learning rate of the policy (homework -lr); one gradient step per iteration")
    gamma: float = option(1.0, "discount factor (homework --discount)")
    reward_to_go: bool = option(False, "weight each action by the return that follows it, not the whole episode's (homework -rtg)")
    normalize_advantages: bool = option(False, "standardise the advantages of each batch (homework -na)")
    max_grad_norm: float | None = option(None, "clip the policy gradient's global norm (null: no clipping)")

    # baseline
    use_baseline: bool = option(False, "learn a state-value baseline V(s) and subtract it (homework --use_baseline)")
    baseline_lr: float = option(5.0e-3, "Adam learning rate of the baseline (homework -blr)")
    baseline_gradient_steps: int = option(5, "full-batch baseline gradient steps per iteration (homework -bgs)")
    baseline_hidden: list[int] | None = option(None, "hidden widths of the baseline MLP (null: same as hidden)")
    gae_lambda: float | None = option(None, "GAE lambda (null: no GAE; needs use_baseline) (homework --gae_lambda)")

    # the homework's spellings; when given they set the key named in their help
    use_reward_to_go: bool | None = option(None, "homework spelling of reward_to_go (wins over it when given)")
    baseline_learning_rate: float | None = option(None, "homework spelling of baseline_lr (wins over it when given)")
    discount: float | None = option(None, "homework spelling of gamma (wins over it when given)")
    learning_rate: float | None = option(None, "homework spelling of lr (wins over it when given)")
    n_layers: int | None = option(None, "homework -l: number of hidden layers (sets hidden with layer_size)")
    layer_size: int | None = option(None, "homework -s: width of each hidden layer (sets hidden with n_layers)")

    def __post_init__(self):
        for alias, key in PG_ALIASES.items():
            value = getattr(self, alias)
            if value is not None:
                setattr(self, key, value)
                setattr(self, alias, None)
        if self.n_layers is not None or self.layer_size is not None:
            depth = len(self.hidden) if self.n_layers is None else self.n_layers
            width = (self.hidden[0] if self.hidden else 64) if self.layer_size is None else self.layer_size
            if depth < 0 or width < 1:
                raise ValueError(f"n_layers must not be negative and layer_size must be positive, got "
                                 f"{self.n_layers} and {self.layer_size}")
            self.hidden = [int(width)] * int(depth)
            self.n_layers = self.layer_size = None
        _check_widths("hidden", self.hidden)
        _check_widths("baseline_hidden", self.baseline_hidden)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.baseline_gradient_steps < 0:
            raise ValueError(f"baseline_gradient_steps must not be negative, got {self.baseline_gradient_steps}")
        _check_positive(self, "lr", "baseline_lr", "max_grad_norm")
        _check_unit(self, "gamma", "gae_lambda")
        if self.gae_lambda is not None and not self.use_baseline:
            raise ValueError("gae_lambda needs a value function: set use_baseline: true (or gae_lambda: null)")


@dataclass
class A2CConfig:
    """Synchronous advantage actor-critic (Mnih et al. 2016, as in Stable-Baselines3's A2C)."""

    # networks
    hidden: list[int] = option([64, 64], "hidden layer widths of the policy MLP")
    critic_hidden: list[int] | None = option(None, "hidden layer widths of the critic MLP (null: same as hidden)")
    activation: str = option("tanh", ACTIVATION_HELP)
    log_std_init: float = option(0.0, "initial log standard deviation of the Gaussian policy (Box actions)")
    ortho_init: bool = option(True, "orthogonal initialisation (gain sqrt 2; policy head 0.01, value head 1)")

    # rollout and advantages
    n_steps: int = option(5, "env steps per env per iteration (the n of the n-step returns)")
    gamma: float = option(0.99, "discount factor")
    gae_lambda: float | None = option(None, "GAE lambda (null: n-step returns bootstrapped at the rollout's end, i.e. lambda 1)")
    normalize_advantages: bool = option(False, "standardise the advantages of each rollout")
    normalize_obs: bool = option(False, "normalise observations by a running mean/std (saved with the policy)")
    obs_clip: float = option(10.0, "clip normalised observations to [-obs_clip, obs_clip]")

    # optimisation
    lr: float = option(7.0e-4, "learning rate (of the actor, or of both with one optimiser)")
    critic_lr: float | None = option(None, "critic learning rate with separate_optimizers (null: lr)")
    optimizer: Literal["rmsprop", "adam"] = option("rmsprop", "rmsprop (alpha 0.99, eps 1e-5, as SB3) or adam (eps 1e-5)")
    separate_optimizers: bool = option(False, "one optimiser each for actor and critic, instead of one on the summed loss")
    anneal_lr: bool = option(False, "decay the learning rate linearly to 0 over total_steps")
    ent_coef: float = option(0.0, "entropy bonus coefficient")
    vf_coef: float = option(0.5, "weight of the value loss in the shared loss")
    max_grad_norm: float | None = option(0.5, "clip the gradient's global norm (null: no clipping)")

    def __post_init__(self):
        _check_widths("hidden", self.hidden)
        _check_widths("critic_hidden", self.critic_hidden)
        if self.n_steps < 1:
            raise ValueError(f"n_steps must be at least 1, got {self.n_steps}")
        _check_positive(self, "lr", "critic_lr", "max_grad_norm", "obs_clip")
        _check_unit(self, "gamma", "gae_lambda")
        for name in ("ent_coef", "vf_coef"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


@dataclass
class PPOConfig:
    """PPO with the clipped objective (Schulman et al. 2017), as in CleanRL's ppo.py."""

    # networks
    hidden: list[int] = option([64, 64], "hidden layer widths of the policy MLP")
    critic_hidden: list[int] | None = option(None, "hidden layer widths of the critic MLP (null: same as hidden)")
    activation: str = option("tanh", ACTIVATION_HELP)
    log_std_init: float = option(0.0, "initial log standard deviation of the Gaussian policy (Box actions)")
    ortho_init: bool = option(True, "orthogonal initialisation (gain sqrt 2; policy head 0.01, value head 1)")

    # rollout and advantages
    n_steps: int = option(128, "env steps per env per iteration (the rollout is n_steps * num_envs)")
    gamma: float = option(0.99, "discount factor")
    gae_lambda: float = option(0.95, "GAE lambda")
    normalize_advantages: bool = option(True, "standardise the advantages of each minibatch")
    normalize_obs: bool = option(False, "normalise observations by a running mean/std (saved with the policy)")
    obs_clip: float = option(10.0, "clip normalised observations to [-obs_clip, obs_clip]")
    normalize_reward: bool = option(False, "scale rewards by a running std of the discounted return (saved in checkpoints)")
    reward_clip: float = option(10.0, "clip scaled rewards to [-reward_clip, reward_clip]")

    # optimisation
    lr: float = option(2.5e-4, "Adam learning rate (eps 1e-5)")
    anneal_lr: bool = option(True, "decay the learning rate linearly to 0 over total_steps")
    update_epochs: int = option(4, "passes over each rollout")
    num_minibatches: int = option(4, "minibatches per pass (minibatch size = n_steps * num_envs / num_minibatches)")
    clip_coef: float = option(0.2, "clipping range of the probability ratio")
    clip_value_loss: bool = option(True, "clip the value update to clip_coef around the old values")
    ent_coef: float = option(0.01, "entropy bonus coefficient")
    vf_coef: float = option(0.5, "weight of the value loss")
    max_grad_norm: float | None = option(0.5, "clip the gradient's global norm (null: no clipping)")
    target_kl: float | None = option(None, "stop the epochs of an update once the approximate KL exceeds this (null: never)")

    def __post_init__(self):
        _check_widths("hidden", self.hidden)
        _check_widths("critic_hidden", self.critic_hidden)
        for name in ("n_steps", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        _check_positive(self, "lr", "clip_coef", "max_grad_norm", "target_kl", "obs_clip", "reward_clip")
        _check_unit(self, "gamma", "gae_lambda")
        for name in ("ent_coef", "vf_coef"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
