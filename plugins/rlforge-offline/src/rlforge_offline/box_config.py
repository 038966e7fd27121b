"""The settings of this plugin's offline actor-critics for continuous (Box) actions: td3bc, and
cql, awac and iql where the env's actions are a Box.

Defaults are the papers' published settings for the D4RL MuJoCo tasks (each class says which),
with CORL's (Tarasov et al. 2022) where the papers leave a choice open:
  TD3+BC  Fujimoto & Gu 2021 (sfujim/TD3_BC): 2x256 ReLU, Adam 3e-4, batch 256, discount 0.99,
          tau 0.005, policy noise 0.2 clipped to 0.5, actor every 2nd step, alpha 2.5,
          observations standardised by the dataset's statistics.
  IQL     Kostrikov et al. 2021 (ikostrikov/implicit_q_learning, configs/mujoco_config.py):
          2x256 ReLU for Q, V and actor, Adam 3e-4, batch 256, discount 0.99, tau 0.005,
          expectile 0.7, beta 3 (temperature 1/3), weights clipped at 100, a Gaussian actor with
          a tanh mean and a state-independent std, the actor's learning rate cosine-decayed, the
          rewards scaled by 1000 / (the dataset's largest - smallest episode return).
  CQL     Kumar et al. 2020 on SAC, as CORL runs it on D4RL locomotion: 3x256 ReLU actor and
          critics, critic Adam 3e-4, actor 3e-5, batch 256, discount 0.99, tau 0.005, the tuned
          entropy temperature, no entropy in the backup, 10 sampled actions per state, alpha 5
          (the paper's Gym setting; CORL's presets use 10), no Lagrange.
  AWAC    Nair et al. 2020 (the authors' rlkit settings): Gaussian actor of 4x256 with a
          state-independent std (log-std in [-6, 0]), critics 2x256, Adam 3e-4, discount 0.99,
          tau 0.005, lambda (temperature) 1, weights clipped at 100 (CORL), batch 256 (CORL's;
          rlkit used 1024).

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rlforge.config import option
from rlforge.config_checks import at_least, positive, positive_widths, squashed_gaussian_entropy, within

ACTOR_KINDS = ("deterministic", "gaussian", "tanh_gaussian")


@dataclass
class BoxOfflineConfig:
    """What every Box-action agent of this plugin has: networks, optimisation, TD learning and data."""

    # networks
    hidden: list[int] = option([256, 256], "hidden layer widths of each critic MLP")
    actor_hidden: list[int] = option([256, 256], "hidden layer widths of the actor MLP")
    activation: str = option("relu", "hidden activation of the MLPs (relu, tanh, elu, gelu, leaky_relu)")
    num_critics: int = option(2, "critics trained side by side (one batched ensemble); targets take their minimum")

    # optimisation
    lr: float = option(3.0e-4, "Adam learning rate of the critics")
    actor_lr: float = option(3.0e-4, "Adam learning rate of the actor")
    batch_size: int = option(256, "transitions per gradient step")

    # TD learning
    gamma: float = option(0.99, "discount factor")
    tau: float = option(0.005, "Polyak rate of the target critics, at every critic step")

    # data
    dataset: str = option(
        "", "offline data to start from: an rlforge .npz, a CS285 .pkl, a Minari dataset (id or folder) or a run "
            "folder holding dataset/ ('': none)")
    dataset_size: int = option(0, "use only the first N transitions of the dataset (0: all of it)")
    offline_steps: int | None = option(
        None, "gradient steps on the dataset before collecting online (null: the whole run offline; 0: online only)")
    buffer_size: int = option(1_000_000, "replay capacity for transitions collected online (on top of the dataset)")
    learning_starts: int = option(0, "env steps collected online before the first online gradient step")
    normalize_obs: bool = option(
        False, "standardise observations by the dataset's mean and std (+1e-3), in training, acting and export")
    reward_normalization: Literal["none", "return_range"] = option(
        "none", "return_range: rewards times 1000 / (largest - smallest return of the dataset's finished episodes), "
                "as IQL on D4RL locomotion; none: as stored")
    reward_scale: float = option(1.0, "rewards are multiplied by this (after reward_normalization), online too")
    reward_bias: float = option(0.0, "then this is added (e.g. antmaze: scale 1, bias -1)")

    def __post_init__(self):
        positive_widths(self, "hidden", "actor_hidden")
        if not self.hidden or not self.actor_hidden:
            raise ValueError("hidden and actor_hidden need at least one layer")
        at_least(self, 1, "num_critics", "batch_size", "buffer_size")
        at_least(self, 0, "dataset_size", "learning_starts")
        if self.offline_steps is not None:
            at_least(self, 0, "offline_steps")
        positive(self, "lr", "actor_lr")
        within(self, "gamma", 0.0, 1.0)
        within(self, "tau", 0.0, 1.0, low_open=True)
        for name in ("reward_scale", "reward_bias"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")


@dataclass
class TD3BCConfig(BoxOfflineConfig):
    """TD3+BC (Fujimoto & Gu 2021)."""

    alpha: float = option(2.5, "lambda = alpha / mean|Q(s, pi(s))|: the weight of the Q term against the BC term")
    policy_noise: float = option(0.2, "std of the target policy smoothing noise, in [-1, 1] action units (0: none)")
    noise_clip: float = option(0.5, "the smoothing noise is clipped to [-noise_clip, noise_clip]")
    policy_delay: int = option(2, "critic steps per actor step and target update")
    exploration_noise: float = option(0.1, "std of the Gaussian noise on the actor's actions when collecting online")
    normalize_obs: bool = option(True, "standardise observations by the dataset's mean and std (+1e-3), as TD3+BC does")
    compile_update: bool = option(
        False, "torch.compile the two gradient steps (critic; critic, actor and targets) as one graph each, the same "
               "maths to float rounding; eager if compiling fails. Off by default: compiling takes a minute or so")

    def __post_init__(self):
        super().__post_init__()
        positive(self, "alpha")
        at_least(self, 0, "policy_noise", "noise_clip", "exploration_noise")
        at_least(self, 1, "policy_delay")


@dataclass
class AdvantageActorConfig(BoxOfflineConfig):
    """The advantage-weighted actor that box awac and iql share."""

    actor: Literal["gaussian", "tanh_gaussian"] = option(
        "gaussian", "gaussian: tanh mean and a state-independent std, log-likelihood of the data's actions as they "
                    "are (IQL's, AWAC's); tanh_gaussian: SAC's squashed Gaussian with a state-dependent std")
    log_std_min: float = option(-5.0, "lower clamp of the actor's log standard deviation")
    log_std_max: float = option(2.0, "upper clamp of the actor's log standard deviation")
    temperature: float = option(1.0, "the actor imitates the data's actions weighted by exp(advantage / temperature)")
    max_weight: float | None = option(100.0, "clip the weights exp(advantage / temperature) at this value (null: no clip)")

    def __post_init__(self):
        super().__post_init__()
        if self.log_std_min >= self.log_std_max:
            raise ValueError(f"log_std_min ({self.log_std_min}) must be below log_std_max ({self.log_std_max})")
        positive(self, "temperature")
        if self.max_weight is not None:
            positive(self, "max_weight")


@dataclass
class BoxIQLConfig(AdvantageActorConfig):
    """IQL (Kostrikov et al. 2021) on D4RL locomotion."""

    expectile: float = option(0.7, "tau of the value loss |tau - 1(u < 0)| u^2, u = min_i Q_target,i(s, a) - V(s)")
    temperature: float = option(
        1.0 / 3.0, "weights exp(advantage / temperature); the IQL paper's beta 3 is temperature 1/3")
    value_hidden: list[int] = option([256, 256], "hidden layer widths of the value network V(s)")
    value_lr: float = option(3.0e-4, "Adam learning rate of the value network")
    actor_lr_schedule: Literal["constant", "cosine"] = option(
        "cosine", "cosine: the actor's learning rate decays to 0 over total_steps in a wholly offline run, as the IQL "
                  "paper (with offline_steps set it stays constant, as the authors' fine-tuning); constant: no decay")
    reward_normalization: Literal["none", "return_range"] = option(
        "return_range", "return_range: rewards times 1000 / (largest - smallest return of the dataset's finished "
                        "episodes), as IQL on D4RL locomotion; none: as stored")
    compile_update: bool = option(
        False, "torch.compile the gradient step (value, critics, targets, actor) as one graph, the same maths to "
               "float rounding; eager if compiling fails. Off by default: compiling takes a minute or so")

    def __post_init__(self):
        super().__post_init__()
        within(self, "expectile", 0.0, 1.0, low_open=True)
        if self.expectile >= 1.0:
            raise ValueError(f"expectile must be in (0, 1), got {self.expectile}")
        positive_widths(self, "value_hidden")
        positive(self, "value_lr")


@dataclass
class BoxAWACConfig(AdvantageActorConfig):
    """AWAC (Nair et al. 2020) with the authors' (rlkit) networks."""

    actor_hidden: list[int] = option([256, 256, 256, 256], "hidden layer widths of the actor MLP")
    log_std_min: float = option(-6.0, "lower clamp of the actor's (state-independent) log standard deviation")
    log_std_max: float = option(0.0, "upper clamp of the actor's log standard deviation")


@dataclass
class BoxCQLConfig(BoxOfflineConfig):
    """CQL (Kumar et al. 2020) over SAC, with the Lagrange variant and Cal-QL (Nakamoto et al. 2023)."""

    hidden: list[int] = option([256, 256, 256], "hidden layer widths of each critic MLP")
    actor_hidden: list[int] = option([256, 256, 256], "hidden layer widths of the actor MLP")
    actor_lr: float = option(3.0e-5, "Adam learning rate of the actor (CORL's 3e-5 on locomotion; antmaze 1e-4)")
    # SAC's entropy temperature (rlforge.actor_critic.entropy_temperature reads these names)
    temperature: float = option(1.0, "SAC's entropy temperature: the fixed value, or the initial one when tuned")
    auto_temperature: bool = option(True, "tune the entropy temperature towards target_entropy")
    target_entropy: float | None = option(None, "entropy the tuned temperature aims for (null: -action_dim)")
    temperature_lr: float = option(3.0e-4, "Adam learning rate of the log-temperature")
    log_std_min: float = option(-20.0, "lower clamp of the actor's log standard deviation")
    log_std_max: float = option(2.0, "upper clamp of the actor's log standard deviation")
    backup_entropy: bool = option(False, "subtract temperature * log pi(a'|s') in the critic target (CQL: no)")
    # the conservative penalty
    cql_alpha: float = option(5.0, "weight of the CQL penalty logsumexp_a Q(s, a) - Q(s, a_data) (0: plain SAC)")
    cql_temperature: float = option(1.0, "temperature T of the soft maximum in the CQL penalty")
    cql_actions: int = option(10, "actions sampled per state for the soft maximum, from each of: uniform, pi(.|s), pi(.|s')")
    cql_lagrange: bool = option(
        False, "tune a multiplier alpha' >= 0 so that the penalty's gap stays near cql_target_action_gap")
    cql_target_action_gap: float = option(
        5.0, "with cql_lagrange: the gap logsumexp - Q(s, a_data) the multiplier aims for (CQL's tau)")
    online_cql_alpha: float | None = option(
        None, "cql_alpha once collecting online, after offline_steps (null: cql_alpha throughout, as the course)")
    calibrated: bool = option(
        False, "Cal-QL: the Q-values of the policy's sampled actions in the penalty are bounded below by the data's "
               "Monte-Carlo return-to-go (computed with gamma when the dataset is loaded; online, per finished episode)")
    bc_steps: int = option(0, "first gradient steps whose actor loss is the data actions' log-likelihood (CQL's BC warm-up)")

    def __post_init__(self):
        super().__post_init__()
        squashed_gaussian_entropy(self)
        positive(self, "temperature_lr", "cql_temperature")
        at_least(self, 0, "cql_alpha", "bc_steps")
        at_least(self, 1, "cql_actions")
        if self.online_cql_alpha is not None:
            at_least(self, 0, "online_cql_alpha")
        if self.cql_lagrange and self.cql_alpha <= 0:
            raise ValueError("cql_lagrange scales cql_alpha by a tuned multiplier, so cql_alpha must be positive")
