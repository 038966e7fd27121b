"""Shared test helpers: run the CLI in a subprocess, and install throwaway plugin distributions.

A throwaway plugin is a real installed distribution (a *.dist-info folder with METADATA and
entry_points.txt beside its modules) in a temporary folder put on PYTHONPATH of the
subprocess, so importlib.metadata finds it exactly as it finds a pip-installed plugin, and
nothing is left in the test environment afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

RLFORGE = [sys.executable, "-m", "rlforge.cli"]


def write_distribution(root: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str],
                       version: str = "0.1.0") -> Path:
    """Write an installed distribution `dist` into `root`; returns `root` for PYTHONPATH."""
    root.mkdir(parents=True, exist_ok=True)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = ["[rlforge]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in modules.items():
        path = root / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def cli_env(*extra_paths: Path, **variables: str) -> dict:
    env = {**os.environ, **variables}
    paths = [str(p) for p in extra_paths] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("MUJOCO_GL", "egl")
    return env


def run_cli(args: list[str], cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(RLFORGE + list(args), cwd=cwd, env=env or cli_env(), capture_output=True, text=True,
                          timeout=timeout)


# A minimal algorithm used to test the core without any bundled plugin: it acts at random
# and "learns" a running mean of rewards, enough to exercise the engine, logs and checkpoints.
TOY_ALGORITHM = {
    "toy_algo.plugin": '''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        @hookimpl
        def register_algorithms(register):
            register(AlgorithmSpec(name="toy", summary="random actions, running mean of rewards",
                                   action_spaces=("box", "discrete"),
                                   config="toy_algo.config:ToyConfig", agent="toy_algo.agent:ToyAgent"))
    ''',
    "toy_algo.config": '''
        from dataclasses import dataclass
        from rlforge.config import option

        @dataclass
        class ToyConfig:
            rollout: int = option(8, "steps per iteration")
            rate: float = option(0.1, "running-mean rate")
    ''',
    "toy_algo.agent": '''
        import numpy as np
        import torch
        from rlforge.agent import Agent, Policy

        class ToyPolicy(Policy):
            def __init__(self, action_space):
                super().__init__()
                self.action_space = action_space
                self.bias = torch.nn.Parameter(torch.zeros(1))

            def act(self, obs, deterministic=False):
                return np.stack([self.action_space.sample() for _ in range(len(obs))])

        class ToyAgent(Agent):
            def __init__(self, config, observation_space, action_space, num_envs=1, device="cpu"):
                super().__init__(config, observation_space, action_space, num_envs, device)
                self.steps_per_iteration = config.rollout
                self.policy = ToyPolicy(action_space)
                self.mean = 0.0

            def observe(self, batch):
                self.mean += self.config.rate * (float(batch.rewards.mean()) - self.mean)

            def update(self, progress):
                return {"losses/toy": self.mean}

            def state_dict(self):
                return {"mean": self.mean, "policy": self.policy.state_dict()}

            def load_state_dict(self, state):
                self.mean = state["mean"]
                self.policy.load_state_dict(state["policy"])
    ''',
}




# Stops training deterministically through the public hooks: SIGINT to itself right after the
# checkpoint at step $STOP_AT_STEP, as a user's Ctrl-C at that moment would.
STOPPER = {"stopper_plugin": '''
    import os
    import signal

    from rlforge.hookspecs import hookimpl

    fired = []

    @hookimpl
    def on_checkpoint(run, path):
        # once: the stop checkpoint at the same step calls this hook again, and a second
        # SIGINT there stops the run at once (without its stop checkpoint)
        if run.step == int(os.environ["STOP_AT_STEP"]) and not fired:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)
'''}

# Dies by SIGKILL halfway through writing the second checkpoint's arrays file.
KILLER = {"killer_plugin": '''
    import os
    import signal

    import rlforge.checkpoint as checkpoint
    from rlforge.hookspecs import hookimpl

    @hookimpl
    def on_train_start(run, agent, config):
        original, calls = checkpoint._write_synced, []

        def write_then_die(path, write):
            if path.name == checkpoint.ARRAYS_FILE:
                calls.append(path)
                if len(calls) == 2:
                    path.write_bytes(b"PK\\x03\\x04 half a zip")
                    os.kill(os.getpid(), signal.SIGKILL)
            return original(path, write)

        checkpoint._write_synced = write_then_die
'''}


def metric_rows(run_dir: Path, skip_tags=("charts/sps",)) -> list[tuple]:
    """metrics.csv as (step, tag, value) rows, without wall times and speed."""
    import csv

    with open(run_dir / "metrics.csv", newline="") as handle:
        return [(int(r["step"]), r["tag"], r["value"]) for r in csv.DictReader(handle) if r["tag"] not in skip_tags]


def straight_and_resumed_runs(tmp_path: Path, train_args: list[str], plugin: str, stop_at: int) -> tuple[list, list]:
    """Train `train_args` straight, and again stopped by SIGINT right after the checkpoint at
    `stop_at` then resumed; returns both runs' metric rows (straight, resumed) to compare."""
    import json

    stopper = write_distribution(tmp_path / "stopper", "rlforge-stopper", {"stopper": "stopper_plugin"}, STOPPER)
    only_plugin = cli_env(RLFORGE_LOAD_PLUGINS=plugin)
    straight = run_cli(["train", *train_args, "--run-dir", "straight"], cwd=tmp_path, env=only_plugin)
    assert straight.returncode == 0, straight.stderr
    stopped = run_cli(["train", *train_args, "--run-dir", "resumed"], cwd=tmp_path,
                      env=cli_env(stopper, RLFORGE_LOAD_PLUGINS=f"{plugin},stopper", STOP_AT_STEP=str(stop_at)))
    assert stopped.returncode == 130, stopped.stderr
    assert json.loads((tmp_path / "resumed" / "meta.json").read_text())["step"] == stop_at
    resumed = run_cli(["train", "--resume", "resumed"], cwd=tmp_path, env=only_plugin)
    assert resumed.returncode == 0, resumed.stderr
    assert "fresh episodes" not in resumed.stderr
    return metric_rows(tmp_path / "straight"), metric_rows(tmp_path / "resumed")
