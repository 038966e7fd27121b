"""`rlforge train ... --seeds 1,2,3`: one run per seed, in parallel up to the core count,
into sibling run directories runs/<algo>/<env>/<time>-s<seed>/.

Each seed is an ordinary `rlforge train` subprocess (its console output goes to
<time>-s<seed>.log beside the run directory); this process shows one progress line per seed,
read from the runs' meta.json and metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from rlforge.console import console
from rlforge.errors import RLForgeError


MAX_SEEDS = 10_000


def parse_seeds(text: str) -> list[int]:
    """"1,2,3" or "1-5" or "1-3,7" as a list of distinct seeds, in order (at most MAX_SEEDS)."""
    seeds: dict[int, None] = {}
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            first, sep, last = part.partition("-")
            values = range(int(first), int(last) + 1) if sep else [int(first)]
            if len(values) + len(seeds) > MAX_SEEDS:
                raise RLForgeError(f"--seeds {text!r} names more than {MAX_SEEDS:,} seeds")
            seeds.update(dict.fromkeys(values))
    except ValueError:
        raise RLForgeError(f"--seeds expects numbers like 1,2,3 or 1-5, got {text!r}") from None
    if not seeds:
        raise RLForgeError(f"--seeds names no seed: {text!r}")
    return list(seeds)


def run_seeds(seeds: list[int], child_args: list[str], algo: str, env_id: str, total_steps: int,
              runs_root: str = "runs", parallel: int | None = None) -> int:
    """Train every seed; returns 0 when all finished, 130 when interrupted, 1 when any failed."""
    parallel = max(1, min(parallel or os.cpu_count() or 1, len(seeds)))
    threads = max(1, (os.cpu_count() or 1) // parallel)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    parent = Path(runs_root) / algo / env_id.replace("/", "_")
    run_dirs = {seed: parent / f"{stamp}-s{seed}" for seed in seeds}
    console.print(f"training {len(seeds)} seeds, {parallel} at a time ({threads} torch thread(s) each), into {parent}/")
    pending, running, codes = list(seeds), {}, {}
    interrupted = False
    with Progress(TextColumn("seed {task.fields[seed]:>3}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), console=console) as bar:
        tasks = {seed: bar.add_task("", total=total_steps, seed=seed, status="waiting") for seed in seeds}
        try:
            while pending or running:
                while pending and len(running) < parallel and not interrupted:
                    seed = pending.pop(0)
                    running[seed] = _start(seed, run_dirs[seed], child_args, threads)
                for seed, process in list(running.items()):
                    step, status = _progress(run_dirs[seed])
                    code = process.poll()
                    if code is not None:
                        codes[seed] = code
                        del running[seed]
                        status = {0: "finished", 130: "stopped"}.get(code, f"failed (exit {code})")
                    bar.update(tasks[seed], completed=step, status=status)
                if interrupted and not running:
                    break
                time.sleep(0.5)
        except KeyboardInterrupt:  # children got the same Ctrl-C: let them checkpoint and stop
            interrupted = True
            for process in running.values():
                process.wait()
    failed = [s for s, c in codes.items() if c not in (0, 130)]
    for seed in failed:
        console.print(f"[red]seed {seed} failed[/]; its output: {run_dirs[seed]}.log")
    if interrupted or any(c == 130 for c in codes.values()):
        console.print("stopped; resume each run with: rlforge train --resume RUN_DIR")
        return 130
    return 1 if failed else 0


def _start(seed: int, run_dir: Path, child_args: list[str], threads: int) -> subprocess.Popen:
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log = open(f"{run_dir}.log", "w")
    command = [sys.executable, "-m", "rlforge.cli", "train", *child_args, "--seed", str(seed),
               "--run-dir", str(run_dir), "--set", f"torch_threads={threads}"]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _progress(run_dir: Path) -> tuple[int, str]:
    try:
        meta = json.loads((run_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return 0, "starting"
    step = meta.get("step", 0)
    try:  # meta.json is only rewritten at checkpoints: the metrics file is fresher
        with open(run_dir / "metrics.csv", "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - 200))
            step = max(step, int(handle.read().decode(errors="ignore").strip().splitlines()[-1].split(",")[0]))
    except (OSError, ValueError, IndexError):
        pass
    last = (meta.get("last_eval") or {}).get("return_mean")
    return step, meta.get("status", "running") + (f", eval {last:.1f}" if last is not None else "")
