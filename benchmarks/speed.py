"""Speed next to Stable-Baselines3 and SBX (its JAX port): rlforge and its peers trained side by
side, interleaved, with the same hyperparameters, thread count and cores; median ratios printed
and written as JSON.

    python benchmarks/speed.py --algos sac,ppo,dqn --repeats 3 --threads 1 \
        --out benchmarks/results/speed_<date>.json
    python benchmarks/speed.py --algos sac,td3 --sides rlforge,sb3,sbx --cpus 0   # one core each, pinned
    python benchmarks/speed.py --algos crossq --set crossq.critic_hidden=[1024,1024]
    python benchmarks/speed.py --device cuda --algos sac     # GPU figures, where there is a GPU
    python benchmarks/speed.py --algos dqn --set dqn.train_freq=4 --steps dqn=10000
    python benchmarks/speed.py --algos ppo --repeats 5 --vary-seeds   # PPO time to solve over seeds 1-5
    python benchmarks/speed.py --algos sac --sb3-matmul-precision medium   # SB3 with rlforge's SAC precision
    python benchmarks/speed.py --algos sac --sides rlforge,sbx --rlforge-set compile_update=critic  # rlforge's own keys

  sac, td3, crossq  HalfCheetah-v4: env steps/s over `steps` env steps that begin
       `settle_steps` (1,000) after learning starts, so that one-time costs (SBX compiling its
       update: about 5 s) stay out (batch 256, one critic update per env step; settings in
       speed_settings.py), then the deterministic evaluation return. CrossQ's peer on the SB3
       side is SB3-contrib's.
  ppo  CartPole-v1: wall time from the launch of the process to the first evaluation at or
       above 475, env steps/s (evaluation time left out), and the final evaluation return.
  dqn  CartPole-v1: env steps/s, timed as the off-policy ones (one gradient step per env step), then
       the deterministic evaluation return.

Every run is a fresh subprocess (its own imports and thread settings), pinned to --cpus where
given; for each repeat the harness runs every side in turn, so background load hits all alike.
Each run's CPU time (user + system, from the OS) is recorded beside its wall time: a side that
uses more than the cores it was given shows it. Ratios are rlforge / peer of the medians.
rlforge runs through its CLI (`rlforge train`, as a user would) and is timed from the wall times
of its metrics.csv rows; the peers run `learn` with a callback that records the same moments
(speed_peers.py).

SB3 and SB3-contrib are the `bench` extra, SBX the `sbx` extra; `--sides rlforge` runs rlforge alone.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speed_peers import DISTRIBUTIONS, module_for
from speed_settings import SETTINGS, TARGETS, TINY, rlforge_sets, timing_window, total_steps

HERE = Path(__file__).resolve().parent
PEERS = ("sb3", "sbx")
EXTRAS = {"sb3": "bench", "sbx": "sbx"}
PLUGINS = {"sac": "sac", "crossq": "sac", "td3": "td3", "dqn": "dqn", "ppo": "pg"}

# ----------------------------------------------------------------------------- one run, any side


def timed_subprocess(args: list[str], threads: int, cpus: list[int] | None, extra_env: dict | None = None):
    """Run `args` with the thread limits (and pinned to `cpus` where given); returns the finished
    process, its wall seconds and its CPU seconds (user + system, the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env={**thread_env(threads), **(extra_env or {})},
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, wall, cpu


def thread_env(threads: int) -> dict:
    """The same intra-op thread limit for torch, BLAS and XLA (SBX's JAX)."""
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"}


def run_rlforge(algo: str, s: dict, threads: int, device: str, workdir: Path, index: int,
                cpus: list[int] | None, extra: list[str] = ()) -> dict:
    run_dir = workdir / f"rlforge-{algo}-{index}"
    total = total_steps(algo, s)
    args = [sys.executable, "-m", "rlforge.cli", "train", "--algo", algo, "--env", s["env"], "--steps", str(total),
            "--run-dir", str(run_dir)]
    for key, value in rlforge_sets(algo, s, threads, device).items():
        args += ["--set", f"{key}={_yaml(value)}"]
    for pair in extra:  # --rlforge-set: rlforge's own keys (e.g. compile_update=critic), last so they win
        args += ["--set", pair]
    launched = time.time()
    done, wall, cpu = timed_subprocess(args, threads, cpus, {"RLFORGE_LOAD_PLUGINS": PLUGINS[algo]})
    if done.returncode:
        raise RuntimeError(f"rlforge {algo} failed: {done.stderr.strip()[-2000:]}")
    usage = {"wall_s": wall, "cpu_s": cpu}
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    times = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "charts/sps"}
    evals = [[int(r["step"]), float(r["value"]), float(r["wall_time"])] for r in rows if r["tag"] == "eval/return_mean"]
    if algo == "ppo":
        window = times[total] - times[s["eval_every"]]
        return {**_ppo_summary(s, evals, launched, total, window, _rlforge_eval_seconds(rows, total)), **usage}
    start, end = timing_window(s)
    return {"sps": (end - start) / (times[end] - times[start]), "eval_return": evals[-1][1], **usage}


def run_peer(library: str, algo: str, s: dict, threads: int, device: str, matmul: str, cpus: list[int] | None) -> dict:
    args = [sys.executable, str(HERE / "speed_peers.py"), "--library", library, "--algo", algo,
            "--settings", json.dumps(s), "--threads", str(threads), "--device", device, "--matmul-precision", matmul]
    launched = time.time()
    done, wall, cpu = timed_subprocess(args, threads, cpus)
    if done.returncode:
        raise RuntimeError(f"{library} {algo} failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    usage = {"wall_s": wall, "cpu_s": cpu}
    if algo == "ppo":
        return {**_ppo_summary(s, result["evals"], launched, total_steps(algo, s), result["window"],
                               result["eval_seconds"]), **usage}
    return {**result, **usage}


def _yaml(value) -> str:
    """A --set value: YAML scalars (null, true, numbers, lists), strings bare."""
    return value if isinstance(value, str) else json.dumps(value)


def _rlforge_eval_seconds(rows: list[dict], total: int) -> float:
    """Evaluation time: from the metric row of a step to the end of its evaluation (log_every is
    eval_every, so each evaluation follows its step's metric row). The final evaluation comes
    after the last metric row, outside the training time, so it is not counted."""
    logged = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "charts/sps"}
    ends = {int(r["step"]): float(r["wall_time"]) for r in rows if r["tag"] == "eval/return_mean"}
    return sum(end - logged[step] for step, end in ends.items() if step in logged and step < total)


def _ppo_summary(s: dict, evals: list, launched: float, total: int, window: float, eval_seconds: float) -> dict:
    """evals: [step, mean return, unix time]. Steps/s over the steps from the first evaluation
    period to the end (start-up left out), the evaluations in that window left out."""
    solved = next(([step, t] for step, ret, t in evals if ret >= s["threshold"]), None)
    return {"seconds_to_solve": round(solved[1] - launched, 2) if solved else None,
            "solved_at_step": solved[0] if solved else None,
            "sps": (total - s["eval_every"]) / max(window - eval_seconds, 1e-9),
            "eval_return": evals[-1][1] if evals else None}

# ----------------------------------------------------------------------------- GPU: SAC updates per second


def cuda_updates(s: dict, updates: int) -> dict:
    """rlforge SAC gradient updates (critic + actor) per second on the GPU, eager and compiled."""
    import torch

    results = {}
    for compiled in (False, True):
        code = _CUDA_UPDATES.format(updates=updates, compiled=compiled, batch=s["batch_size"], hidden=s["hidden"])
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if done.returncode:
            results["compile" if compiled else "eager"] = {"error": done.stderr.strip().splitlines()[-1]}
        else:
            results["compile" if compiled else "eager"] = json.loads(done.stdout.strip().splitlines()[-1])
    results["gpu"] = torch.cuda.get_device_name(0)
    return results


_CUDA_UPDATES = """
import json, time, numpy as np, torch, gymnasium as gym
from rlforge_sac.agent import SACAgent
from rlforge_sac.config import SACConfig
env = gym.make("HalfCheetah-v4")
cfg = SACConfig(actor_hidden={hidden}, critic_hidden={hidden}, batch_size={batch}, compile_update={compiled})
agent = SACAgent(cfg, env.observation_space, env.action_space, device="cuda")
rng = np.random.default_rng(0)
n, o, a = 100_000, env.observation_space.shape[0], env.action_space.shape[0]
from rlforge.agent import Transitions
f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
agent.buffer.add(Transitions(f(n, 1, o), np.tanh(f(n, 1, a)), f(n, 1), f(n, 1, o), np.zeros((n, 1), bool), np.zeros((n, 1), bool)))
def run(k):
    for _ in range(k):
        agent._update_critic(agent.buffer.sample({batch}))
        agent._update_actor(agent.buffer.sample({batch})["obs"])
    torch.cuda.synchronize()
run(200)
start = time.perf_counter(); run({updates}); seconds = time.perf_counter() - start
print(json.dumps({{"updates_per_s": {updates} / seconds}}))
"""


# ----------------------------------------------------------------------------- driver


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def bench(algo: str, s: dict, repeats: int, sides: list[str], threads: int, device: str, workdir: Path,
          sb3_matmul: str = "highest", vary_seeds: bool = False, cpus: list[int] | None = None,
          rlforge_extra: list[str] = ()) -> dict:
    runs = {side: [] for side in sides}
    for i in range(repeats):
        seeded = {**s, "seed": i + 1 if vary_seeds else 1}  # every side of a repeat shares its seed
        for side in sides:
            result = (run_rlforge(algo, seeded, threads, device, workdir, i, cpus, rlforge_extra) if side == "rlforge"
                      else run_peer(side, algo, seeded, threads, device, sb3_matmul, cpus))
            result = {"seed": seeded["seed"], **result, "cores_used": result["cpu_s"] / result["wall_s"]}
            runs[side].append({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
            print(f"{algo} repeat {i + 1} {side:>7}: {json.dumps(runs[side][-1])}", flush=True)
    keys = ["sps", "eval_return", "cores_used"] + (["seconds_to_solve", "solved_at_step"] if algo == "ppo" else [])
    medians = {side: {k: median([r[k] for r in rs]) for k in keys} for side, rs in runs.items()}
    out = {"settings": s, "runs": runs, "medians": medians}
    peers = [side for side in sides if side in PEERS]
    if "rlforge" in runs and peers:
        out["ratios"] = {peer: peer_ratios(algo, runs["rlforge"], runs[peer], medians["rlforge"], medians[peer])
                         for peer in peers}
    return out


def peer_ratios(algo: str, ours: list[dict], theirs: list[dict], our_medians: dict, their_medians: dict) -> dict:
    """rlforge / peer: of the medians, and the median of per-repeat ratios (each pair ran back to
    back under similar load)."""
    out = {"sps": ratio(our_medians["sps"], their_medians["sps"]),
           "sps_median_of_pairs": median([ratio(a["sps"], b["sps"]) for a, b in zip(ours, theirs)])}
    if algo == "ppo":
        out["time_to_solve"] = ratio(our_medians["seconds_to_solve"], their_medians["seconds_to_solve"])
    return out


def print_table(results: dict) -> None:
    sides = list(dict.fromkeys(side for algo, r in results.items() if not algo.startswith("_") for side in r["medians"]))
    peers = [side for side in sides if side in PEERS]
    print("\nalgo   measure        " + "".join(f"{side:>10}" for side in sides)
          + "".join(f"{'/ ' + peer:>10}" for peer in peers) + "   targets")
    for algo, r in results.items():
        if algo.startswith("_"):
            continue
        rows = [("env steps/s", "sps", "sps"), ("eval return", "eval_return", None), ("cores used", "cores_used", None)]
        if algo == "ppo":
            rows.insert(0, ("s to solve", "seconds_to_solve", "time_to_solve"))
        for label, key, ratio_key in rows:
            values = "".join(f"{_fmt(r['medians'][side].get(key)) if side in r['medians'] else '':>10}" for side in sides)
            ratios = "".join(f"{_fmt(r.get('ratios', {}).get(peer, {}).get(ratio_key)) if ratio_key else '':>10}"
                             for peer in peers)
            goals = ", ".join(f"{peer} {TARGETS[peer][algo][1]} {TARGETS[peer][algo][2]}" for peer in peers
                              if ratio_key and TARGETS[peer][algo][0] == ratio_key)
            print(f"{algo:<6} {label:<14} {values}{ratios}   {goals}")


def _fmt(v):
    return "-" if v is None else f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"


def parse_steps(text: str | None) -> dict:
    """--steps sac=3000,dqn=20000,ppo=51200"""
    out = {}
    for part in filter(None, (text or "").split(",")):
        algo, _, value = part.partition("=")
        if not value.strip().isdigit():
            raise ValueError(f"--steps {part}: give ALGO=STEPS, e.g. sac=3000")
        out[algo.strip()] = int(value)
    return out


def parse_sets(pairs: list[str], algo: str) -> dict:
    """--set dqn.train_freq=4 --set sac.batch_size=512: the ones for `algo`, values as JSON."""
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        owner, _, key = name.partition(".")
        if owner == algo:
            if key not in SETTINGS[algo]:
                raise ValueError(f"{algo} has no setting {key!r}; settings: {', '.join(SETTINGS[algo])}")
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"--set {pair}: the value is not JSON (e.g. 4, 1e-3, [256, 256], true)") from None
    return out


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("rlforge", "rlforge-sac", "rlforge-td3", "rlforge-pg", "rlforge-dqn", "torch", "gymnasium",
                 "stable-baselines3", "sb3-contrib", "sbx-rl", "jax", "flax", "optax"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def missing_peer(sides: list[str], algos: list[str]) -> str | None:
    """The first peer package a requested (side, algorithm) needs and lacks, as an error line."""
    for side in sides:
        for algo in algos if side in PEERS else []:
            module = module_for(side, algo)
            if not _installed(module):
                return (f"error: {DISTRIBUTIONS[module]} is not installed ({side}'s {algo}): install the "
                        f"{EXTRAS[side]} extra (pip install -e \".[{EXTRAS[side]}]\") or leave {side} out of --sides")
    return None


def parse_cpus(text: str | None) -> list[int] | None:
    """--cpus 0 or 0,1: the cores every run is pinned to."""
    if not text:
        return None
    cpus = sorted({int(x) for x in text.split(",") if x.strip()})
    usable = os.sched_getaffinity(0)
    if not cpus or any(c not in usable for c in cpus):
        raise ValueError(f"--cpus {text}: this process may run on cores {sorted(usable)}")
    return cpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", default="sac,ppo,dqn", help=f"any of {','.join(SETTINGS)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", help="timed env steps per algorithm, e.g. sac=3000,dqn=20000,ppo=51200 "
                                        "(after learning starts and settle_steps for the off-policy ones; the whole budget for ppo)")
    parser.add_argument("--set", action="append", default=[], dest="sets", metavar="ALGO.KEY=VALUE",
                        help="change a shared setting on every side, e.g. dqn.train_freq=4 (a JSON value)")
    parser.add_argument("--rlforge-set", action="append", default=[], dest="rlforge_sets", metavar="KEY=VALUE",
                        help="an rlforge config key for the rlforge side only (e.g. compile_update=critic), "
                             "for every algorithm run")
    parser.add_argument("--threads", type=int, default=1, help="torch, BLAS and XLA threads on every side")
    parser.add_argument("--cpus", help="pin every run to these cores (e.g. 0, or 0,1): the same CPU budget for all")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--sides", default="rlforge,sb3", help="any of rlforge,sb3,sbx (sb3 brings SB3-contrib's CrossQ)")
    parser.add_argument("--tiny", action="store_true", help="a tiny budget that only checks the harness works")
    parser.add_argument("--cuda-updates", type=int, default=5000, help="with --device cuda: SAC updates timed")
    parser.add_argument("--sb3-matmul-precision", choices=["highest", "high", "medium"], default="highest",
                        help="torch's float32 matmul precision in the SB3 runs (default: torch's own, as SB3 ships)")
    parser.add_argument("--vary-seeds", action="store_true",
                        help="repeat i runs seed i on every side (default: seed 1 every time); PPO's time to "
                             "solve depends on the seed's luck as much as on speed, so its median over seeds is the fairer figure")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    sides = [x.strip() for x in args.sides.split(",") if x.strip()]
    algos = [x.strip() for x in args.algos.split(",") if x.strip()]
    unknown = [a for a in algos if a not in SETTINGS] + [x for x in sides if x not in ("rlforge", *PEERS)]
    if unknown:
        print(f"error: unknown algorithm or side {', '.join(unknown)}", file=sys.stderr)
        return 2
    problem = missing_peer(sides, algos)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.device == "cuda" and not _has_cuda():
        print("error: no CUDA device: torch sees none, so there are no GPU figures to measure here", file=sys.stderr)
        return 2
    try:
        cpus = parse_cpus(args.cpus)
        sets = {algo: parse_sets(args.sets, algo) for algo in algos}
        steps = parse_steps(args.steps)
        bad = [pair for pair in args.rlforge_sets if "=" not in pair or not pair.partition("=")[0].strip()]
        if bad:
            raise ValueError(f"--rlforge-set expects KEY=VALUE, got {bad[0]!r}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="rlforge-speed-"))
    results = {"_meta": {
        "command": "python benchmarks/speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": f"{platform.node()} ({os.cpu_count()} cores), "
        f"{platform.processor() or platform.machine()}", "threads": args.threads, "cpus": cpus,
        "device": args.device, "sb3_matmul_precision": args.sb3_matmul_precision, "rlforge_sets": args.rlforge_sets,
        "versions": versions(), "load_average_before": list(os.getloadavg())}}
    for algo in algos:
        s = {**SETTINGS[algo], **(TINY[algo] if args.tiny else {}), **sets[algo]}
        if algo in steps:
            s["steps"] = steps[algo]
        results[algo] = bench(algo, s, args.repeats, sides, args.threads, args.device, workdir,
                              args.sb3_matmul_precision, args.vary_seeds, cpus, args.rlforge_sets)
        results[algo]["load_average_after"] = list(os.getloadavg())
        if algo == "sac" and args.device == "cuda":
            results[algo]["cuda_updates"] = cuda_updates(s, 200 if args.tiny else args.cuda_updates)
        write(results, args.out)  # after each algorithm: a long run stopped later keeps what it measured
    results["_meta"]["load_average_after"] = list(os.getloadavg())
    print_table(results)
    write(results, args.out)
    if args.out:
        print(f"\nwrote {args.out}")
    return 0


def write(results: dict, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


if __name__ == "__main__":
    sys.exit(main())
