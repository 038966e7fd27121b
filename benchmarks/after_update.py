"""What the small per-step work of a SAC iteration costs right after an update, next to the
same call in a tight loop: the update's matrices and torch's code push everything else out of
the CPU caches, so each Python-level operation that follows runs several times slower.

    python benchmarks/after_update.py [--rounds 8] [--calls 100] [--out benchmarks/results/after_update_<date>.json]

Builds the engine as `rlforge train --algo sac --env HalfCheetah-v4` does (one torch thread),
fills the replay buffer, then for each call below, in a shuffled order each round: `--calls`
times (one SAC update on a fixed batch, then the call, timed), and `--calls` times the call
alone. Figures are medians over the rounds of the mean microseconds per call.

  mj_step x5          MuJoCo's physics alone (HalfCheetah steps 5 frames)
  env.step raw        HalfCheetahEnv.step (physics, observation, reward)
  env.step wrapped    the env as gym.make returns it (time limit, checkers)
  SyncVectorEnv.step  the same env in Gymnasium's vector env (what the adapter used before)
  EnvAdapter.step     the adapter rlforge steps (one env: rlforge.single_env.SingleEnv)
  act, torch          SACPolicy.act through its torch modules
  act, NumPy          SACPolicy.act through its NumPy pass (the default on the CPU)
  replay sample       one batch of 256 from the replay buffer
  agent.observe       storing one env step in the replay buffer
  precision block     entering and leaving `matmul_precision` (the engine's block around updates)

Then what makes the difference: HalfCheetah's raw step timed right after other work instead:
nothing, SAC updates on batches of 16, 64 and 256 (the same code, less and less data),
writing 8 MB and 32 MB of memory, a Python loop that only reads the clock for 0.2, 1 and 5 ms
(almost no code or data of its own), and sleeping 5 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import mujoco
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rlforge.envs import make_env
from rlforge.precision import matmul_precision

sys.path.insert(0, str(Path(__file__).parent))
from speed_profile import build_engine, fill  # noqa: E402
from results_json import write_json  # noqa: E402


def step_and_reset(env, action) -> None:
    _, _, terminated, truncated, _ = env.step(action)
    if terminated or truncated:
        env.reset()


def calls_to_time(engine) -> dict:
    env, agent = engine.env, engine.agent
    actions = [env.random_actions() for _ in range(200)]
    wrapped = make_env("HalfCheetah-v4")
    wrapped.reset(seed=0)
    raw = make_env("HalfCheetah-v4").unwrapped
    raw.reset(seed=0)
    vector = SyncVectorEnv([lambda: make_env("HalfCheetah-v4")], autoreset_mode=AutoresetMode.SAME_STEP)
    vector.reset(seed=0)
    step_batch = engine.collector.collect(lambda obs: env.random_actions(), 1)
    policy, obs = agent.policy, engine.collector.obs

    def switch_precision(i):  # the engine's block around each update: the precision set, then restored
        with matmul_precision("highest"):  # (timed inside the updates' "medium", so it switches)
            pass

    def act(numpy_acting: bool):
        def call(i):
            policy.numpy_acting = numpy_acting
            policy.act(obs)
        return call

    return {
        "mj_step x5": lambda i: mujoco.mj_step(raw.model, raw.data, 5),
        "env.step raw": lambda i: raw.step(actions[i % 200][0]),
        "env.step wrapped": lambda i: step_and_reset(wrapped, actions[i % 200][0]),
        "SyncVectorEnv.step": lambda i: vector.step(actions[i % 200]),
        "EnvAdapter.step": lambda i: env.step(actions[i % 200]),
        "act, torch": act(False),
        "act, NumPy": act(True),
        "replay sample": lambda i: agent.buffer.sample(agent.config.batch_size),
        "agent.observe": lambda i: agent.observe(step_batch),
        "precision block": switch_precision,
    }


def preceding_work(engine) -> dict:
    """Work to run before each raw env step: updates of several batch sizes, memory writes."""
    agent = engine.agent
    batches = {size: agent.buffer.sample(size) for size in (16, 64, 256)}
    memory = np.zeros(4_000_000)  # 32 MB

    def update(size: int):
        def run():
            agent._update_critic(batches[size])
            agent._update_actor(batches[size]["obs"])
        return run

    def busy(seconds: float):
        def run():
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                pass
        return run

    return {"nothing": lambda: None, **{f"update, batch {size}": update(size) for size in batches},
            "writing 8 MB": lambda: memory[:1_000_000].__iadd__(1.0), "writing 32 MB": lambda: memory.__iadd__(1.0),
            **{f"Python busy loop, {ms} ms": busy(ms / 1000) for ms in (0.2, 1, 5)},
            "sleeping 5 ms": lambda: time.sleep(0.005)}


def raw_step_after(engine, rounds: int, calls: int) -> dict[str, float]:
    """Median microseconds of HalfCheetah's raw step right after each kind of preceding work."""
    raw = make_env("HalfCheetah-v4").unwrapped
    raw.reset(seed=0)
    actions = [raw.action_space.sample() for _ in range(200)]
    works = preceding_work(engine)
    times = {name: [] for name in works}
    for _ in range(rounds):
        for name in random.sample(list(works), len(works)):
            work, total = works[name], 0.0
            for i in range(calls):
                work()
                start = time.perf_counter()
                raw.step(actions[i % 200])
                total += time.perf_counter() - start
            times[name].append(1e6 * total / calls)
    return {name: round(statistics.median(v), 1) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    engine = build_engine("HalfCheetah-v4", 1, [], total=1 << 40)
    fill(engine)
    agent = engine.agent
    batch = agent.buffer.sample(agent.config.batch_size)
    calls = calls_to_time(engine)
    after = {name: [] for name in calls}
    alone = {name: [] for name in calls}
    clock = time.perf_counter
    with matmul_precision(engine.update_precision):
        for _ in range(10):  # warm-up
            agent._update_critic(batch)
            agent._update_actor(batch["obs"])
        for _ in range(args.rounds):
            for name in random.sample(list(calls), len(calls)):
                call, total = calls[name], 0.0
                for i in range(args.calls):
                    agent._update_critic(batch)
                    agent._update_actor(batch["obs"])
                    start = clock()
                    call(i)
                    total += clock() - start
                after[name].append(1e6 * total / args.calls)
                start = clock()
                for i in range(args.calls):
                    call(i)
                alone[name].append(1e6 * (clock() - start) / args.calls)
        raw_after = raw_step_after(engine, args.rounds, args.calls)
    engine.agent.policy.numpy_acting = True
    result = {
        "command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M"),
        "rounds": args.rounds, "calls": args.calls,
        "us_after_an_update": {name: round(statistics.median(v), 1) for name, v in after.items()},
        "us_in_a_tight_loop": {name: round(statistics.median(v), 1) for name, v in alone.items()},
        "us_raw_env_step_after": raw_after,
    }
    print(f"{'':20s} {'after an update':>16s} {'tight loop':>11s}  (microseconds per call, medians)")
    for name in calls:
        print(f"{name:20s} {result['us_after_an_update'][name]:16.1f} {result['us_in_a_tight_loop'][name]:11.1f}")
    print("\nHalfCheetah's raw step right after: " + ", ".join(f"{k} {v:.1f} us" for k, v in raw_after.items()))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
