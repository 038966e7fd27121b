"""`rlforge tune`: Optuna proposes settings, trials are runs, poor trials are pruned on the
evaluation return they report while training.

The "knob" algorithm below holds a constant action `level` on MountainCarContinuous, whose
reward is -0.1 * action^2 per step: its evaluation return is a known, decreasing function
of `level`, so which trials are good, and so should be pruned, is known in advance."""

import json

import pytest
import yaml

from cli_helpers import cli_env, run_cli, write_distribution

pytest.importorskip("optuna")

KNOB = {
    "knob_algo.plugin": '''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        @hookimpl
        def register_algorithms(register):
            register(AlgorithmSpec(name="knob", summary="a constant action", action_spaces=("box",),
                                   config="knob_algo.agent:KnobConfig", agent="knob_algo.agent:KnobAgent"))
    ''',
    "knob_algo.agent": '''
        import time
        from dataclasses import dataclass

        import numpy as np
        import torch

        from rlforge.agent import Agent, Policy
        from rlforge.config import option

        @dataclass
        class KnobConfig:
            level: float = option(0.0, "the constant action")

        class KnobPolicy(Policy):
            def __init__(self, level):
                super().__init__()
                self.level = level
                self.unused = torch.nn.Parameter(torch.zeros(1))

            def act(self, obs, deterministic=False):
                return np.full((len(obs), 1), self.level, dtype=np.float32)

        class KnobAgent(Agent):
            def __init__(self, config, observation_space, action_space, num_envs=1, device="cpu"):
                super().__init__(config, observation_space, action_space, num_envs, device)
                self.steps_per_iteration = 100
                self.policy = KnobPolicy(config.level)

            def observe(self, batch):
                pass

            def update(self, progress):
                time.sleep(0.05)  # long enough for the tuner to read evaluations while it runs
                return {}

            def state_dict(self):
                return {"policy": self.policy.state_dict()}

            def load_state_dict(self, state):
                self.policy.load_state_dict(state["policy"])
    ''',
}

TUNE = {"name": "knob", "algo": "knob", "env": "MountainCarContinuous-v0",
        "set": {"total_steps": 2000, "eval_every": 250, "eval_episodes": 1, "log_every": 250,
                "max_episode_steps": 100},
        "search": {"level": {"uniform": [0.0, 0.9]}}, "seed": 2}


@pytest.fixture
def knob_env(tmp_path):
    return cli_env(write_distribution(tmp_path / "site", "rlforge-knob", {"knob": "knob_algo.plugin"}, KNOB),
                   RLFORGE_LOAD_PLUGINS="knob")


def test_tune_finds_the_best_setting_and_prunes_poor_trials(tmp_path, knob_env):
    (tmp_path / "knob.yaml").write_text(yaml.safe_dump(TUNE))
    # one at a time, so that the seeded sampler's levels (0.39, 0.02, then 0.50, 0.39, 0.38) meet
    # the pruner in a known order: the last three are worse than the median of the first two
    result = run_cli(["tune", "knob.yaml", "--trials", "5", "--workers", "1", "--sampler", "random",
                      "--pruner", "median", "--startup-trials", "2"], cwd=tmp_path, env=knob_env)
    assert result.returncode == 0, result.stderr
    study = json.loads((tmp_path / "tune" / "knob" / "study.json").read_text())
    trials = study["trials"]
    assert len(trials) == 5 and {t["state"] for t in trials} <= {"complete", "pruned"}
    complete = [t for t in trials if t["state"] == "complete"]
    for t in complete:  # the return the run reported is the known function of its level
        assert t["value"] == pytest.approx(-0.1 * t["params"]["level"] ** 2 * 100, rel=1e-3, abs=1e-3)
    assert study["best"]["params"]["level"] == min(t["params"]["level"] for t in complete)
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert [t["number"] for t in pruned] == [2, 3, 4]
    for t in pruned:
        meta = json.loads((tmp_path / "tune" / "knob" / f"trial{t['number']:03d}" / "meta.json").read_text())
        assert meta["status"] == "stopped" and meta["step"] < 2000  # stopped early, resumable
    assert "rlforge train --algo knob" in result.stdout and "level=" in result.stdout


@pytest.mark.parametrize("change, message", [
    ({"search": {"levle": {"uniform": [0, 1]}}}, "unknown config key 'levle'"),
    ({"search": {"level": {"uniform": [1, 0]}}}, "needs [low, high], finite numbers with low < high"),
    ({"grid": {"level": [0.1]}}, "unknown key 'grid' in tune file"),
])
def test_tune_refuses_bad_files_in_one_line(tmp_path, knob_env, change, message):
    (tmp_path / "knob.yaml").write_text(yaml.safe_dump({**TUNE, **change}))
    result = run_cli(["tune", "knob.yaml"], cwd=tmp_path, env=knob_env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "tune").exists()
