"""The `wandb` tracker: rlforge.tracking.TrackerPlugin's lifecycle hooks over the W&B backend."""

from rlforge.tracking import TrackerPlugin

tracker = TrackerPlugin("wandb", "Weights & Biases (WANDB_PROJECT, WANDB_MODE=offline for local files)",
                        "rlforge_wandb.backend:WandbBackend")
