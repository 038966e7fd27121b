"""TD3's and DDPG's settings.

TD3's defaults are those of the authors' updated code (sfujim/TD3: TD3.py and main.py, the
settings of the README's re-run results; Fujimoto et al. 2018, "Addressing Function
Approximation Error in Actor-Critic Methods", arXiv:1802.09477): 2 hidden layers of 256 ReLU
units for actor and critics, Adam 3e-4, batch 256, discount 0.99, soft target updates with
tau 0.005, target policy noise 0.2 clipped to 0.5, exploration noise 0.1, the actor and the
targets updated every 2nd critic step, 25,000 uniformly random steps before learning (the
paper itself: 400-300 networks, Adam 1e-3, batch 100, 10,000 random steps). Noise scales are
fractions of half the action range: the agent works in [-1, 1], as main.py scales them.

DDPG's are the same agent with one critic, no target policy smoothing and no delay: the
authors' re-tuned "OurDDPG" (OurDDPG.py: the same 256-256 networks, Adam 3e-4, batch 256,
tau 0.005).

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlforge.config import option
from rlforge.config_checks import at_least, positive, positive_widths, within


@dataclass
class TD3Config:
    # networks
    actor_hidden: list[int] = option([256, 256], "hidden layer widths of the actor MLP")
    critic_hidden: list[int] = option([256, 256], "hidden layer widths of each critic MLP")
    activation: str = option("relu", "hidden activation of actor and critics (relu, tanh, elu, gelu, leaky_relu)")
    num_critics: int = option(2, "critics trained side by side (one batched ensemble); the target takes their minimum")

    # optimisation
    actor_lr: float = option(3.0e-4, "Adam learning rate of the actor")
    critic_lr: float = option(3.0e-4, "Adam learning rate of the critics")
    batch_size: int = option(256, "transitions per gradient step")
    updates_per_step: int = option(1, "critic gradient steps per environment step")
    policy_delay: int = option(2, "critic steps per actor step and target update")

    # noise (fractions of half the action range)
    exploration_noise: float = option(0.1, "standard deviation of the Gaussian noise added to the actor's actions when collecting")
    policy_noise: float = option(0.2, "standard deviation of the target policy smoothing noise (0: none)")
    noise_clip: float = option(0.5, "the target policy smoothing noise is clipped to [-noise_clip, noise_clip]")

    # data
    gamma: float = option(0.99, "discount factor")
    buffer_size: int = option(1_000_000, "replay buffer capacity (transitions)")
    random_steps: int = option(25_000, "environment steps (all envs) taken with uniform random actions first")
    learning_starts: int = option(25_000, "environment steps (all envs) before the first gradient step")

    # target networks
    tau: float = option(0.005, "Polyak rate of the target actor and critics, at each delayed update")

    # speed
    compile_update: bool = option(False, "torch.compile the update steps (critic step; critic, actor and targets), "
                                         "each optimiser step included, as one graph each; eager where compiling "
                                         "fails. Off by default: 20-60 s to compile at the start (docs/performance.md)")

    def __post_init__(self):
        positive_widths(self, "actor_hidden", "critic_hidden")
        at_least(self, 1, "batch_size", "buffer_size", "updates_per_step", "num_critics", "policy_delay")
        at_least(self, 0, "random_steps", "learning_starts", "exploration_noise", "policy_noise", "noise_clip")
        positive(self, "actor_lr", "critic_lr")
        within(self, "gamma", 0.0, 1.0)
        within(self, "tau", 0.0, 1.0, low_open=True)


@dataclass
class DDPGConfig(TD3Config):
    """TD3's settings with TD3's three additions switched off."""

    num_critics: int = option(1, "critics trained side by side (one batched ensemble); the target takes their minimum")
    policy_delay: int = option(1, "critic steps per actor step and target update")
    policy_noise: float = option(0.0, "standard deviation of the target policy smoothing noise (0: none)")
