"""rlforge-imitation: behaviour cloning, DAgger, experts and expert datasets for rlforge."""

__version__ = "0.1.0"
