"""Start-up time of `rlforge --help` and `rlforge list` with every installed plugin (median of
repeated runs, each a fresh process). Target: under 0.5 s, with torch never imported.

    python benchmarks/startup.py [--repeat 10]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time


def measure(args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rlforge.cli", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    repeat = parser.parse_args().repeat
    listing = json.loads(subprocess.run([sys.executable, "-m", "rlforge.cli", "list", "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    result = {"algorithms": sorted(a["name"] for a in listing),
              "help_seconds": round(measure(["--help"], repeat), 3),
              "list_seconds": round(measure(["list"], repeat), 3)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
