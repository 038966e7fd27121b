r"""Where one DQN step's time goes, with the speed harness's DQN settings on CartPole-v1.

    python benchmarks/dqn_step_profile.py [--steps 3000] [--set hand_written_passes=false] \
        [--out benchmarks/results/dqn_step_profile_<date>.json]

Builds the engine as `rlforge train --algo dqn` does with the settings of benchmarks/speed.py
(2x64 network, batch 128, one gradient step per env step, one env, one torch thread), fills
the replay buffer with 1,200 steps, then times each piece of --steps steps with perf_counter:
acting (epsilon 0.05), the env step, observe (the replay add), sampling a batch, and the
gradient step (target, loss, backward, clipping, Adam). Figures are medians in microseconds;
`iteration` is the median time of the same number of real `Engine.iterate` calls.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

SETS = ["torch_threads=1", "eval_every=0", "log_every=1000", "batch_size=128", "hidden=[64,64]", "lr=1e-3",
        "learning_starts=1000", "train_frequency=1", "updates_per_step=1", "loss=huber", "max_grad_norm=10",
        "target_period=1000", "lr_schedule=constant", "n_step=1", "double_q=false", "buffer_size=100000",
        "epsilon_end=0.02"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    parser.add_argument("--out")
    args = parser.parse_args()

    from rlforge.agent import Transitions
    from rlforge.runs import Run
    from rlforge.training import build_engine, prepare

    engine = build_engine(*prepare("dqn", "CartPole-v1", None, SETS + [f"total_steps={10 * args.steps}"] + args.sets, {}))
    agent, collector, env = engine.agent, engine.collector, engine.env
    run = Run(Path("unused"), "dqn", "CartPole-v1", 1)  # Engine.iterate only counts steps on it; nothing is written
    while run.step < 1200:
        engine.iterate(run)
    agent.policy.epsilon = 0.05
    clock = time.perf_counter
    parts = {name: [] for name in ("acting", "env_step", "observe", "sampling", "gradient_step")}
    for _ in range(args.steps):
        t0 = clock()
        actions = agent.policy.act(collector.obs)
        t1 = clock()
        result = env.step(actions)
        t2 = clock()
        agent.observe(Transitions(collector.obs[None], actions[None], result.rewards[None], result.final_obs[None],
                                  result.terminated[None], result.truncated[None]))
        collector.obs = result.obs
        t3 = clock()
        batch = agent.buffer.sample(agent.config.batch_size)
        t4 = clock()
        agent._gradient_step(batch)
        t5 = clock()
        for name, (start, end) in zip(parts, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
            parts[name].append((end - start) * 1e6)
    iterations = []
    for _ in range(args.steps):
        start = clock()
        engine.iterate(run)
        iterations.append((clock() - start) * 1e6)
    result = {name: round(statistics.median(values), 1) for name, values in parts.items()}
    result["sum_of_parts"] = round(sum(result.values()), 1)
    result["iteration"] = round(statistics.median(iterations), 1)
    print(json.dumps(result))
    if args.out:
        command = "python benchmarks/dqn_step_profile.py --steps " + str(args.steps) + "".join(
            f" --set {s}" for s in args.sets) + f" --out {args.out}"
        with open(args.out, "w") as f:
            json.dump({"_meta": {"command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
                       "us_per_step": result}, f, indent=1)


if __name__ == "__main__":
    main()
