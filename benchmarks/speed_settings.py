"""The speed harness's shared settings (benchmarks/speed.py): each benchmark's hyperparameters,
written once, and their translation into rlforge config keys. The peers' translation is in
speed_peers.py."""

from __future__ import annotations

import math

OFF_POLICY_MUJOCO = {"env": "HalfCheetah-v4", "hidden": [256, 256], "batch_size": 256, "buffer_size": 1_000_000,
                     "gamma": 0.99, "learning_starts": 5000, "settle_steps": 1000, "updates_per_step": 1,
                     "steps": 3000, "eval_episodes": 5}

SETTINGS = {
    "sac": {**OFF_POLICY_MUJOCO, "lr": 3e-4, "tau": 0.005, "init_temperature": 1.0},
    # the TD3 paper's settings (its authors' later code: 256-wide layers, 3e-4)
    "td3": {**OFF_POLICY_MUJOCO, "lr": 3e-4, "tau": 0.005, "policy_delay": 2, "exploration_noise": 0.1,
            "policy_noise": 0.2, "noise_clip": 0.5},
    # the CrossQ paper's settings but rlforge's default critic width (critic_hidden; the paper: 2048)
    "crossq": {**OFF_POLICY_MUJOCO, "critic_hidden": [256, 256], "lr": 1e-3, "adam_beta1": 0.5, "policy_delay": 3,
               "init_temperature": 1.0, "bn_momentum": 0.99, "bn_warmup_steps": 100_000},
    "dqn": {"env": "CartPole-v1", "hidden": [64, 64], "batch_size": 128, "lr": 1e-3, "buffer_size": 100_000,
            "gamma": 0.99, "learning_starts": 1000, "settle_steps": 1000, "train_freq": 1, "gradient_steps": 1, "max_grad_norm": 10.0,
            "target_period": 1000, "epsilon_start": 1.0, "epsilon_end": 0.02, "epsilon_fraction": 0.1,
            "steps": 20_000, "eval_episodes": 10},
    "ppo": {"env": "CartPole-v1", "num_envs": 8, "n_steps": 32, "batch_size": 256, "epochs": 20, "lr": 1e-3,
            "gamma": 0.98, "gae_lambda": 0.8, "clip": 0.2, "ent_coef": 0.0, "vf_coef": 0.5, "max_grad_norm": 0.5,
            "hidden": [64, 64], "threshold": 475.0, "eval_every": 2048, "eval_episodes": 10, "steps": 51_200},
}
OFF_POLICY_TINY = {"learning_starts": 200, "settle_steps": 100, "steps": 200, "eval_episodes": 1, "buffer_size": 10_000}
TINY = {"sac": OFF_POLICY_TINY, "td3": OFF_POLICY_TINY, "crossq": OFF_POLICY_TINY,
        "dqn": {"learning_starts": 200, "settle_steps": 100, "steps": 400, "eval_episodes": 1, "buffer_size": 10_000},
        "ppo": {"steps": 1024, "eval_every": 512, "eval_episodes": 1}}

# rlforge's speed targets against each peer (issues 9, 21 and 24): (ratio measured, direction, bound)
TARGETS = {
    "sb3": {"sac": ("sps", ">=", 1.8), "td3": ("sps", ">=", 1.8), "crossq": ("sps", ">=", 1.8),
            "dqn": ("sps", ">=", 2.0), "ppo": ("time_to_solve", "<=", 0.5)},
    "sbx": {"sac": ("sps", ">=", 1.2), "td3": ("sps", ">=", 1.0), "crossq": ("sps", ">=", 1.0),
            "dqn": ("sps", ">=", 1.0), "ppo": ("time_to_solve", "<=", 1.0)},
}


def timing_window(s: dict) -> tuple[int, int]:
    """The env steps between which an off-policy run is timed: from `settle_steps` after
    learning starts (so one-time costs such as JAX's compilation of the update, about 5 s for
    SBX's SAC here, stay out of a window of ~30 s) to the end, `steps` later."""
    start = s["learning_starts"] + s["settle_steps"]
    return start, start + s["steps"]


def total_steps(algo: str, s: dict) -> int:
    """The whole budget: PPO's steps, or the off-policy warm-up, settling and timed steps."""
    return s["steps"] if algo == "ppo" else timing_window(s)[1]


def log_every(s: dict) -> int:
    """Metric rows land exactly on the timing window's two ends."""
    return math.gcd(*timing_window(s), 1000)


def rlforge_sets(algo: str, s: dict, threads: int, device: str) -> dict:
    """SETTINGS[algo] as rlforge config keys."""
    common = {"torch_threads": threads, "device": device, "seed": s.get("seed", 1)}
    if algo in ("sac", "td3", "crossq"):
        return {**common, **_off_policy_sets(algo, s), "eval_every": 0, "eval_episodes": s["eval_episodes"],
                "log_every": log_every(s)}
    if algo == "dqn":
        return {**common, "network": "mlp", "hidden": s["hidden"], "activation": "relu", "lr": s["lr"],
                "lr_schedule": "constant", "batch_size": s["batch_size"], "buffer_size": s["buffer_size"],
                "gamma": s["gamma"], "train_frequency": s["train_freq"],
                "updates_per_step": s["gradient_steps"] / s["train_freq"], "loss": "huber",
                "max_grad_norm": s["max_grad_norm"], "target_update": "hard", "target_period": s["target_period"],
                "epsilon_start": s["epsilon_start"], "epsilon_end": s["epsilon_end"],
                "epsilon_fraction": s["epsilon_fraction"], "learning_starts": s["learning_starts"],
                "double_q": False, "dueling": False, "n_step": 1, "eval_every": 0,
                "eval_episodes": s["eval_episodes"], "log_every": log_every(s)}
    return {**common, "num_envs": s["num_envs"], "n_steps": s["n_steps"],
            "num_minibatches": s["num_envs"] * s["n_steps"] // s["batch_size"], "update_epochs": s["epochs"],
            "lr": s["lr"], "anneal_lr": True, "gamma": s["gamma"], "gae_lambda": s["gae_lambda"],
            "clip_coef": s["clip"], "clip_value_loss": False, "ent_coef": s["ent_coef"], "vf_coef": s["vf_coef"],
            "max_grad_norm": s["max_grad_norm"], "hidden": s["hidden"], "activation": "tanh", "ortho_init": True,
            "normalize_advantages": True, "normalize_obs": False, "normalize_reward": False,
            "eval_every": s["eval_every"], "eval_episodes": s["eval_episodes"], "log_every": s["eval_every"]}


def _off_policy_sets(algo: str, s: dict) -> dict:
    """SAC, TD3 and CrossQ: uniform random actions until learning starts, then one critic step
    per env step."""
    shared = {"actor_hidden": s["hidden"], "critic_hidden": s.get("critic_hidden", s["hidden"]), "activation": "relu",
              "batch_size": s["batch_size"], "actor_lr": s["lr"], "critic_lr": s["lr"], "buffer_size": s["buffer_size"],
              "gamma": s["gamma"], "random_steps": s["learning_starts"], "learning_starts": s["learning_starts"],
              "updates_per_step": s["updates_per_step"], "num_critics": 2}
    if algo == "sac":
        return {**shared, "temperature_lr": s["lr"], "tau": s["tau"], "target_update": "soft", "backup": "min",
                "temperature": s["init_temperature"], "auto_temperature": True, "target_entropy": None}
    if algo == "td3":
        return {**shared, "tau": s["tau"], "policy_delay": s["policy_delay"], "exploration_noise": s["exploration_noise"],
                "policy_noise": s["policy_noise"], "noise_clip": s["noise_clip"]}
    return {**shared, "temperature_lr": s["lr"], "adam_beta1": s["adam_beta1"], "policy_delay": s["policy_delay"],
            "temperature": s["init_temperature"], "auto_temperature": True, "target_entropy": None,
            "bn_momentum": s["bn_momentum"], "bn_warmup_steps": s["bn_warmup_steps"]}
