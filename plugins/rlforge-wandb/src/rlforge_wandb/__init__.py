"""Weights & Biases tracking for rlforge (`--track wandb`). Importing this package does not import
wandb: the backend is named by an import string and loaded only for a run that tracks to W&B."""

__all__: list[str] = []
