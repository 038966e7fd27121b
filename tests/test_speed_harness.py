"""The speed harness (benchmarks/speed.py) keeps working: a tiny budget of every benchmark on
the rlforge side (always), and next to Stable-Baselines3 where the `bench` extra is installed.
Only the shape of the results is checked; speeds are never asserted in a unit test."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "benchmarks" / "speed.py"
HAS_SB3 = importlib.util.find_spec("stable_baselines3") is not None


def run_harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HARNESS), *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)


def test_rlforge_side_runs_every_benchmark_on_a_tiny_budget(tmp_path):
    out = tmp_path / "speed.json"
    done = run_harness(tmp_path, "--tiny", "--repeats", "1", "--sides", "rlforge", "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["_meta"]["threads"] == 1 and len(results["_meta"]["load_average_before"]) == 3
    for algo in ("sac", "ppo", "dqn"):
        medians = results[algo]["medians"]["rlforge"]
        assert medians["sps"] > 0 and medians["eval_return"] is not None
        assert "ratios" not in results[algo]
    assert "env steps/s" in done.stdout


@pytest.mark.skipif(not HAS_SB3, reason="stable-baselines3 (the bench extra) is not installed")
def test_both_sides_give_ratios(tmp_path):
    out = tmp_path / "speed.json"
    done = run_harness(tmp_path, "--tiny", "--repeats", "1", "--algos", "dqn", "--out", str(out))
    assert done.returncode == 0, done.stderr
    dqn = json.loads(out.read_text())["dqn"]
    assert dqn["ratios"]["sps"] > 0 and dqn["medians"]["sb3"]["eval_return"] is not None


def test_refusals_are_one_line_with_exit_status_2(tmp_path):
    done = run_harness(tmp_path, "--algos", "a2c", "--sides", "rlforge")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "a2c" in done.stderr
    cuda = run_harness(tmp_path, "--device", "cuda", "--sides", "rlforge", "--tiny")
    import torch

    if not torch.cuda.is_available():
        assert cuda.returncode == 2 and "no CUDA device" in cuda.stderr and cuda.stderr.strip().count("\n") == 0


def test_missing_sb3_names_the_bench_extra(monkeypatch, capsys):
    sys.path.insert(0, str(HARNESS.parent))
    try:
        import speed
    finally:
        sys.path.remove(str(HARNESS.parent))
    monkeypatch.setattr(speed, "_has_sb3", lambda: False)
    assert speed.main(["--algos", "dqn", "--tiny"]) == 2
    assert "bench extra" in capsys.readouterr().err
