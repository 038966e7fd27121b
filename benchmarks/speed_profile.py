"""Where one SAC iteration's time goes, next to the floor (the bare update math in a tight loop).

    python benchmarks/speed_profile.py --env HalfCheetah-v4 --iterations 2000 --threads 1 \
        [--set compile_update=true|critic|whole] [--out benchmarks/results/speed_profile_<date>.json]
    python benchmarks/speed_profile.py --torch-profiler [--set compile_update=whole]
        # operator table of 100 bare updates (compiled kernels named)

Builds the engine exactly as `rlforge train --algo sac` does (preset, 1 env), fills the replay
buffer with `learning_starts` random steps, then times `--iterations` engine iterations piece
by piece with perf_counter around each part of the loop:

  env step     EnvAdapter.step (MuJoCo plus the adapter's bookkeeping)
  acting       policy.act on the current observation
  collect      the rest of Collector.collect (stacking the step into Transitions)
  observe      agent.observe (normalising actions, the replay buffer's add)
  sampling     buffer.sample (one index array, five gathers, tensors)
  critic       _update_critic (target, loss, backward, fused Adam, Polyak update); with
               `--set compile_update=whole` the whole compiled update (critic, target, actor, temperature)
  actor        _update_actor (actor and temperature losses, backward, Adam); 0 with compile_update=whole
  metrics      the metric dict of an iteration (one stack and tolist)
  engine       the engine's per-iteration bookkeeping (episode stats, periodic work)

Then the same number of iterations of `Engine.train`'s real loop (no instrumentation) give
the actual time per iteration, and the floor: `_update_critic` + `_update_actor` on one fixed
batch in a tight loop (no env, no sampling, no metrics), and the env step alone (random
actions, in a tight loop). The four measurements alternate in chunks of `--chunk` iterations
(the machine is shared) and each figure is the median over its chunks; the paired ratio is the
median over rounds of each round's own ratio. Goal: an iteration within 15% of env step + floor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from rlforge.precision import matmul_precision

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402


def build_engine(env_id: str, threads: int, overrides: list[str], total: int):
    from rlforge.training import build_engine as build, prepare

    sets = [f"torch_threads={threads}", f"total_steps={total}", "eval_every=0", "log_every=1000", *overrides]
    return build(*prepare("sac", env_id, None, sets, {}))


def timed_iterations(engine, n: int) -> dict[str, list[float]]:
    """n engine iterations with each piece timed separately (the work of Engine.train)."""
    import torch

    from rlforge.agent import Transitions

    agent, collector, env = engine.agent, engine.collector, engine.env
    whole = getattr(agent, "_compile_whole", False)  # compile_update: whole: one step, timed as "critic"
    parts = {k: [] for k in ("env_step", "acting", "collect", "observe", "sampling", "critic", "actor", "metrics")}
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        actions = agent.policy.act(collector.obs)
        t1 = clock()
        result = env.step(actions)
        t2 = clock()
        batch = Transitions(collector.obs[None], actions[None], result.rewards[None], result.final_obs[None],
                            result.terminated[None], result.truncated[None])
        collector.obs = result.obs
        t3 = clock()
        agent.observe(batch)
        t4 = clock()
        sample = agent.buffer.sample(agent.config.batch_size)
        t5 = clock()
        with matmul_precision(engine.update_precision):  # as the engine runs agent.update
            if whole:
                loss, q_mean = agent._update_whole(sample)
                t6 = clock()
                actor_loss, entropy, temperature_loss = agent._actor_losses_last
            else:
                loss, q_mean = agent._update_critic(sample)
                t6 = clock()
                actor_loss, entropy, temperature_loss = agent._update_actor(sample["obs"])
        t7 = clock()
        torch.stack([loss, q_mean, actor_loss, entropy, temperature_loss]).tolist()
        t8 = clock()
        for key, a, b in (("acting", t0, t1), ("env_step", t1, t2), ("collect", t2, t3), ("observe", t3, t4),
                          ("sampling", t4, t5), ("critic", t5, t6), ("actor", t6, t7), ("metrics", t7, t8)):
            parts[key].append(b - a)
    return parts


def engine_loop_time(engine, n: int) -> float:
    """Seconds per iteration of Engine.train's own loop body (collect, observe, update, log)."""
    class Bar:
        def update(self, *a, **k):
            pass

    class Logger:
        def scalars(self, *a, **k):
            pass

        def scalar(self, *a, **k):
            pass

    class Run:
        step = iteration = episodes = 0

    run, bar, logger = Run(), Bar(), Logger()
    run.step = engine.agent.config.learning_starts + 10_000
    engine.next_log = run.step + 1000
    engine.next_eval = engine.next_checkpoint = engine.next_video = 1 << 62
    engine._window = (time.perf_counter(), run.step)
    start = time.perf_counter()
    for _ in range(n):
        metrics = engine.iterate(run)
        engine._log_episodes(run, logger)
        engine._periodic_work(run, logger, bar, None, metrics)
    return (time.perf_counter() - start) / n


def floor_time(engine, n: int) -> float:
    """The bare update math: critic + actor (+ target) on one fixed batch, in a tight loop."""
    agent = engine.agent
    batch = agent.buffer.sample(agent.config.batch_size)
    whole = getattr(agent, "_compile_whole", False)
    with matmul_precision(engine.update_precision):
        start = time.perf_counter()
        for _ in range(n):
            if whole:
                agent._update_whole(batch)
            else:
                agent._update_critic(batch)
                agent._update_actor(batch["obs"])
        return (time.perf_counter() - start) / n


def print_floor_profile(engine, n: int = 100) -> None:
    """torch.profiler's operator table (self time) of `n` bare updates."""
    import torch

    with torch.profiler.profile() as profile:
        floor_time(engine, n)
    print(profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=25, max_name_column_width=60))


def env_only_time(engine, n: int) -> float:
    env = engine.env
    actions = [env.random_actions() for _ in range(n)]
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    return (time.perf_counter() - start) / n


def fill(engine) -> None:
    """learning_starts random steps into the buffer, as the engine's warm-up would."""
    agent = engine.agent
    batch = engine.collector.collect(lambda obs: engine.env.random_actions(), agent.config.learning_starts)
    agent.observe(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="HalfCheetah-v4")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=200, help="iterations per alternating chunk")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], dest="sets", help="extra SAC/engine config key=value")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--torch-profiler", action="store_true",
                        help="instead: print torch.profiler's table of 100 bare updates (where the floor goes)")
    args = parser.parse_args()

    from rlforge.errors import RLForgeError

    try:
        engine = build_engine(args.env, args.threads, args.sets, total=1 << 40)
    except RLForgeError as error:  # an unknown env or a bad --set: one line, exit status 2
        parser.error(str(error))
    fill(engine)
    if args.torch_profiler:  # name each compiled C++ kernel in the table (compilation is at the warm-up)
        import torch._inductor.config as inductor_config

        inductor_config.cpp.enable_kernel_profile = True
    timed_iterations(engine, 200)  # warm-up (and compilation, where switched on)
    if args.torch_profiler:
        print_floor_profile(engine)
        return
    # The machine is shared: the three measurements alternate in chunks, and each figure is
    # the median over its chunks, so a burst of background load hits all three alike.
    chunk, chunks = args.chunk, max(1, args.iterations // args.chunk)
    part_chunks, loop_chunks, floor_chunks, env_chunks = [], [], [], []
    for _ in range(chunks):
        parts = timed_iterations(engine, chunk)
        part_chunks.append({k: 1e3 * statistics.fmean(v) for k, v in parts.items()})
        loop_chunks.append(1e3 * engine_loop_time(engine, chunk))
        floor_chunks.append(1e3 * floor_time(engine, chunk))
        env_chunks.append(1e3 * env_only_time(engine, chunk))
    per_part = {k: statistics.median(c[k] for c in part_chunks) for k in part_chunks[0]}
    loop, floor = statistics.median(loop_chunks), statistics.median(floor_chunks)
    env_ms = statistics.median(env_chunks)
    instrumented = sum(per_part.values())
    n = chunk * chunks
    result = {
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "load_average": os.getloadavg(), "threads": args.threads,
        "update_matmul_precision": engine.update_precision, "env": args.env, "iterations": n,
        "ms_per_part": {k: round(v, 3) for k, v in per_part.items()},
        "ms_instrumented_sum": round(instrumented, 3),
        "ms_engine_iteration": round(loop, 3),
        "ms_engine_overhead": round(loop - instrumented, 3),
        "ms_floor_update": round(floor, 3),
        "ms_env_step_alone": round(env_ms, 3),
        "iteration_over_env_plus_floor": round(loop / (floor + env_ms), 3),
        # the same ratio within each round of the four measurements, then the median over rounds:
        # paired, so a slower or faster stretch of the shared machine cancels out
        "iteration_over_env_plus_floor_paired": round(statistics.median(
            lp / (fl + en) for lp, fl, en in zip(loop_chunks, floor_chunks, env_chunks)), 3),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
