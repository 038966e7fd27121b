"""The offline benchmark against d3rlpy (benchmarks/offline_vs_d3rlpy.py and d3rlpy_side.py): its
own logic without d3rlpy (the settings and their d3rlpy mapping, the data layout d3rlpy reads,
the summary's statistics, the JSON, resuming, refusals), in a few seconds with no training; and,
where the d3rlpy environment exists (.venv-d3rlpy, benchmarks/d3rlpy_env.sh), a few d3rlpy
gradient steps and the evaluation of their policy. Scores and speeds are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from dataset_helpers import make_dataset

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
D3RLPY_PYTHON = ROOT / ".venv-d3rlpy" / "bin" / "python"
HAS_D3RLPY_ENV = D3RLPY_PYTHON.exists()

sys.path.insert(0, str(BENCH))
try:
    import d3rlpy_side as side
    import offline_vs_d3rlpy as harness
finally:
    sys.path.remove(str(BENCH))

STATS = {"obs_mean": [0.5, -1.0, 2.0], "obs_std": [1.0, 2.0, 3.0], "return_min": -10.0, "return_max": 40.0}


def test_d3rlpy_side_imports_neither_rlforge_nor_d3rlpy_at_the_top():
    text = (BENCH / "d3rlpy_side.py").read_text()
    assert "import rlforge" not in text and "from rlforge" not in text
    top = text.split("\ndef ", 1)[0]
    assert "import d3rlpy" not in top and "import torch" not in top


@pytest.mark.parametrize("algo", harness.ALGOS)
def test_settings_are_the_d4rl_presets(algo):
    """The harness's settings are the presets' values for the D4RL locomotion tasks, key by key."""
    for task in ("Hopper", "HalfCheetah", "Walker2d"):
        preset = yaml.safe_load((ROOT / "configs" / algo / f"{task}-v4.yaml").read_text())
        run_keys = {"total_steps", "eval_every", "eval_episodes", "log_every", "dataset"}
        for key, value in preset.items():
            if key not in run_keys:
                assert key in harness.SETTINGS[algo], f"{algo}: preset key {key} missing from the harness"
                assert harness.SETTINGS[algo][key] == pytest.approx(value), f"{algo} {task}: {key}"


def test_iql_mapping():
    d = side.d3rlpy_config("iql", harness.SETTINGS["iql"], 1000, STATS)
    assert d["config"] == "IQLConfig"
    k = d["kwargs"]
    assert k["weight_temp"] == pytest.approx(3.0) and k["expectile"] == 0.7 and k["max_weight"] == 100.0
    assert (k["batch_size"], k["gamma"], k["tau"], k["n_critics"]) == (256, 0.99, 0.005, 2)
    assert k["actor_learning_rate"] == k["critic_learning_rate"] == 3e-4
    assert d["optimizers"]["actor_optim_factory"] == {"cosine_t_max": 1000}  # the actor's cosine over the run
    assert d["optimizers"]["critic_optim_factory"] == {}
    for field in ("actor_encoder_factory", "critic_encoder_factory", "value_encoder_factory"):
        assert d["encoders"][field] == {"hidden_units": [256, 256], "activation": "relu"}
    assert d["observation_scaler"] is None  # normalize_obs false
    assert d["reward_scaler"] == {"return_min": -10.0, "return_max": 40.0, "multiplier": 1000.0}
    constant = side.d3rlpy_config("iql", {**harness.SETTINGS["iql"], "actor_lr_schedule": "constant",
                                          "max_weight": None}, 1000, STATS)
    assert constant["optimizers"]["actor_optim_factory"] == {} and constant["kwargs"]["max_weight"] == float("inf")


def test_cql_mapping():
    d = side.d3rlpy_config("cql", harness.SETTINGS["cql"], 1000, STATS)
    k = d["kwargs"]
    assert d["config"] == "CQLConfig"
    assert k["conservative_weight"] == 10.0 and k["n_action_samples"] == 10
    assert k["alpha_learning_rate"] == 0.0 and k["initial_alpha"] == 1.0  # no Lagrange: alpha stays 1
    assert k["temp_learning_rate"] == 3e-4 and k["initial_temperature"] == 1.0
    assert k["actor_learning_rate"] == 3e-5 and k["critic_learning_rate"] == 3e-4
    assert k["soft_q_backup"] is False and k["max_q_backup"] is False
    assert d["encoders"]["critic_encoder_factory"]["hidden_units"] == [256, 256, 256]
    assert d["encoders"]["actor_encoder_factory"]["hidden_units"] == [256, 256, 256]
    assert d["observation_scaler"] == {"mean": STATS["obs_mean"], "std": STATS["obs_std"]}
    assert d["reward_scaler"]["multiplier"] == 1000.0
    fixed = side.d3rlpy_config("cql", {**harness.SETTINGS["cql"], "auto_temperature": False}, 10, STATS)
    assert fixed["kwargs"]["temp_learning_rate"] == 0.0  # d3rlpy: no temperature optimiser
    assert side.d3rlpy_config("cql", {**harness.SETTINGS["cql"], "backup_entropy": True}, 10,
                              STATS)["kwargs"]["soft_q_backup"] is True


def test_td3bc_mapping():
    d = side.d3rlpy_config("td3bc", harness.SETTINGS["td3bc"], 1000, STATS)
    k = d["kwargs"]
    assert d["config"] == "TD3PlusBCConfig"
    assert (k["alpha"], k["target_smoothing_sigma"], k["target_smoothing_clip"], k["update_actor_interval"]) == \
        (2.5, 0.2, 0.5, 2)
    assert d["observation_scaler"] is not None and d["reward_scaler"] is None


@pytest.mark.parametrize("algo, change, named", [
    ("iql", {"value_lr": 1e-4}, "value_lr"),
    ("iql", {"actor": "tanh_gaussian"}, "actor"),
    ("iql", {"log_std_min": -6.0}, "log-std"),
    ("cql", {"cql_temperature": 2.0}, "cql_temperature"),
    ("cql", {"cql_lagrange": True}, "cql_lagrange"),
    ("cql", {"bc_steps": 100}, "bc_steps"),
    ("cql", {"log_std_min": -5.0}, "log-std"),
    ("td3bc", {"activation": "elu"}, "activation"),
])
def test_unmatchable_settings_are_refused(algo, change, named):
    with pytest.raises(ValueError, match=named):
        side.d3rlpy_config(algo, {**harness.SETTINGS[algo], **change}, 10, STATS)


def _d3rlpy_transitions(obs, actions, rewards, terminals, timeouts):
    """The transitions d3rlpy's MDPDataset and BasicTransitionPicker make of these arrays: an
    episode per run of rows up to a terminal or timeout; row i pairs with row i + 1, the last row
    is a transition only when terminal (next observation zeros)."""
    out, start = [], 0
    for end in np.flatnonzero((terminals > 0) | (timeouts > 0)):
        rows = range(start, end + 1)
        terminal = terminals[end] > 0
        for i in rows if terminal else rows[:-1]:
            last = i == end
            out.append((obs[i], actions[i], rewards[i], np.zeros_like(obs[i]) if last else obs[i + 1], float(last)))
        start = end + 1
    return out


def test_episode_layout_gives_d3rlpy_exactly_rlforges_transitions():
    data = make_dataset(np.random.default_rng(0), lengths=(4, 6, 3, 5), unfinished=2)
    data.truncated[9] = True  # ends the second episode both ways: it terminated
    data.terminated[9] = True
    transitions = _d3rlpy_transitions(*side.episode_layout(data.obs, data.actions, data.rewards, data.next_obs,
                                                           data.terminated, data.truncated))
    assert len(transitions) == len(data)
    for i, (o, a, r, next_o, terminal) in enumerate(transitions):
        assert np.array_equal(o, data.obs[i]) and np.array_equal(a, data.actions[i]) and r == data.rewards[i]
        assert terminal == float(data.terminated[i])
        if not terminal:  # a terminal's next observation is masked on both sides
            assert np.array_equal(next_o, data.next_obs[i])


def test_epoch_length_divides_the_steps():
    assert side.epoch_length(1_000_000) == 10_000 and side.epoch_length(60) == 60
    for steps in (7, 300, 12_345, 250_000):
        n = side.epoch_length(steps)
        assert steps % n == 0 and n <= 10_000


def test_bootstrap_ci():
    assert harness.bootstrap_ci([]) is None and harness.bootstrap_ci([5.0]) == [5.0, 5.0]
    assert harness.bootstrap_ci([2.0, 2.0, 2.0]) == [2.0, 2.0]
    # means of 3 draws from {0, 0, 3}: 0, 1, 2, 3 with chances 8, 12, 6, 1 in 27: the 2.5% and
    # 97.5% percentiles are 0 and 3 (P(mean = 3) = 3.7% > 2.5%)
    assert harness.bootstrap_ci([0.0, 0.0, 3.0]) == [0.0, 3.0]
    values = list(np.random.default_rng(1).normal(50, 10, size=20))
    low, high = harness.bootstrap_ci(values)
    assert low < np.mean(values) < high and high - low < 20
    assert harness.bootstrap_ci(values) == [low, high]  # seeded: the same interval every time


def _run(algo, side_, seed, score, sps, error=None, dataset="d"):
    record = {"algo": algo, "dataset": dataset, "side": side_, "seed": seed}
    if error:
        return {**record, "error": error}
    return {**record, "score": score, "return": score * 10, "sps": sps}


def test_summary_compares_the_sides():
    runs = [_run("iql", "rlforge", 1, 60.0, 300.0), _run("iql", "d3rlpy", 1, 50.0, 100.0),
            _run("iql", "d3rlpy", 2, 52.0, 120.0), _run("iql", "rlforge", 2, 64.0, 360.0),
            _run("iql", "rlforge", 3, None, None, error="boom"), _run("cql", "rlforge", 1, 10.0, 5.0)]
    iql, cql = harness.summarize(runs)
    assert iql["rlforge"]["seeds"] == [1, 2] and iql["rlforge"]["failed"] == 1
    assert iql["rlforge"]["score_mean"] == 62.0 and iql["d3rlpy"]["score_mean"] == 51.0
    assert iql["score_difference"] == 11.0
    assert iql["sps_ratio"] == pytest.approx(330.0 / 110.0)
    assert iql["sps_ratio_median_of_pairs"] == pytest.approx(3.0)  # 300/100 and 360/120
    assert iql["goals"] == {"score_at_least_d3rlpy": True, "sps_at_least_2x": True}
    lo, hi = iql["rlforge"]["score_ci95"]
    assert 60.0 <= lo <= 62.0 <= hi <= 64.0
    assert "d3rlpy" not in cql and "sps_ratio" not in cql  # one side only: nothing to compare


def test_sides_alternate_which_goes_first():
    assert harness.order(0) == ("rlforge", "d3rlpy") and harness.order(1) == ("d3rlpy", "rlforge")


def test_statistics_and_unit_actions_are_rlforges(pendulum_dataset):
    """The observation statistics and the reward scale the d3rlpy side gets are those rlforge's
    own Box agents compute from the same dataset."""
    import gymnasium as gym
    from rlforge.datasets import load_dataset
    from rlforge_offline.box_config import BoxIQLConfig
    from rlforge_offline.box_data import OBS_STD_EPS, BoxOfflineData

    env = gym.make("Pendulum-v1")
    config = BoxIQLConfig(dataset=str(pendulum_dataset), normalize_obs=True)
    ours = BoxOfflineData("iql", config, env.observation_space, env.action_space)
    data = load_dataset(str(pendulum_dataset))
    stats = harness.data_statistics(np.asarray(data.obs, np.float32), data.episode_returns())
    assert np.array_equal(stats["obs_mean"], ours.obs_mean)
    assert np.array_equal((stats["obs_std"] + OBS_STD_EPS).astype(np.float32), ours.obs_std)
    assert 1000.0 / (stats["return_max"] - stats["return_min"]) == pytest.approx(ours.reward_scale)
    low, high = np.array([-2.0, 0.0]), np.array([2.0, 1.0])
    unit = harness.unit_actions(np.array([[-2.0, 0.0], [1.0, 0.75], [3.0, 1.0]]), low, high)
    assert np.allclose(unit, [[-1.0, -1.0], [0.5, 0.5], [1.0, 1.0]])  # mapped, then clipped


@pytest.fixture
def pendulum_dataset(tmp_path):
    """A small Pendulum-v1 dataset (actions in its [-2, 2]) with reference returns."""
    from rlforge.datasets import save_dataset, with_reference_returns

    data = make_dataset(np.random.default_rng(3), lengths=(20, 20, 20, 20), act_dim=1, unfinished=5)
    data.actions = data.actions * 2.0
    data.metadata["env"] = "Pendulum-v1"
    return save_dataset(with_reference_returns(data, random=-1200.0, expert=-150.0), tmp_path / "pendulum.npz")


def _fake_side(calls):
    def fake(algo, s, data, seed, run, workdir):
        calls.append((algo, seed, fake.side))
        return {"sps": 100.0 if fake.side == "rlforge" else 40.0, "return": -600.0, "return_std": 1.0,
                "score": harness.normalized(-600.0, data), "versions": {}}
    return fake


def test_driver_interleaves_writes_json_and_resumes(tmp_path, pendulum_dataset, monkeypatch, capsys):
    calls = []
    rl, d3 = _fake_side(calls), _fake_side(calls)
    rl.side, d3.side = "rlforge", "d3rlpy"
    monkeypatch.setattr(harness, "run_rlforge", rl)
    monkeypatch.setattr(harness, "run_d3rlpy", d3)
    out = tmp_path / "out.json"
    args = ["--dataset", str(pendulum_dataset), "--algos", "iql,td3bc", "--seeds", "1,2", "--steps", "500",
            "--d3rlpy-python", sys.executable, "--work-dir", str(tmp_path / "work"), "--out", str(out)]
    assert harness.main(args) == 0
    assert calls == [("iql", 1, "rlforge"), ("iql", 1, "d3rlpy"), ("td3bc", 1, "rlforge"), ("td3bc", 1, "d3rlpy"),
                     ("iql", 2, "d3rlpy"), ("iql", 2, "rlforge"), ("td3bc", 2, "d3rlpy"), ("td3bc", 2, "rlforge")]
    results = json.loads(out.read_text())
    assert set(results) == {"meta", "settings", "differences", "datasets", "runs", "summary"}
    meta = results["meta"]
    assert meta["steps"] == 500 and meta["threads"] == 1 and meta["timing_from_step"] == 50
    assert len(meta["load_average_before"]) == 3 and "torch" in meta["versions"]
    data = results["datasets"][str(pendulum_dataset)]
    assert data["env"] == "Pendulum-v1" and data["transitions"] == 85 and data["finished_episodes"] == 4
    assert data["reference_returns"] == {"random": -1200.0, "expert": -150.0}
    assert data["action_low"] == [-2.0] and data["action_high"] == [2.0]
    with np.load(data["npz"], allow_pickle=False) as rows:  # what the d3rlpy side reads: plain arrays
        assert rows["obs"].shape == (85, 3) and float(np.abs(rows["actions"]).max()) <= 1.0
        assert rows["obs_mean"].shape == (3,) and float(rows["return_max"]) > float(rows["return_min"])
    assert len(results["runs"]) == 8
    run = results["runs"][0]
    assert {"algo", "dataset", "side", "seed", "setup", "score", "return", "sps", "versions", "load_average_before",
            "load_average_after"} <= set(run)
    assert run["score"] == pytest.approx(100.0 * (-600.0 + 1200.0) / (1050.0))
    assert [(e["algo"], e["sps_ratio"]) for e in results["summary"]] == [("iql", 2.5), ("td3bc", 2.5)]
    assert "rlforge - d3rlpy" in capsys.readouterr().out

    # resumed with one more seed: only the new seed's runs are made
    calls.clear()
    assert args[5] == "1,2"
    assert harness.main([*args[:5], "1,2,3", *args[6:], "--resume"]) == 0
    assert [c[1] for c in calls] == [3, 3, 3, 3] and len(json.loads(out.read_text())["runs"]) == 12
    # resumed with another setup of an algorithm it holds: refused, the file untouched
    before = out.read_text()
    assert harness.main([*args, "--resume", "--set", "iql.expectile=0.9"]) == 2
    assert "iql runs made with another settings" in capsys.readouterr().err and out.read_text() == before


def test_a_failed_run_is_recorded_and_the_benchmark_goes_on(tmp_path, pendulum_dataset, monkeypatch):
    def broken(*args):
        raise RuntimeError("d3rlpy td3bc failed: out of memory")

    calls = []
    rl = _fake_side(calls)
    rl.side = "rlforge"
    monkeypatch.setattr(harness, "run_rlforge", rl)
    monkeypatch.setattr(harness, "run_d3rlpy", broken)
    out = tmp_path / "out.json"
    assert harness.main(["--dataset", str(pendulum_dataset), "--algos", "td3bc", "--seeds", "1,2", "--steps", "100",
                         "--d3rlpy-python", sys.executable, "--out", str(out)]) == 1
    runs = json.loads(out.read_text())["runs"]
    assert len(runs) == 4 and sum("error" in r for r in runs) == 2 and len(calls) == 2
    summary = json.loads(out.read_text())["summary"][0]
    assert summary["d3rlpy"]["failed"] == 2 and "sps_ratio" not in summary


def test_compile_reaches_rlforges_iql_and_td3bc_runs_and_their_setup(tmp_path, pendulum_dataset, monkeypatch):
    commands = []

    def no_run(args, threads, cpus, env):
        commands.append(args)
        return subprocess.CompletedProcess(args, 1, "", "stopped by the test"), 0.0, 0.0

    monkeypatch.setattr(harness, "timed_subprocess", no_run)
    out = tmp_path / "out.json"
    assert harness.main(["--dataset", str(pendulum_dataset), "--algos", "iql,cql,td3bc", "--seeds", "1", "--steps", "100",
                         "--sides", "rlforge", "--compile", "--out", str(out)]) == 1
    compiled = {args[args.index("--algo") + 1]: "compile_update=true" in args for args in commands}
    assert compiled == {"iql": True, "cql": False, "td3bc": True}
    setups = {r["algo"]: r["setup"] for r in json.loads(out.read_text())["runs"]}
    assert setups["iql"]["compile"] and setups["td3bc"]["compile"] and "compile" not in setups["cql"]


def _harness(tmp_path, *args):
    return subprocess.run([sys.executable, str(BENCH / "offline_vs_d3rlpy.py"), *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)


def test_refusals_are_one_line_with_exit_status_2(tmp_path, pendulum_dataset):
    for args, named in ((["--algos", "awac"], "awac"), ([], "--dataset"),
                        (["--set", "cql.cql_temperature=2"], "cql_temperature"),
                        (["--set", "iql.width=3"], "no setting 'width'"),
                        (["--algos", "cql", "--compile"], "--compile applies to iql and td3bc only"),
                        (["--d3rlpy-python", str(tmp_path / "none")], "d3rlpy_env.sh")):
        dataset = [] if named == "--dataset" else ["--dataset", str(pendulum_dataset)]
        done = _harness(tmp_path, *dataset, *args)
        assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and named in done.stderr, done.stderr
    no_refs = make_dataset(np.random.default_rng(4), lengths=(5, 5), act_dim=1)
    no_refs.metadata["env"] = "Pendulum-v1"
    from rlforge.datasets import save_dataset

    path = save_dataset(no_refs, tmp_path / "norefs.npz")
    done = _harness(tmp_path, "--dataset", str(path), "--sides", "rlforge")
    assert done.returncode == 2 and "reference returns" in done.stderr and done.stderr.strip().count("\n") == 0


@pytest.mark.skipif(not HAS_D3RLPY_ENV, reason="no d3rlpy environment (.venv-d3rlpy: bash benchmarks/d3rlpy_env.sh)")
def test_d3rlpy_side_trains_reads_the_same_transitions_and_its_policy_evaluates(tmp_path, pendulum_dataset):
    data = harness.prepare_dataset(str(pendulum_dataset), tmp_path)
    check = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import numpy as np, d3rlpy, d3rlpy_side as s\n"
             f"rows, _ = s.load_data({data['npz']!r})\n"
             "ds = d3rlpy.dataset.MDPDataset(*s.episode_layout(**rows))\n"
             "t = [ds.transition_picker(e, i) for e in ds.episodes for i in range(e.transition_count)]\n"
             "print(len(t), sum(float(x.reward[0]) for x in t), float(sum(x.observation.sum() for x in t)))")
    done = subprocess.run([str(D3RLPY_PYTHON), "-c", check], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    count, reward_sum, obs_sum = done.stdout.split()[-3:]
    with np.load(data["npz"]) as rows:
        assert int(count) == 85
        assert float(reward_sum) == pytest.approx(float(rows["rewards"].sum()), rel=1e-5)
        assert float(obs_sum) == pytest.approx(float(rows["obs"].sum()), rel=1e-5)

    settings = {**harness.SETTINGS["td3bc"], **harness.TINY["td3bc"]}
    run = {"steps": 20, "threads": 1, "cpus": None, "device": "cpu", "eval_episodes": 2, "max_episode_steps": 15,
           "matmul_precision": "own", "d3rlpy_python": str(D3RLPY_PYTHON)}
    result = harness.run_d3rlpy("td3bc", settings, data, 1, run, tmp_path)
    assert result["sps"] > 0 and result["timed_steps"] == 18 and result["transitions"] == 85
    assert result["versions"]["d3rlpy"].startswith("2.8") and result["torch_threads"] == 1
    assert result["d3rlpy_config"]["alpha"] == 2.5 and result["d3rlpy_config"]["update_actor_interval"] == 2
    assert -17 * 15 <= result["return"] <= 0 and result["score"] == pytest.approx(harness.normalized(result["return"], data))
