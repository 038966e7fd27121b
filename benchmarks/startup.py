"""Start-up time of the CLI (median of repeated runs, each a fresh process):

  help, list     `rlforge --help` and `rlforge list` with every installed plugin. Target:
                 under 0.5 s, with torch never imported.
  train start    `rlforge train --algo ppo --env CartPole-v1` from the launch of the process
                 to its first metric row (one 256-step iteration and its update, logged at
                 once): the imports of torch, gymnasium and the plugin, building the envs and
                 the agent, one iteration. Users wait this long on every run, and the speed
                 harness's PPO time-to-solve includes it.

    python benchmarks/startup.py [--repeat 10]
"""

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = ["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256", "--set", "log_every=256",
         "--set", "eval_every=0", "--set", "eval_episodes=1", "--set", "torch_threads=1"]


def measure(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rlforge.cli", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_start(repeat: int) -> float:
    """Seconds from launching `rlforge train` to the wall time of its first metric row."""
    times = []
    for index in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            run_dir = Path(folder) / f"run{index}"
            launched = time.time()
            subprocess.run([sys.executable, "-m", "rlforge.cli", *TRAIN, "--run-dir", str(run_dir)], check=True,
                           capture_output=True)
            rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
            times.append(min(float(r["wall_time"]) for r in rows) - launched)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    repeat = parser.parse_args().repeat
    listing = json.loads(subprocess.run([sys.executable, "-m", "rlforge.cli", "list", "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    result = {"algorithms": sorted(a["name"] for a in listing),
              "help_seconds": round(measure(["--help"], repeat), 3),
              "list_seconds": round(measure(["list"], repeat), 3),
              "train_start_seconds": round(train_start(repeat), 3)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
