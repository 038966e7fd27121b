"""Small checks for algorithm config dataclasses' __post_init__, each raising a ValueError that
names the key. No torch or gymnasium here: config modules import this."""

from __future__ import annotations


def at_least(config, minimum: int, *names: str) -> None:
    for name in names:
        if getattr(config, name) < minimum:
            rule = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
            raise ValueError(f"{name} {rule}, got {getattr(config, name)}")


def positive(config, *names: str) -> None:
    for name in names:
        if not getattr(config, name) > 0:
            raise ValueError(f"{name} must be positive, got {getattr(config, name)}")


def within(config, name: str, low: float, high: float, low_open: bool = False) -> None:
    """low <= value <= high (low < value where `low_open`)."""
    value = getattr(config, name)
    if not (low < value if low_open else low <= value) or not value <= high:
        raise ValueError(f"{name} must be in {'(' if low_open else '['}{low}, {high}], got {value}")


def positive_widths(config, *names: str) -> None:
    for name in names:
        widths = getattr(config, name)
        if any(int(w) < 1 for w in widths):
            raise ValueError(f"{name} widths must be positive, got {widths}")


def squashed_gaussian_entropy(config) -> None:
    """The settings of a tanh-Gaussian actor with an entropy temperature (SAC, CrossQ):
    log_std_min < log_std_max, a temperature >= 0, and > 0 where it is tuned (in log space)."""
    if config.log_std_min >= config.log_std_max:
        raise ValueError(f"log_std_min ({config.log_std_min}) must be below log_std_max ({config.log_std_max})")
    if config.temperature < 0:
        raise ValueError(f"temperature must not be negative, got {config.temperature}")
    if config.auto_temperature and config.temperature <= 0:
        raise ValueError("auto_temperature tunes log(temperature), so the initial temperature must be "
                         f"positive, got {config.temperature}")
