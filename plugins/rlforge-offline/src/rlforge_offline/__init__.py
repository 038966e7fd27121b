"""rlforge-offline: exploration with random network distillation, offline RL (CQL, AWAC, IQL)
and offline-to-online fine-tuning, with the CS285 hw5 Pointmass mazes."""

__version__ = "0.1.0"
