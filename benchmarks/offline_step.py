"""Time one offline gradient step of cql, awac and iql (CS285 hw5 settings) on a PointmassHard
dataset of random transitions: the critic's hand-written passes against autograd, interleaved
rounds in one process, one torch thread.

    python benchmarks/offline_step.py --rounds 5 --steps 2000 --out benchmarks/results/offline_step.json
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from results_json import write_json


def random_dataset(n: int, seed: int = 0):
    from rlforge.datasets import Dataset

    rng = np.random.default_rng(seed)
    obs = rng.random((n, 2), dtype=np.float32)
    return Dataset(obs=obs, actions=rng.integers(0, 5, n), rewards=-np.ones(n, np.float32),
                   next_obs=rng.random((n, 2), dtype=np.float32), terminated=np.zeros(n, bool),
                   truncated=np.zeros(n, bool))


def build(algo: str, dataset_path: str, hand_written: bool):
    from gymnasium import spaces

    from rlforge.plugins import get_host

    spec = get_host().registry.algorithm(algo)
    config = spec.config_class()(dataset=dataset_path)
    torch.manual_seed(0)
    agent = spec.build_agent(config, spaces.Box(0.0, 1.0, (2,), np.float32), spaces.Discrete(5), env_id="PointmassHard-v0")
    if not hand_written:
        agent.critic._passes = None  # the autograd path of QCritic
    return agent


def time_steps(agent, steps: int) -> float:
    from rlforge.agent import Progress

    start = time.perf_counter()
    for i in range(steps):
        agent.update(Progress(i + 1, 10**9, i + 1, metrics_due=False, offline=True))
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--algos", default="cql,awac,iql")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    import tempfile

    from rlforge.datasets import save_dataset

    folder = tempfile.mkdtemp()
    path = str(save_dataset(random_dataset(10_000), f"{folder}/random.npz"))
    results = {}
    for algo in args.algos.split(","):
        agents = {"hand_written": build(algo, path, True), "autograd": build(algo, path, False)}
        for agent in agents.values():
            time_steps(agent, 200)  # warm-up
        times = {name: [] for name in agents}
        for _ in range(args.rounds):
            for name, agent in agents.items():
                times[name].append(time_steps(agent, args.steps))
        medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
        results[algo] = {"ms_per_step": medians, "steps_per_s": {k: 1e3 / v for k, v in medians.items()},
                         "speedup": medians["autograd"] / medians["hand_written"], "rounds_ms": {
                             k: [v * 1e3 for v in values] for k, values in times.items()}}
        print(f"{algo}: hand-written {medians['hand_written']:.3f} ms/step, autograd {medians['autograd']:.3f} "
              f"ms/step ({results[algo]['speedup']:.2f}x)")
    if args.out:
        write_json(args.out, {"rounds": args.rounds, "steps": args.steps, "threads": 1, "results": results})


if __name__ == "__main__":
    main()
