"""Copy a sweep's finished trials, without their checkpoints, into the repository.

A benchmark sweep (configs/sweeps/benchmarks/) runs for hours and may span sessions on a
machine that keeps nothing outside the repository. What `rlforge compare` and `rlforge plot`
read of a trial is small (meta.json, config.yaml, metrics.csv), so each finished trial is
kept under benchmarks/results/sweeps/<sweep name>/; the table in docs/benchmarks.md is
computed from there. Copying the kept folder back into a new sweep folder makes
`rlforge sweep` skip those trials and run only the rest:

    python benchmarks/keep_sweep_results.py sweeps/offpolicy_100k_td3
    cp -r benchmarks/results/sweeps/offpolicy_100k_td3 sweeps/    # on a new machine, then sweep again
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from rlforge.sweeps.state import trial_status

KEPT_FILES = ("meta.json", "config.yaml", "metrics.csv")
DEFAULT_DEST = Path(__file__).resolve().parent / "results" / "sweeps"


def keep_finished(sweep_dir: Path, dest_root: Path) -> list[Path]:
    """Copy every finished trial's small files; return the trial folders copied."""
    if not (sweep_dir / "sweep.json").is_file():
        print(f"error: {sweep_dir} holds no sweep.json: not a sweep folder", file=sys.stderr)
        raise SystemExit(2)
    dest = dest_root / sweep_dir.name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sweep_dir / "sweep.json", dest / "sweep.json")
    copied = []
    for meta in sorted(sweep_dir.rglob("meta.json")):
        trial = meta.parent
        if "checkpoints" in trial.relative_to(sweep_dir).parts or trial_status(trial) != "finished":
            continue
        target = dest / trial.relative_to(sweep_dir)
        target.mkdir(parents=True, exist_ok=True)
        for name in KEPT_FILES:
            if (trial / name).is_file():
                shutil.copy2(trial / name, target / name)
        copied.append(target)
    return copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="the sweep folder (sweeps/<name>)")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where <name>/ is written")
    args = parser.parse_args()
    for trial in keep_finished(args.sweep_dir, args.dest):
        print(f"kept {trial}")


if __name__ == "__main__":
    main()
