"""Settings of `bc`, `dagger` and `bc-sac`. Defaults are CS285 hw1's: a 2x64 tanh MLP, Adam 5e-3,
1,000 gradient steps of batch 100 per iteration, 1,000 env steps collected per iteration.

How they fit the engine: every iteration the engine collects `collect_steps` env steps (per
env) with the learner's policy, then calls `update`, which takes `train_steps` gradient steps.
So the number of iterations is total_steps / (collect_steps * num_envs): BC = 1 iteration
(the presets set total_steps: 1000), DAgger = 10 (total_steps: 10000). BC learns nothing from
the steps it collects (they are its training-return curve, like the homework's eval batch);
DAgger relabels them with the expert's actions and adds them to its data.

No torch or gymnasium here: `rlforge list` and `rlforge config` import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlforge.config import option
from rlforge_sac.config import SACConfig  # bc-sac extends SAC's settings; it imports no torch either


@dataclass
class BCConfig:
    dataset: str = option("", "expert data: an rlforge .npz dataset, a CS285 expert-data .pkl, or a shipped "
                              "dataset's name (HalfCheetah-v4, Hopper-v4; the env's preset names it)")
    dataset_episodes: int = option(0, "use only the first N episodes of the dataset (0: all)")
    hidden: list[int] = option([64, 64], "hidden layer widths of the policy MLP")
    activation: str = option("tanh", "hidden activation (tanh, relu, elu, gelu, leaky_relu)")
    lr: float = option(5.0e-3, "Adam learning rate")
    train_batch_size: int = option(100, "transitions per gradient step")
    train_steps: int = option(1000, "gradient steps per iteration")
    collect_steps: int = option(1000, "env steps (per env) collected with the learner's policy per iteration")
    loss: Literal["mse", "gaussian"] = option(
        "mse", "mse: squared error of the mean action; gaussian: negative log-likelihood of a Gaussian with a learned std")
    normalize_obs: bool = option(True, "standardise observations with the mean and std of the expert data")
    init_log_std: float = option(-1.0, "initial log std of the Gaussian policy (trained only with loss gaussian)")

    def __post_init__(self):
        if any(int(w) < 1 for w in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")
        for name in ("train_batch_size", "collect_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("train_steps", "dataset_episodes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


@dataclass
class DAggerConfig(BCConfig):
    expert: str = option("", "the expert that relabels: a shipped expert's name (HalfCheetah-v4, Hopper-v4), an "
                             "rlforge expert file, an rlforge run or checkpoint folder, or a CS285 expert .pkl")
    beta: float = option(0.0, "probability that a collected step takes the expert's action, in the first "
                              "collecting iteration (0: pure learner, as in CS285)")
    beta_decay: float = option(0.5, "beta is multiplied by this every iteration after that (Ross et al.'s "
                                    "beta_i = beta * decay^(i-1))")
    collect_noise: float = option(0.0, "std of Gaussian noise added to the learner's collecting actions, as a fraction of "
                                       "half the action range (DART, Laskey et al. 2017: the expert labels states just off "
                                       "the learner's path; 0: none, as in CS285); evaluation never adds it")
    max_data: int = option(1_000_000, "capacity of the aggregated dataset (expert data + relabelled steps); "
                                      "the oldest relabelled steps go first")
    labels: Literal["auto", "raw", "clipped"] = option(
        "auto", "the expert's labels for the visited observations: raw (its action before clipping to the env's "
                "bounds, as in the CS285 expert data), clipped, or auto (raw when the expert data hold actions "
                "outside the bounds, else clipped): labels must agree with the expert data's actions")

    def __post_init__(self):
        super().__post_init__()
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta}")
        if not 0.0 <= self.beta_decay <= 1.0:
            raise ValueError(f"beta_decay must be in [0, 1], got {self.beta_decay}")
        if not self.collect_noise >= 0.0:
            raise ValueError(f"collect_noise must not be negative, got {self.collect_noise}")
        if self.max_data < 1:
            raise ValueError(f"max_data must be at least 1, got {self.max_data}")


@dataclass
class BCSACConfig(SACConfig):
    dataset: str = option("", "expert data for the actor's behaviour cloning (as for bc: path or shipped name)")
    dataset_episodes: int = option(0, "use only the first N episodes of the dataset (0: all)")
    random_steps: int = option(0, "environment steps (all envs) taken with uniform random actions first "
                                  "(0: the imitating actor collects from the start)")
    bc_steps: int = option(2000, "gradient steps fitting the actor to the expert data before SAC starts")
    bc_batch_size: int = option(256, "expert transitions per behaviour-cloning step")
    bc_lr: float = option(1.0e-3, "Adam learning rate of the behaviour-cloning steps")
    bc_log_std: float = option(-2.0, "log std the cloned actor's (pre-tanh) std is fitted to: its exploration noise")
    critic_fit_steps: int = option(2000, "gradient steps fitting the critics to the discounted returns of the "
                                         "trajectories collected before learning_starts")
    actor_delay: int = option(0, "env steps after learning_starts during which only the critics train (the "
                                 "cloned actor is frozen)")
    refit_prob: float = option(0.2, "probability that an iteration's actor step is a behaviour-cloning step "
                                    "(re-fit to the expert data) instead of a SAC step, at the start")
    refit_halflife: int = option(20_000, "environment steps over which refit_prob and bc_weight halve")
    bc_weight: float = option(0.4, "weight of the behaviour-cloning term in SAC's actor loss, relative to the "
                                   "mean |Q| (TD3+BC's 1/alpha), decaying like refit_prob; 0: none")
    normalize_obs: bool = option(False, "standardise the observations of the actor and the critics with the mean and "
                                        "std of the expert data (fixed)")
    critic_layer_norm: bool = option(False, "a LayerNorm (without parameters) after every hidden layer of the critics, "
                                            "their output scaled by the expert data's RMS discounted return: bounded "
                                            "values for actions the critics have not seen")
    expert_ratio: float = option(0.0, "share of every critic and actor minibatch (and of the critics' Monte-Carlo fit) "
                                      "drawn from the expert's transitions instead of the replay buffer; 0: none")
    imitator_weight: float = option(0.0, "weight of KL(actor || imitator) on the actor's own batch of replay states in "
                                         "SAC's actor loss (the imitator: the cloned actor, frozen), relative to the mean "
                                         "|Q| and decaying like refit_prob; 0: none")
    entropy_from_clone: bool = option(False, "set SAC's target entropy to the cloned actor's entropy (measured on the "
                                             "expert states right after cloning) instead of target_entropy")
    diagnostics_every: int = option(1000, "env steps between the actor diagnostics (charts/bc_mse, charts/policy_std, "
                                          "charts/grad_q, ...: see BCSACAgent.diagnostics); 0: none")

    def __post_init__(self):
        super().__post_init__()
        if self.compile_update == "whole":  # its actor loss has terms SAC's whole update does not hold
            raise ValueError("compile_update 'whole' is SAC's own update; bc-sac supports true, critic, actor or false")
        for name in ("bc_steps", "critic_fit_steps", "dataset_episodes", "actor_delay", "diagnostics_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        for name in ("bc_batch_size", "refit_halflife"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.bc_lr > 0:
            raise ValueError(f"bc_lr must be positive, got {self.bc_lr}")
        for name in ("bc_weight", "imitator_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.expert_ratio < 1.0:
            raise ValueError(f"expert_ratio must be in [0, 1), got {self.expert_ratio}")
        if not 0.0 <= self.refit_prob <= 1.0:
            raise ValueError(f"refit_prob must be in [0, 1], got {self.refit_prob}")
