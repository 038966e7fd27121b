"""The d3rlpy side of benchmarks/offline_vs_d3rlpy.py: one d3rlpy training run, in the d3rlpy
virtual environment (benchmarks/d3rlpy_env.sh makes it), as a subprocess of the harness:

    .venv-d3rlpy/bin/python benchmarks/d3rlpy_side.py --data DATA.npz --algo iql \\
        --settings '{...rlforge keys...}' --steps 1000000 --seed 1 --threads 1 --time-from 1000 \\
        --policy-out policy.pt

DATA.npz is the dataset as the harness wrote it (numpy arrays, no pickle): the rows as rlforge
reads them (actions already mapped to [-1, 1] and clipped, as rlforge maps them), and the
statistics rlforge's agent computes from them (observation mean and std, the finished episodes'
smallest and largest returns). --settings are rlforge's keys for the algorithm; `d3rlpy_config`
translates them into d3rlpy's config, refusing what d3rlpy cannot express. The run trains with
d3rlpy's own `fit` loop (no logging to files, no progress bar, no evaluators), times the update
loop from the callback after step --time-from to the one after the last step, and saves the
final greedy policy as TorchScript (`save_policy`, observation scaler inside) for the harness to
evaluate on the same env, seeds and gymnasium version as rlforge's runs. It prints one JSON line.

No rlforge import here: rlforge's environment cannot hold d3rlpy (gymnasium 1.4 against d3rlpy's
pinned 1.0), and this file runs where only d3rlpy is. Only numpy at the top, so that the
harness's tests can check the mapping and the data layout without d3rlpy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

ALGOS = ("iql", "cql", "td3bc")
ACTIVATIONS = ("relu", "tanh", "gelu")  # rlforge's names that d3rlpy's encoders know alike
D3RLPY_CONFIGS = {"iql": "IQLConfig", "cql": "CQLConfig", "td3bc": "TD3PlusBCConfig"}
IQL_LOG_STD = (-5.0, 2.0)  # d3rlpy's IQL fixes its Gaussian's log-std range here
CQL_LOG_STD = (-20.0, 2.0)  # and CQL's squashed Gaussian's here

# What cannot be matched exactly, by algorithm (docs/offline-benchmark.md lists the same).
DIFFERENCES = {
    "all": [
        "critic ensembles: rlforge evaluates its critics as one batched ensemble, d3rlpy one module after another "
        "(same networks, same losses summed over critics: a speed difference, not a setting)",
        "batches: rlforge draws one index array per batch from its buffer; d3rlpy picks each transition in Python "
        "(uniform over transitions on both sides)",
        "random streams: the same seed on both sides, but the libraries draw their numbers in different orders",
    ],
    "iql": [
        "timing within a step: rlforge computes the advantage (and V(s')) with V before the step's value update and "
        "the critics before their update; d3rlpy updates Q and V first, then weights the actor with the updated V",
        "log-std: rlforge clamps a free parameter (initially 0) to [log_std_min, log_std_max]; d3rlpy maps a "
        "parameter through a sigmoid onto [-5, 2] (initially -1.5)",
        "optimisers: rlforge has separate Adams for Q and V; d3rlpy one Adam over both (the same when value_lr == lr, "
        "which the mapping requires)",
    ],
    "cql": [
        "critic target without entropy (backup_entropy false): rlforge backs up Q'(s', a') at a sampled "
        "a' ~ pi(.|s') (CORL); d3rlpy (soft_q_backup false) at the policy's mean action tanh(mu(s'))",
        "temperature loss: rlforge -log(alpha) * (log pi + target entropy); d3rlpy -alpha * (log pi + target "
        "entropy) (gradient scaled by alpha); both aim at -dim(A)",
        "penalty: d3rlpy subtracts alpha_threshold (set to cql_target_action_gap) inside the penalty without the "
        "Lagrange variant too: a constant, no gradient",
    ],
    "td3bc": [
        "the delayed actor step: rlforge updates the actor (and the targets) after critic steps 2, 4, ...; d3rlpy "
        "after steps 1, 3, ... (its step counter starts at 0)",
    ],
}


# ----------------------------------------------------------------------------- settings -> d3rlpy


def d3rlpy_config(algo: str, s: dict, steps: int, stats: dict) -> dict:
    """rlforge's settings `s` for `algo` as a plain description of d3rlpy's config (JSON):
    {"config": class name, "kwargs": scalars, "encoders": {field: {hidden_units, activation}},
    "optimizers": {field: {"cosine_t_max": N} or {}}, "observation_scaler": {mean, std} or None,
    "reward_scaler": {return_min, return_max, multiplier} or None}. `stats`: obs_mean, obs_std
    (without rlforge's +1e-3, which d3rlpy's scaler adds as its eps), return_min, return_max.
    Raises ValueError for a setting d3rlpy cannot express."""
    if algo not in ALGOS:
        raise ValueError(f"no d3rlpy mapping for {algo!r}; known: {', '.join(ALGOS)}")
    _refuse_unmatched(algo, s)

    def encoder(hidden):
        return {"hidden_units": [int(h) for h in hidden], "activation": s["activation"]}

    kwargs = {"batch_size": int(s["batch_size"]), "gamma": float(s["gamma"]), "tau": float(s["tau"]),
              "n_critics": int(s["num_critics"]), "actor_learning_rate": float(s["actor_lr"]),
              "critic_learning_rate": float(s["lr"])}
    encoders = {"actor_encoder_factory": encoder(s["actor_hidden"]), "critic_encoder_factory": encoder(s["hidden"])}
    optimizers = {"actor_optim_factory": {}, "critic_optim_factory": {}}
    if algo == "iql":
        kwargs.update(expectile=float(s["expectile"]), weight_temp=1.0 / float(s["temperature"]),
                      max_weight=float("inf") if s["max_weight"] is None else float(s["max_weight"]))
        encoders["value_encoder_factory"] = encoder(s["value_hidden"])
        if s["actor_lr_schedule"] == "cosine":
            optimizers["actor_optim_factory"] = {"cosine_t_max": int(steps)}
    elif algo == "cql":
        kwargs.update(temp_learning_rate=float(s["temperature_lr"]) if s["auto_temperature"] else 0.0,
                      initial_temperature=float(s["temperature"]), conservative_weight=float(s["cql_alpha"]),
                      n_action_samples=int(s["cql_actions"]), alpha_learning_rate=0.0, initial_alpha=1.0,
                      alpha_threshold=float(s["cql_target_action_gap"]), soft_q_backup=bool(s["backup_entropy"]),
                      max_q_backup=False)
        optimizers["temp_optim_factory"] = {}
    else:
        kwargs.update(alpha=float(s["alpha"]), target_smoothing_sigma=float(s["policy_noise"]),
                      target_smoothing_clip=float(s["noise_clip"]), update_actor_interval=int(s["policy_delay"]))
    observation_scaler = ({"mean": [float(x) for x in stats["obs_mean"]], "std": [float(x) for x in stats["obs_std"]]}
                          if s.get("normalize_obs") else None)
    reward_scaler = ({"return_min": float(stats["return_min"]), "return_max": float(stats["return_max"]),
                      "multiplier": 1000.0} if s.get("reward_normalization", "none") == "return_range" else None)
    return {"config": D3RLPY_CONFIGS[algo], "kwargs": kwargs, "encoders": encoders, "optimizers": optimizers,
            "observation_scaler": observation_scaler, "reward_scaler": reward_scaler}


def _refuse_unmatched(algo: str, s: dict) -> None:
    """ValueError naming the first setting d3rlpy has no way to match."""
    def refuse(why):
        raise ValueError(f"{algo}: {why}: d3rlpy cannot match it")

    if s["activation"] not in ACTIVATIONS:
        refuse(f"activation {s['activation']!r} (d3rlpy's encoders: {', '.join(ACTIVATIONS)} of these names)")
    if s.get("reward_scale", 1.0) != 1.0 or s.get("reward_bias", 0.0) != 0.0:
        refuse("reward_scale/reward_bias")
    if algo == "iql":
        if s["actor"] != "gaussian":
            refuse(f"actor {s['actor']!r} (d3rlpy's IQL has the Gaussian actor with a tanh mean only)")
        if (float(s["log_std_min"]), float(s["log_std_max"])) != IQL_LOG_STD:
            refuse(f"log-std range [{s['log_std_min']}, {s['log_std_max']}] (d3rlpy's IQL fixes [-5, 2])")
        if float(s["value_lr"]) != float(s["lr"]):
            refuse(f"value_lr {s['value_lr']} != lr {s['lr']} (d3rlpy's IQL has one optimiser for Q and V)")
    if algo == "cql":
        if (float(s["log_std_min"]), float(s["log_std_max"])) != CQL_LOG_STD:
            refuse(f"log-std range [{s['log_std_min']}, {s['log_std_max']}] (d3rlpy's CQL fixes [-20, 2])")
        if float(s["cql_temperature"]) != 1.0:
            refuse(f"cql_temperature {s['cql_temperature']} (d3rlpy's soft maximum has none: T = 1)")
        if s["cql_lagrange"]:
            refuse("cql_lagrange true (not mapped: the benchmark runs the presets' fixed alpha)")
        if s.get("target_entropy") is not None:
            refuse("target_entropy (d3rlpy aims at -dim(A) always)")
        if int(s.get("bc_steps", 0)):
            refuse("bc_steps (d3rlpy's CQL has no behaviour-cloning warm-up)")
        if s.get("calibrated"):
            refuse("calibrated (Cal-QL is another d3rlpy algorithm)")


def build_algo(description: dict, device: str):
    """d3rlpy's algorithm from `d3rlpy_config`'s description (imports d3rlpy)."""
    import d3rlpy
    from d3rlpy.models import VectorEncoderFactory
    from d3rlpy.optimizers import AdamFactory, CosineAnnealingLRFactory
    from d3rlpy.preprocessing import ReturnBasedRewardScaler, StandardObservationScaler

    kwargs = dict(description["kwargs"])
    for field, encoder in description["encoders"].items():
        kwargs[field] = VectorEncoderFactory(hidden_units=encoder["hidden_units"], activation=encoder["activation"])
    for field, optimizer in description["optimizers"].items():
        scheduler = ({"lr_scheduler_factory": CosineAnnealingLRFactory(T_max=optimizer["cosine_t_max"])}
                     if "cosine_t_max" in optimizer else {})
        kwargs[field] = AdamFactory(**scheduler)
    if description["observation_scaler"]:
        scaler = description["observation_scaler"]
        kwargs["observation_scaler"] = StandardObservationScaler(mean=np.asarray(scaler["mean"], np.float32),
                                                                 std=np.asarray(scaler["std"], np.float32))
    if description["reward_scaler"]:
        kwargs["reward_scaler"] = ReturnBasedRewardScaler(**description["reward_scaler"])
    config = getattr(d3rlpy.algos, description["config"])(**kwargs)
    return config.create(device=device)


# ----------------------------------------------------------------------------- the data


def episode_layout(obs, actions, rewards, next_obs, terminated, truncated):
    """rlforge's flat rows as d3rlpy's MDPDataset arrays (observations, actions, rewards,
    terminals, timeouts) holding exactly the same transitions.

    d3rlpy splits episodes at terminals or timeouts and pairs each row with the next row's
    observation; an episode's last row becomes a transition only when it terminated (with a
    zero next observation, masked by the terminal). So after each episode cut by a time limit,
    and after a trailing unfinished one, this adds one row holding the true next observation
    (action 0, reward 0, marked as the timeout): the cut step stays a transition with its real
    next state, and the added row makes none. A row both terminated and truncated counts as
    terminated."""
    obs, next_obs = np.asarray(obs, np.float32), np.asarray(next_obs, np.float32)
    actions, rewards = np.asarray(actions, np.float32), np.asarray(rewards, np.float32)
    terminated = np.asarray(terminated, bool)
    truncated = np.asarray(truncated, bool) & ~terminated
    n = len(obs)
    cut = np.flatnonzero(truncated)
    if n and not (terminated[-1] or truncated[-1]):
        cut = np.append(cut, n - 1)
    at = cut + 1
    return (np.insert(obs, at, next_obs[cut], axis=0), np.insert(actions, at, 0.0, axis=0),
            np.insert(rewards, at, 0.0), np.insert(terminated.astype(np.float32), at, 0.0),
            np.insert(np.zeros(n, np.float32), at, 1.0))


def load_data(path: str) -> tuple[dict, dict]:
    """The harness's .npz (no pickle): the row arrays and the statistics."""
    with np.load(path, allow_pickle=False) as data:
        rows = {k: data[k] for k in ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")}
        stats = {"obs_mean": data["obs_mean"], "obs_std": data["obs_std"],
                 "return_min": float(data["return_min"]), "return_max": float(data["return_max"])}
    return rows, stats


def epoch_length(steps: int, at_most: int = 10_000) -> int:
    """The largest divisor of `steps` up to `at_most` (d3rlpy's default epoch): d3rlpy runs
    steps // n_steps_per_epoch epochs, so the epoch must divide the steps."""
    return next(d for d in range(min(at_most, steps), 0, -1) if steps % d == 0)


# ----------------------------------------------------------------------------- one run


def run(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    if args.matmul_precision:
        torch.set_float32_matmul_precision(args.matmul_precision)
    import d3rlpy
    from d3rlpy.logging import NoopAdapterFactory

    rows, stats = load_data(args.data)
    settings = json.loads(args.settings)
    description = d3rlpy_config(args.algo, settings, args.steps, stats)
    d3rlpy.seed(args.seed)
    observations, actions, rewards, terminals, timeouts = episode_layout(**rows)
    dataset = d3rlpy.dataset.MDPDataset(observations, actions, rewards, terminals, timeouts,
                                        action_space=d3rlpy.constants.ActionSpace.CONTINUOUS)
    device = "cuda:0" if args.device == "cuda" else "cpu:0"
    algo = build_algo(description, device)
    marks = {}

    def clock(_algo, _epoch, step):
        if step == args.time_from or step == args.steps:
            if args.device == "cuda":
                torch.cuda.synchronize()
            marks[step] = time.perf_counter()

    began = time.perf_counter()
    algo.fit(dataset, n_steps=args.steps, n_steps_per_epoch=epoch_length(args.steps), experiment_name="bench",
             with_timestamp=False, logger_adapter=NoopAdapterFactory(), show_progress=False,
             save_interval=10 ** 12, callback=clock)
    fit_seconds = time.perf_counter() - began
    window = marks[args.steps] - marks[args.time_from]
    algo.save_policy(args.policy_out)
    try:
        config = json.loads(algo.config.serialize())
    except Exception:  # the record is a convenience; the run stands without it
        config = None
    return {"sps": (args.steps - args.time_from) / window, "timed_steps": args.steps - args.time_from,
            "update_seconds": window, "fit_seconds": fit_seconds, "transitions": int(dataset.transition_count),
            "d3rlpy_config": config, "description": description,
            "versions": versions(), "matmul_precision": torch.get_float32_matmul_precision(),
            "torch_threads": torch.get_num_threads()}


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0]}
    for name in ("d3rlpy", "torch", "numpy", "gymnasium"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the harness's .npz of the dataset")
    parser.add_argument("--algo", choices=ALGOS, required=True)
    parser.add_argument("--settings", required=True, help="rlforge's settings for the algorithm, as JSON")
    parser.add_argument("--steps", type=int, required=True, help="gradient steps")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--time-from", type=int, required=True, help="time the steps after this one")
    parser.add_argument("--matmul-precision", choices=["highest", "high", "medium"],
                        help="torch's float32 matmul precision (default: torch's own)")
    parser.add_argument("--policy-out", required=True, help="where the final policy goes (TorchScript)")
    args = parser.parse_args(argv)
    if not 1 <= args.time_from < args.steps:
        parser.error("--time-from must be at least 1 and below --steps")
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
