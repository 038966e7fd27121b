"""benchmarks/keep_sweep_results.py keeps a sweep's finished trials (not their checkpoints) in
a folder that `rlforge compare` reads and that a new sweep folder can start from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "keep_sweep_results.py"


def make_trial(sweep: Path, seed: int, status: str, final: float) -> Path:
    trial = sweep / "Pendulum-v1" / "default" / f"s{seed}"
    (trial / "checkpoints" / "step_000000001000").mkdir(parents=True)
    (trial / "checkpoints" / "step_000000001000" / "arrays.npz").write_bytes(b"not small in a real run")
    (trial / "config.yaml").write_text(yaml.safe_dump({"algo": "sac", "env": "Pendulum-v1", "seed": seed}))
    (trial / "meta.json").write_text(json.dumps({"status": status, "step": 2000}))
    (trial / "metrics.csv").write_text(f"step,wall_time,tag,value\n2000,1.0,eval/return_mean,{final}\n")
    return trial


def test_only_finished_trials_are_kept_without_checkpoints_and_compare_reads_them(tmp_path):
    sweep = tmp_path / "sweeps" / "bench"
    sweep.mkdir(parents=True)
    (sweep / "sweep.json").write_text("{}")
    make_trial(sweep, 1, "finished", -150.0)
    make_trial(sweep, 2, "finished", -170.0)
    make_trial(sweep, 3, "stopped", -900.0)
    dest = tmp_path / "kept"
    done = subprocess.run([sys.executable, str(SCRIPT), str(sweep), "--dest", str(dest)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    kept = dest / "bench"
    assert sorted(p.name for p in (kept / "Pendulum-v1" / "default").iterdir()) == ["s1", "s2"]
    assert sorted(p.name for p in (kept / "Pendulum-v1" / "default" / "s1").iterdir()) == [
        "config.yaml", "meta.json", "metrics.csv"]
    assert (kept / "sweep.json").is_file()
    rows = json.loads(run_cli(["compare", str(kept), "--json"], cwd=tmp_path).stdout)
    assert [(r["seeds"], sorted(r["final_values"])) for r in rows] == [(2, [-170.0, -150.0])]


def test_a_folder_that_is_not_a_sweep_is_refused(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--dest", str(tmp_path / "kept")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "not a sweep folder" in done.stderr
    assert not (tmp_path / "kept").exists()
