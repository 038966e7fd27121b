"""The speed harness (benchmarks/speed.py) keeps working: a tiny budget of every benchmark on
the rlforge side (always), and next to Stable-Baselines3 and SBX where the `bench` and `sbx`
extras are installed.
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
HAS_SBX = importlib.util.find_spec("sbx") is not None
ALGOS = ("sac", "td3", "crossq", "ppo", "dqn")


def run_harness(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HARNESS), *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)


def test_rlforge_side_runs_every_benchmark_on_a_tiny_budget(tmp_path):
    out = tmp_path / "speed.json"
    done = run_harness(tmp_path, "--tiny", "--repeats", "1", "--sides", "rlforge", "--algos", ",".join(ALGOS),
                       "--cpus", "0", "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["_meta"]["threads"] == 1 and len(results["_meta"]["load_average_before"]) == 3
    assert results["_meta"]["cpus"] == [0]
    for algo in ALGOS:
        medians = results[algo]["medians"]["rlforge"]
        assert medians["sps"] > 0 and medians["eval_return"] is not None
        run = results[algo]["runs"]["rlforge"][0]
        # pinned to one core: its CPU time cannot exceed its wall time by more than rounding
        assert 0 < run["cpu_s"] <= run["wall_s"] * 1.05 and run["cores_used"] <= 1.05
        assert "ratios" not in results[algo]
    assert "env steps/s" in done.stdout


@pytest.mark.skipif(not HAS_SB3, reason="stable-baselines3 (the bench extra) is not installed")
def test_both_sides_give_ratios(tmp_path):
    out = tmp_path / "speed.json"
    done = run_harness(tmp_path, "--tiny", "--repeats", "1", "--algos", "dqn", "--out", str(out))
    assert done.returncode == 0, done.stderr
    dqn = json.loads(out.read_text())["dqn"]
    assert dqn["ratios"]["sb3"]["sps"] > 0 and dqn["medians"]["sb3"]["eval_return"] is not None


@pytest.mark.skipif(not HAS_SBX, reason="sbx (the sbx extra) is not installed")
def test_sbx_is_a_third_side(tmp_path):
    out = tmp_path / "speed.json"
    done = run_harness(tmp_path, "--tiny", "--repeats", "1", "--algos", "dqn", "--sides", "rlforge,sbx",
                       "--out", str(out))
    assert done.returncode == 0, done.stderr
    dqn = json.loads(out.read_text())["dqn"]
    assert dqn["ratios"]["sbx"]["sps"] > 0 and dqn["medians"]["sbx"]["cores_used"] > 0


def test_refusals_are_one_line_with_exit_status_2(tmp_path):
    done = run_harness(tmp_path, "--algos", "a2c", "--sides", "rlforge")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "a2c" in done.stderr
    cuda = run_harness(tmp_path, "--device", "cuda", "--sides", "rlforge", "--tiny")
    import torch

    if not torch.cuda.is_available():
        assert cuda.returncode == 2 and "no CUDA device" in cuda.stderr and cuda.stderr.strip().count("\n") == 0


def test_refusals_of_bad_values(tmp_path):
    for args, named in ((["--cpus", "999"], "--cpus 999"), (["--set", "sac.batch_size=big"], "not JSON"),
                        (["--set", "sac.width=3"], "no setting 'width'"), (["--steps", "sac=many"], "sac=many")):
        done = run_harness(tmp_path, "--sides", "rlforge", "--algos", "sac", "--tiny", *args)
        assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and named in done.stderr, done.stderr


def test_a_missing_peer_names_its_extra(monkeypatch, capsys):
    sys.path.insert(0, str(HARNESS.parent))
    try:
        import speed
    finally:
        sys.path.remove(str(HARNESS.parent))
    monkeypatch.setattr(speed, "_installed", lambda module: module != "sb3_contrib")
    assert speed.main(["--algos", "dqn,crossq", "--tiny"]) == 2
    err = capsys.readouterr().err
    assert "sb3-contrib is not installed (sb3's crossq)" in err and "bench extra" in err
    monkeypatch.setattr(speed, "_installed", lambda module: module != "sbx")
    assert speed.main(["--algos", "sac", "--sides", "rlforge,sbx", "--tiny"]) == 2
    assert "sbx-rl is not installed" in capsys.readouterr().err


def test_lean_fused_adam_gives_torchs_fused_adam_numbers_and_state():
    """The speed work's Adam (rlforge.nn.make_adam) is torch's fused Adam with a leaner step:
    the same parameters after many steps, and the same state after a save and load."""
    import torch

    from rlforge.nn import load_optimizer_state, make_adam, mlp, optimizer_state

    def train(make, steps, net=None, state=None):
        torch.manual_seed(0)
        net = net or mlp(8, [32, 32], 4)
        opt = make(net.parameters())
        if state is not None:
            load_optimizer_state(opt, state)
        x = torch.randn(64, 8, generator=torch.Generator().manual_seed(1))
        for _ in range(steps):
            loss = net(x).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return net, opt

    reference, _ = train(lambda p: torch.optim.Adam(p, lr=1e-3, fused=True), 60)
    lean, _ = train(lambda p: make_adam(p, 1e-3), 60)
    half, opt = train(lambda p: make_adam(p, 1e-3), 30)
    saved, weights = optimizer_state(opt), {k: v.clone() for k, v in half.state_dict().items()}
    resumed = mlp(8, [32, 32], 4)
    resumed.load_state_dict(weights)
    resumed, _ = train(lambda p: make_adam(p, 1e-3), 30, resumed, saved)
    for a, b, c in zip(reference.parameters(), lean.parameters(), resumed.parameters()):
        assert torch.equal(a, b) and torch.equal(b, c)


def test_training_with_the_lean_adam_never_imports_torch_dynamo():
    """torch's optimizer methods import torch._dynamo on first use (1.2-1.6 s of start-up);
    the lean Adam's construction, steps, zero_grad, save and load do not."""
    code = (
        "import sys, torch\n"
        "from rlforge.nn import load_optimizer_state, make_adam, mlp, optimizer_state\n"
        "net = mlp(4, [8], 2); opt = make_adam(net.parameters(), 1e-3)\n"
        "for _ in range(3):\n"
        "    opt.zero_grad(); net(torch.randn(5, 4)).pow(2).mean().backward(); opt.step()\n"
        "load_optimizer_state(opt, optimizer_state(opt))\n"
        "opt.zero_grad(); net(torch.randn(5, 4)).pow(2).mean().backward(); opt.step()\n"
        "print('torch._dynamo' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_timing_window_leaves_out_the_first_steps_after_learning_starts():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from speed_settings import SETTINGS, TINY, log_every, timing_window, total_steps

    for algo in ("sac", "td3", "crossq", "dqn"):
        for settings in (SETTINGS[algo], {**SETTINGS[algo], **TINY[algo]}):
            start, end = timing_window(settings)
            assert start == settings["learning_starts"] + settings["settle_steps"] > settings["learning_starts"]
            assert end - start == settings["steps"] and total_steps(algo, settings) == end
            assert start % log_every(settings) == 0 and end % log_every(settings) == 0


def test_rlforge_set_reaches_the_rlforge_side_only(tmp_path):
    done = run_harness(tmp_path, "--sides", "rlforge", "--algos", "sac", "--tiny", "--rlforge-set", "compile_update")
    assert done.returncode == 2 and "--rlforge-set expects KEY=VALUE" in done.stderr
    out = tmp_path / "speed.json"
    done = run_harness(tmp_path, "--sides", "rlforge", "--algos", "sac", "--tiny", "--repeats", "1",
                       "--rlforge-set", "no_such_key=1", "--out", str(out))
    assert done.returncode != 0 and "no_such_key" in done.stderr  # rlforge train saw the key and refused it
    done = run_harness(tmp_path, "--sides", "rlforge", "--algos", "sac", "--tiny", "--repeats", "1",
                       "--rlforge-set", "log_every=100", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["_meta"]["rlforge_sets"] == ["log_every=100"]
