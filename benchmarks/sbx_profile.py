"""Where one SBX SAC iteration's time goes (issue 24), the counterpart of speed_profile.py:

    python benchmarks/sbx_profile.py --iterations 1200 --chunk 100 --threads 1 [--out FILE.json]

SBX (SB3's JAX port) with the speed harness's SAC settings (speed_settings.SETTINGS["sac"]:
HalfCheetah-v4, 256-256 networks, batch 256), one XLA intra-op thread. After learning_starts
random steps and a few hundred real iterations (compilation), it times, alternating in chunks of
`--chunk` iterations (each figure the median over its chunks):

  parts      SB3's collect_rollouts loop written out, perf_counter around each piece:
               acting    model._sample_action (obs to jax, the jitted actor and sample, back to numpy)
               env step  the VecEnv's step (DummyVecEnv, Monitor, MuJoCo)
               observe   model._store_transition (the replay buffer's add)
               train     model.train(1, 256): sampling, numpy conversion, the jitted update, four
                         .item() reads, the logger
  sampling   replay_buffer.sample(256) and its conversion to numpy, alone
  floor      the jitted update (`_train`: critic, target, actor, temperature) on one fixed batch,
             waited for: the update XLA runs, with no Python around it but the call
  floor_8    the same at batch 8: nearly all of it is the fixed cost of one call (dispatch,
             argument handling), so floor - floor_8 is about the arithmetic of 248 rows
  iteration  model.learn(chunk) per step: SB3's own loop, callbacks and all

and it counts the kernels of the compiled update: the instructions XLA's CPU backend runs one
after another (fusions, matrix products, custom calls; not parameters, tuples, constants or
bitcasts) in the optimised HLO module.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# XLA instructions that run no kernel of their own
NOT_KERNELS = {"parameter", "tuple", "get-tuple-element", "constant", "bitcast", "copy-start", "copy-done",
               "after-all", "opt-barrier"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=1200)
    parser.add_argument("--chunk", type=int, default=100, help="iterations per alternating chunk")
    parser.add_argument("--threads", type=int, default=1, help="XLA intra-op threads")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.iterations < 1 or args.chunk < 1 or args.threads < 1:
        parser.error("--iterations, --chunk and --threads must be at least 1")
    return args


def build_model(threads: int):
    from speed_peers import make_model
    from speed_settings import SETTINGS

    settings = dict(SETTINGS["sac"])
    model = make_model("sbx", "sac", settings, "cpu")
    model.learn(total_timesteps=settings["learning_starts"] + 300)  # random steps, then compilation
    return model, settings["batch_size"]


def timed_parts(model, n: int, batch_size: int) -> dict[str, list[float]]:
    """n iterations of SB3's collect_rollouts + train, written out, each piece timed."""
    parts = {k: [] for k in ("acting", "env_step", "observe", "train")}
    clock, env, buffer = time.perf_counter, model.env, model.replay_buffer
    for _ in range(n):
        t0 = clock()
        actions, buffer_actions = model._sample_action(model.learning_starts, model.action_noise, env.num_envs)
        t1 = clock()
        new_obs, rewards, dones, infos = env.step(actions)
        t2 = clock()
        model.num_timesteps += env.num_envs
        model._store_transition(buffer, buffer_actions, new_obs, rewards, dones, infos)
        t3 = clock()
        model.train(gradient_steps=1, batch_size=batch_size)
        t4 = clock()
        for key, a, b in (("acting", t0, t1), ("env_step", t1, t2), ("observe", t2, t3), ("train", t3, t4)):
            parts[key].append(b - a)
    return parts


def numpy_batch(model, rows: int):
    """The replay sample SBX's train() hands to the jitted update, converted as it converts it."""
    import numpy as np
    from sbx.common.type_aliases import ReplayBufferSamplesNp

    data = model.replay_buffer.sample(rows, env=model._vec_normalize_env)
    return ReplayBufferSamplesNp(data.observations.numpy(), data.actions.numpy(), data.next_observations.numpy(),
                                 data.dones.numpy().flatten(), data.rewards.numpy().flatten(),
                                 np.full((rows,), model.gamma, dtype=np.float32))


def sampling_time(model, n: int, batch_size: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        numpy_batch(model, batch_size)
    return (time.perf_counter() - start) / n


def update_arguments(model, batch):
    return (model.tau, model.target_entropy, 1, batch, model.policy_delay, 0)


def floor_time(model, n: int, rows: int) -> float:
    """The jitted update alone on one fixed batch, its states carried from call to call."""
    import jax

    batch = numpy_batch(model, rows)
    train = type(model)._train
    states = (model.policy.qf_state, model.policy.actor_state, model.ent_coef_state, model.key)
    jax.block_until_ready(train(*update_arguments(model, batch), *states))  # compiles this batch shape
    start = time.perf_counter()
    for _ in range(n):
        out = train(*update_arguments(model, batch), *states)
        states = out[:4]
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / n


def loop_time(model, n: int) -> float:
    start = time.perf_counter()
    model.learn(total_timesteps=n, reset_num_timesteps=False)
    return (time.perf_counter() - start) / n


def kernel_count(model, rows: int) -> dict[str, int]:
    """Instructions of the optimised HLO of one update, by opcode, outside fused computations."""
    batch = numpy_batch(model, rows)
    states = (model.policy.qf_state, model.policy.actor_state, model.ent_coef_state, model.key)
    jitted = type(model)._train.__func__  # the jax.jit object under the classmethod
    text = jitted.lower(type(model), *update_arguments(model, batch), *states).compile().as_text()
    counts: dict[str, int] = {}
    fused = False
    for line in text.splitlines():
        if line and not line.startswith(" "):  # a computation's header: fused ones hold no kernels of their own
            fused = "fused" in line.split("(")[0] or "fusion" in line.split("(")[0]
            continue
        match = re.match(r"\s+(?:ROOT )?\S+ = \S+ (\S+?)\(", line)
        if fused or not match:
            continue
        opcode = match.group(1)
        if opcode not in NOT_KERNELS:
            counts[opcode] = counts.get(opcode, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def main() -> None:
    args = parse_args()
    os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={args.threads}"
    import importlib.metadata as metadata

    import jax

    from results_json import write_json

    model, batch_size = build_model(args.threads)
    timed_parts(model, 100, batch_size)  # warm-up
    chunk, chunks = args.chunk, max(1, args.iterations // args.chunk)
    rows = {k: [] for k in ("acting", "env_step", "observe", "train", "sampling", "floor", "floor_8", "iteration")}
    for _ in range(chunks):
        parts = timed_parts(model, chunk, batch_size)
        for key, values in parts.items():
            rows[key].append(1e3 * statistics.fmean(values))
        rows["sampling"].append(1e3 * sampling_time(model, chunk, batch_size))
        rows["floor"].append(1e3 * floor_time(model, chunk, batch_size))
        rows["floor_8"].append(1e3 * floor_time(model, chunk, 8))
        rows["iteration"].append(1e3 * loop_time(model, chunk))
    ms = {k: round(statistics.median(v), 3) for k, v in rows.items()}
    parts_sum = sum(ms[k] for k in ("acting", "env_step", "observe", "train"))
    result = {
        "command": "python " + " ".join(sys.argv),
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "load_average": os.getloadavg(), "xla_threads": args.threads,
        "versions": {name: metadata.version(name) for name in ("sbx-rl", "jax", "jaxlib", "flax", "optax")},
        "iterations": chunk * chunks, "ms": ms, "ms_parts_sum": round(parts_sum, 3),
        "ms_train_outside_update": round(ms["train"] - ms["floor"], 3),
        "update_kernels": kernel_count(model, batch_size),
        "jax_backend": jax.default_backend(),
    }
    result["update_kernel_total"] = sum(result["update_kernels"].values())
    for key, value in ms.items():
        print(f"{key:>10}  {value:7.3f} ms")
    print(f"kernels in the compiled update: {result['update_kernel_total']} {result['update_kernels']}")
    if args.out:
        write_json(args.out, result)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
