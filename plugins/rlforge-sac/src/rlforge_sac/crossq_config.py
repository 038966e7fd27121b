"""CrossQ's settings. Defaults are the paper's (Bhatt et al., "CrossQ: Batch Normalization in
Deep Reinforcement Learning for Greater Sample Efficiency and Simplicity", ICLR 2024) as its
code runs them (adityab/CrossQ train.py, `-algo crossq`; araffin/sbx's CrossQ): Adam with
beta1 0.5 and learning rate 1e-3 for actor and critics, the actor updated every 3rd critic
step, two critics of 2 hidden layers of 2048 ReLU units, an actor of 256-256, batch
renormalisation (momentum 0.99, 100,000 warm-up steps, r_max 3, d_max 5) in critics and actor,
no target networks, one gradient step per env step, batch 256, 5,000 random steps first, the
temperature tuned towards -dim(A) (its own Adam, default betas, as SBX's).

One exception: the critics' width (`critic_hidden`) defaults to 256, not the paper's 2048 (set
`critic_hidden: [2048, 2048]` for the paper's). On this project's 2-core machine (shared, one
torch thread) an update on HalfCheetah-v4 took a median 24 ms at 256, 78 ms at 512, 219 ms at
1024 and 759 ms at 2048 (benchmarks/crossq_update_time.py, docs/benchmarks.md): 100,000 updates
alone take 0.7, 2.2, 6.1 and 21 hours. 256 is the widest of these that trains 100k steps within
about an hour there. (SB3-contrib's CrossQ also narrows it, to 1024, for speed.)

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlforge.config import option
from rlforge.config_checks import at_least, positive, positive_widths, squashed_gaussian_entropy, within


@dataclass
class CrossQConfig:
    # networks
    actor_hidden: list[int] = option([256, 256], "hidden layer widths of the actor MLP")
    critic_hidden: list[int] = option([256, 256], "hidden layer widths of each critic MLP (the paper: [2048, 2048]; 256 "
                                                  "keeps 100k steps within an hour on a 2-core CPU)")
    activation: str = option("relu", "hidden activation of actor and critics (relu, tanh, elu, gelu, leaky_relu)")
    log_std_min: float = option(-20.0, "lower clamp of the actor's log standard deviation")
    log_std_max: float = option(2.0, "upper clamp of the actor's log standard deviation")
    num_critics: int = option(2, "critics trained side by side (one batched ensemble); the target takes their minimum")

    # batch renormalisation (rlforge.batch_renorm)
    actor_batch_renorm: bool = option(True, "batch renormalisation in the actor too (the paper's default)")
    bn_momentum: float = option(0.99, "decay of the running statistics per training forward (running = m * running + (1 - m) * batch)")
    bn_eps: float = option(1.0e-3, "added to variances before the square root")
    bn_warmup_steps: int = option(100_000, "training forwards of plain batch normalisation before r and d are used")
    bn_r_max: float = option(3.0, "clip of the renormalisation scale r to [1/r_max, r_max]")
    bn_d_max: float = option(5.0, "clip of the renormalisation shift d to [-d_max, d_max]")

    # optimisation
    actor_lr: float = option(1.0e-3, "Adam learning rate of the actor")
    critic_lr: float = option(1.0e-3, "Adam learning rate of the critics")
    temperature_lr: float = option(1.0e-3, "Adam learning rate of the log-temperature (when auto_temperature)")
    adam_beta1: float = option(0.5, "Adam's beta1 for actor and critics (the paper: 0.5)")
    batch_size: int = option(256, "transitions per gradient step (the critic's joint forward sees twice as many rows)")
    updates_per_step: int = option(1, "critic gradient steps per environment step")
    policy_delay: int = option(3, "critic steps per actor (and temperature) step")

    # data
    gamma: float = option(0.99, "discount factor")
    buffer_size: int = option(1_000_000, "replay buffer capacity (transitions)")
    random_steps: int = option(5000, "environment steps (all envs) taken with uniform random actions first")
    learning_starts: int = option(5000, "environment steps (all envs) before the first gradient step")

    # entropy
    temperature: float = option(1.0, "entropy temperature alpha: the fixed value, or the initial one when tuned")
    auto_temperature: bool = option(True, "tune the temperature towards target_entropy")
    target_entropy: float | None = option(None, "entropy the tuned temperature aims for (null: -action_dim)")

    def __post_init__(self):
        positive_widths(self, "actor_hidden", "critic_hidden")
        at_least(self, 1, "batch_size", "buffer_size", "updates_per_step", "num_critics", "policy_delay")
        at_least(self, 0, "random_steps", "learning_starts", "bn_warmup_steps")
        positive(self, "actor_lr", "critic_lr", "temperature_lr", "bn_eps")
        within(self, "gamma", 0.0, 1.0)
        for name in ("adam_beta1", "bn_momentum"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        at_least(self, 1, "bn_r_max")
        positive(self, "bn_d_max")
        squashed_gaussian_entropy(self)
