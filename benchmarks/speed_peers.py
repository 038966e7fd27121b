"""The peers' side of the speed harness (benchmarks/speed.py): Stable-Baselines3 (with
SB3-contrib's CrossQ) and SBX, SB3's JAX port, which shares SB3's API. Each run is this file as
a subprocess, so that its imports and thread settings are its own:

    python benchmarks/speed_peers.py --library sbx --algo sac --settings '{...}' --threads 1

It prints one JSON line: env steps/s after learning starts and the evaluation return (SAC, TD3,
CrossQ, DQN), or PPO's evaluations and timing window.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time

from speed_settings import timing_window, total_steps

EVAL_SEED = 1_000_003  # rlforge's evaluation seed offset (the run's seed + this), used by every side

# Where each peer's algorithm lives: SB3 has no CrossQ, SB3-contrib has it.
MODULES = {"sb3": {"crossq": "sb3_contrib"}, "sbx": {}}
DEFAULT_MODULE = {"sb3": "stable_baselines3", "sbx": "sbx"}
# What the package installs as, for error messages and version records
DISTRIBUTIONS = {"stable_baselines3": "stable-baselines3", "sb3_contrib": "sb3-contrib", "sbx": "sbx-rl"}


def module_for(library: str, algo: str) -> str:
    return MODULES[library].get(algo, DEFAULT_MODULE[library])


def make_model(library: str, algo: str, s: dict, device: str):
    """The peer's model with SETTINGS[algo] translated into its arguments."""
    lib = importlib.import_module(module_for(library, algo))
    seed = s.get("seed", 1)
    common = {"seed": seed, "device": device, "verbose": 0}
    if algo in ("sac", "td3", "crossq"):
        off_policy = {"learning_rate": s["lr"], "buffer_size": s["buffer_size"], "learning_starts": s["learning_starts"],
                      "batch_size": s["batch_size"], "gamma": s["gamma"], "train_freq": 1,
                      "gradient_steps": s["updates_per_step"], **common}
        if algo == "sac":
            return lib.SAC("MlpPolicy", s["env"], tau=s["tau"], ent_coef=f"auto_{s['init_temperature']}",
                           target_entropy="auto", policy_kwargs={"net_arch": list(s["hidden"])}, **off_policy)
        if algo == "td3":
            import numpy as np
            from stable_baselines3.common.noise import NormalActionNoise

            act_dim = _action_dim(s["env"])
            noise = NormalActionNoise(np.zeros(act_dim), s["exploration_noise"] * np.ones(act_dim))
            return lib.TD3("MlpPolicy", s["env"], tau=s["tau"], policy_delay=s["policy_delay"],
                           target_policy_noise=s["policy_noise"], target_noise_clip=s["noise_clip"], action_noise=noise,
                           policy_kwargs={"net_arch": list(s["hidden"])}, **off_policy)
        # CrossQ: both peers default to Adam with beta1 0.5 and batch renormalisation with the paper's
        # momentum and 100k warm-up steps, as SETTINGS["crossq"] says; the widths are set here.
        net_arch = {"pi": list(s["hidden"]), "qf": list(s["critic_hidden"])}
        return lib.CrossQ("MlpPolicy", s["env"], policy_delay=s["policy_delay"],
                          ent_coef=f"auto_{s['init_temperature']}", policy_kwargs={"net_arch": net_arch}, **off_policy)
    net = {"net_arch": list(s["hidden"])}
    if algo == "dqn":
        # SBX's DQN clips no gradient (it has no max_grad_norm); SB3's clips at SETTINGS' value.
        clip = {"max_grad_norm": s["max_grad_norm"]} if library == "sb3" else {}
        return lib.DQN("MlpPolicy", s["env"], learning_rate=s["lr"], buffer_size=s["buffer_size"],
                       learning_starts=s["learning_starts"], batch_size=s["batch_size"], tau=1.0, gamma=s["gamma"],
                       train_freq=s["train_freq"], gradient_steps=s["gradient_steps"],
                       target_update_interval=s["target_period"], exploration_fraction=s["epsilon_fraction"],
                       exploration_initial_eps=s["epsilon_start"], exploration_final_eps=s["epsilon_end"],
                       policy_kwargs=net, **clip, **common)
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(s["env"], n_envs=s["num_envs"], seed=seed)
    lr = s["lr"]
    # orthogonal initialisation as rlforge's (SB3's default; SBX's is off unless asked)
    policy_kwargs = {**net, "ortho_init": True}
    return lib.PPO("MlpPolicy", env, n_steps=s["n_steps"], batch_size=s["batch_size"], n_epochs=s["epochs"],
                   learning_rate=lambda fraction: fraction * lr, gamma=s["gamma"], gae_lambda=s["gae_lambda"],
                   clip_range=s["clip"], ent_coef=s["ent_coef"], vf_coef=s["vf_coef"],
                   max_grad_norm=s["max_grad_norm"], policy_kwargs=policy_kwargs, **common)


def _action_dim(env_id: str) -> int:
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        return int(env.action_space.shape[0])
    finally:
        env.close()


def evaluate(model, s: dict, episodes: int) -> float:
    """Mean deterministic return over `episodes`, on the evaluation seeds rlforge uses."""
    import gymnasium as gym
    import numpy as np

    env = gym.make(s["env"])
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=s.get("seed", 1) + EVAL_SEED + episode)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


def run(library: str, algo: str, s: dict, threads: int, device: str, matmul: str) -> dict:
    if library == "sb3":
        import torch

        torch.set_num_threads(threads)
        torch.set_float32_matmul_precision(matmul)  # "highest" (torch's default) unless asked otherwise
    from stable_baselines3.common.callbacks import BaseCallback

    class Clock(BaseCallback):
        """perf_counter at the timing window's start and at the end; for PPO the periodic evaluations."""

        def __init__(self):
            super().__init__()
            self.marks, self.evals, self.eval_seconds = {}, [], 0.0
            self.next_eval = s.get("eval_every", 1 << 62)

        def _on_step(self):
            window_opens = (self.num_timesteps == timing_window(s)[0] if algo != "ppo"
                            else "start" not in self.marks and self.num_timesteps >= s["eval_every"])
            if window_opens:
                self.marks["start"] = time.perf_counter()
            if algo == "ppo" and self.num_timesteps >= self.next_eval:
                self.next_eval += s["eval_every"]
                began = time.perf_counter()
                self.evals.append([self.num_timesteps, evaluate(self.model, s, s["eval_episodes"]), time.time()])
                self.eval_seconds += time.perf_counter() - began
            return True

        def _on_training_end(self):
            self.marks["end"] = time.perf_counter()

    model = make_model(library, algo, s, device)
    clock = Clock()
    total = total_steps(algo, s)
    model.learn(total_timesteps=total, callback=clock)
    if algo == "ppo":
        return {"evals": clock.evals, "eval_seconds": clock.eval_seconds,
                "window": clock.marks["end"] - clock.marks["start"]}
    start, end = timing_window(s)
    sps = (end - start) / (clock.marks["end"] - clock.marks["start"])
    return {"sps": sps, "eval_return": evaluate(model, s, s["eval_episodes"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", choices=sorted(DEFAULT_MODULE), required=True)
    parser.add_argument("--algo", required=True)
    parser.add_argument("--settings", required=True, help="the benchmark's settings as JSON")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--matmul-precision", default="highest")
    args = parser.parse_args()
    print(json.dumps(run(args.library, args.algo, json.loads(args.settings), args.threads, args.device,
                         args.matmul_precision)))


if __name__ == "__main__":
    main()
