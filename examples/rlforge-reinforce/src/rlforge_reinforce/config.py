"""The settings of `reinforce`: a dataclass, each key with a default and a help text (shown by
`rlforge config reinforce`). No torch here: `rlforge config` imports this module."""

from dataclasses import dataclass

from rlforge.config import option


@dataclass
class ReinforceConfig:
    hidden: list[int] = option([32], "hidden layer widths of the policy MLP")
    activation: str = option("tanh", "hidden activation (relu, tanh, elu, gelu, leaky_relu)")
    lr: float = option(0.01, "Adam learning rate")
    gamma: float = option(0.99, "discount of the reward-to-go")
    batch_steps: int = option(200, "transitions of finished episodes per gradient step")
    rollout_steps: int = option(25, "env steps (per env) collected between calls to update")
    normalize: bool = option(True, "standardise the reward-to-go over each batch (a simple baseline)")

    def __post_init__(self):
        if self.batch_steps < 2 or self.rollout_steps < 1:
            raise ValueError("batch_steps must be at least 2 and rollout_steps at least 1")
        if not self.lr > 0 or not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"need lr > 0 and 0 <= gamma <= 1, got lr={self.lr}, gamma={self.gamma}")
