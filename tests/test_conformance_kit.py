"""The conformance kit (rlforge.testing) passes a correct plugin and catches each broken contract.

The plugins are throwaway distributions in a temporary folder (see cli_helpers.write_distribution).
Most tests put that folder on sys.path and PYTHONPATH and run the kit in this process, as a plugin
author's test would; one runs it in a fresh process with `check_plugin(..., environ=...)`.
"""

import os
import sys
from pathlib import Path

import pytest

from cli_helpers import cli_env, run_cli, write_distribution
from rlforge.testing import ConformanceError, Report, check_plugin

# A small but real learner: a linear softmax policy trained by Adam on one-step rewards, with a
# NumPy generator for minibatch order. Subclasses break one contract each.
LINEAR_ALGORITHM = {
    "linear_algo.plugin": '''
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        def spec(name, agent, summary):
            return AlgorithmSpec(name=name, summary=summary, action_spaces=("discrete",),
                                 config="linear_algo.config:LinearConfig", agent=f"linear_algo.agent:{agent}")

        @hookimpl
        def register_algorithms(register):
            register(spec("linear", "LinearAgent", "a correct plugin"))
            register(spec("lossy", "LossyAgent", "its checkpoint loses the optimiser state"))
            register(spec("forgetful", "ForgetfulAgent", "saves the optimiser but does not load it"))
            register(spec("unseeded", "UnseededAgent", "draws from an unseeded generator"))
            register(spec("grady", "GradyAgent", "acts with autograd on"))
            register(spec("crashy", "CrashyAgent", "its update raises"))
    ''',
    "linear_algo.config": '''
        from dataclasses import dataclass
        from rlforge.config import option

        @dataclass
        class LinearConfig:
            lr: float = option(0.01, "Adam learning rate")
            rollout: int = option(16, "env steps per update")
    ''',
    "linear_algo.agent": '''
        import numpy as np
        import torch
        from rlforge.agent import Agent, Policy

        class LinearPolicy(Policy):
            def __init__(self, obs_dim, n_actions):
                super().__init__()
                self.linear = torch.nn.Linear(obs_dim, n_actions)

            def act(self, obs, deterministic=False):
                with torch.inference_mode():
                    logits = self.linear(torch.as_tensor(obs, dtype=torch.float32))
                    if deterministic:
                        return logits.argmax(-1).numpy()
                    return torch.multinomial(logits.softmax(-1), 1).squeeze(-1).numpy()

        class LinearAgent(Agent):
            def __init__(self, config, observation_space, action_space, num_envs=1, device="cpu"):
                super().__init__(config, observation_space, action_space, num_envs, device)
                self.steps_per_iteration = config.rollout
                self.policy = LinearPolicy(observation_space.shape[0], int(action_space.n))
                self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
                self.rng = self.make_rng()

            def make_rng(self):
                return np.random.default_rng(torch.initial_seed())

            def observe(self, batch):
                self.batch = batch.flat()

            def update(self, progress):
                order = self.rng.permutation(len(self.batch.rewards))
                obs = torch.as_tensor(self.batch.obs[order])
                actions = torch.as_tensor(self.batch.actions[order])
                logp = self.policy.linear(obs).log_softmax(-1).gather(1, actions[:, None]).squeeze(1)
                loss = -(logp * torch.as_tensor(self.batch.rewards[order])).mean()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                return {"losses/policy": loss.item(), "charts/first": float(order[0])}

            def state_dict(self):
                return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                        "rng": self.rng.bit_generator.state}

            def load_state_dict(self, state):
                self.policy.load_state_dict(state["policy"])
                self.optimizer.load_state_dict(state["optimizer"])
                self.rng.bit_generator.state = state["rng"]

        class LossyAgent(LinearAgent):
            def state_dict(self):
                return {"policy": self.policy.state_dict(), "rng": self.rng.bit_generator.state}

            def load_state_dict(self, state):
                self.policy.load_state_dict(state["policy"])
                self.rng.bit_generator.state = state["rng"]

        class ForgetfulAgent(LinearAgent):
            def load_state_dict(self, state):
                self.policy.load_state_dict(state["policy"])
                self.rng.bit_generator.state = state["rng"]

        class UnseededAgent(LinearAgent):
            def make_rng(self):
                return np.random.default_rng()

        class GradyPolicy(LinearPolicy):
            def act(self, obs, deterministic=False):
                logits = self.linear(torch.as_tensor(obs, dtype=torch.float32))
                return logits.argmax(-1).detach().numpy()

        class GradyAgent(LinearAgent):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.policy = GradyPolicy(self.observation_space.shape[0], int(self.action_space.n))
                self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.config.lr)

        class CrashyAgent(LinearAgent):
            def update(self, progress):
                raise RuntimeError("no learning today")
    ''',
}

# Registration that imports torch (through the agent module) before any run is asked for.
TORCH_AT_REGISTRATION = {
    "torchy_algo": '''
        import linear_algo.agent  # pulls in torch: `rlforge list` would pay for it
        from rlforge.hookspecs import hookimpl
        from rlforge.registry import AlgorithmSpec

        @hookimpl
        def register_algorithms(register):
            register(AlgorithmSpec(name="torchy", summary="imports torch when registering", action_spaces=("discrete",),
                                   config="linear_algo.config:LinearConfig", agent="linear_algo.agent:LinearAgent"))
    ''',
}


@pytest.fixture(scope="module")
def plugins_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    write_distribution(root, "rlforge-linear", {"linear": "linear_algo.plugin"}, LINEAR_ALGORITHM)
    write_distribution(root, "rlforge-torchy", {"torchy": "torchy_algo"}, TORCH_AT_REGISTRATION)
    return root


@pytest.fixture
def installed(plugins_path, monkeypatch):
    """The throwaway plugins visible to this process (and to the kit's registration subprocess)."""
    from rlforge import plugins

    monkeypatch.syspath_prepend(str(plugins_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(plugins_path), os.environ.get("PYTHONPATH")])))
    plugins.reset()
    yield plugins_path
    plugins.reset()
    for name in [m for m in sys.modules if m.split(".")[0] in ("linear_algo", "torchy_algo")]:
        del sys.modules[name]


def check(algo, **kwargs) -> Report:
    return check_plugin(algo, steps=200, raise_on_failure=False, **kwargs)


def statuses(report: Report) -> dict:
    return {r.name: r.status for r in report.results}


def test_a_correct_plugin_passes_every_check_in_a_fresh_process(plugins_path, tmp_path):
    report = check("linear", environ=cli_env(plugins_path), workdir=tmp_path)
    assert report.ok, report.summary()
    assert statuses(report) == {name: "passed" for name in (
        "registers_without_torch", "config_defaults", "trains[CartPole-v1]", "acting[CartPole-v1]",
        "checkpoint_round_trip[CartPole-v1]", "same_seed_same_metrics[CartPole-v1]",
        "resume_continues_run[CartPole-v1]", "refuses[box]")}
    assert report.plugin == "rlforge-linear 0.1.0"
    kept = Path(report.workdir)  # workdir keeps the runs, in a folder of this call's own
    assert kept.parent == tmp_path and (kept / "runs" / "CartPole-v1-a" / "metrics.csv").is_file()
    report.raise_for_failures()  # returns quietly


def test_importing_torch_at_registration_is_caught(installed):
    report = check("torchy", checks=["registers_without_torch"])
    (result,) = report.results
    assert result.status == "failed"
    assert result.reason.startswith("torch is imported while the plugin registers, at ")
    # the line that imports torch, and the plugin module that led there
    assert "linear_algo/agent.py:3 in <module> (imported from " in result.reason
    assert "/torchy_algo.py:2); import torch only in the agent module" in result.reason


def test_the_torch_check_blames_only_the_plugin_under_test(installed):
    # rlforge-torchy (on the same PYTHONPATH) imports torch; rlforge-linear must not be blamed.
    report = check("linear", checks=["registers_without_torch"])
    assert statuses(report) == {"registers_without_torch": "passed"}


def test_a_checkpoint_without_the_optimizer_state_is_caught(installed):
    report = check("lossy", checks=["checkpoint_round_trip"])
    result = report.result("checkpoint_round_trip[CartPole-v1]")
    assert result.status == "failed"
    assert result.reason == ("state_dict() leaves out the state of optimiser agent.optimizer (exp_avg of parameter 0 "
                             "is not among the saved tensors); a resumed run would restart it from zero")
    # the training run it needs was made, but only the checks asked for (and registration) are reported
    assert statuses(report) == {"registers_without_torch": "passed", "checkpoint_round_trip[CartPole-v1]": "failed"}


def test_only_runs_the_named_checks_plus_registration(installed):
    report = check("linear", checks=["resume_continues_run", "refuses"])
    assert statuses(report) == {"registers_without_torch": "passed", "resume_continues_run[CartPole-v1]": "passed",
                                "refuses[box]": "passed"}


def test_a_failed_run_that_a_named_check_needs_fails_that_check(installed):
    report = check("crashy", checks=["checkpoint_round_trip", "same_seed"])
    assert statuses(report) == {"registers_without_torch": "passed", "checkpoint_round_trip[CartPole-v1]": "failed",
                                "same_seed_same_metrics[CartPole-v1]": "failed"}
    for failure in report.failures:  # the reason names the plugin's line
        assert failure.reason.startswith("the training run it needs failed: RuntimeError: no learning today (at ")
        assert "linear_algo/agent.py:" in failure.reason and failure.reason.endswith(" in update)")
    # named, the run is a check of its own, and what depends on it is skipped
    report = check("crashy", checks=["trains", "checkpoint_round_trip"])
    assert statuses(report) == {"registers_without_torch": "passed", "trains[CartPole-v1]": "failed",
                                "checkpoint_round_trip[CartPole-v1]": "skipped"}


def test_a_load_that_ignores_the_optimizer_state_is_caught(installed):
    report = check("forgetful", checks=["checkpoint_round_trip", "resume_continues_run"])
    assert report.result("checkpoint_round_trip[CartPole-v1]").reason == (
        "load_state_dict() does not restore optimiser agent.optimizer (its state is empty after loading); "
        "a resumed run would restart it from zero")
    # resuming through the engine, as `rlforge train --resume` does, shows it too
    resume = report.result("resume_continues_run[CartPole-v1]")
    assert resume.status == "failed" and resume.reason.startswith("resumed at step 112, the run differs from the "
                                                                   "uninterrupted one: at step ")


def test_an_unseeded_generator_is_caught(installed):
    report = check("unseeded", checks=["same_seed_same_metrics", "checkpoint_round_trip"])
    result = report.result("same_seed_same_metrics[CartPole-v1]")
    assert result.status == "failed"
    assert result.reason.startswith("two runs with seed 1 differ: at step ")  # where depends on the draw
    assert "(is an RNG not seeded from the engine's seed?)" in result.reason
    # the generator is saved and restored, so resume is fine: only determinism is broken
    assert report.result("checkpoint_round_trip[CartPole-v1]").status == "passed"


def test_acting_with_autograd_on_is_caught(installed):
    report = check("grady", checks=["acting"])
    assert report.result("acting[CartPole-v1]").reason == (
        "policy.act() builds an autograd graph (linear gave a tensor that requires grad); "
        "act under torch.inference_mode()")


def test_an_unknown_algorithm_fails_registration_and_stops(installed):
    report = check("nope")
    assert statuses(report) == {"registers_without_torch": "failed"}
    assert report.failures[0].reason == ("no algorithm 'nope' is registered; is its distribution installed with "
                                         "an entry point in group 'rlforge'?")


def test_failures_raise_one_error_listing_each(installed):
    with pytest.raises(ConformanceError) as caught:
        check_plugin("lossy", steps=200, checks=["checkpoint_round_trip"])
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert message.splitlines()[0] == "rlforge conformance of 'lossy' (rlforge-linear 0.1.0): 1 of 2 checks failed"
    assert "FAIL checkpoint_round_trip[CartPole-v1]: state_dict() leaves out" in message
    assert caught.value.report.result("registers_without_torch").status == "passed"


def test_the_command_prints_the_report_alone(plugins_path):
    """`rlforge plugin check`: the runs draw no progress bars or evaluation lines around the report."""
    result = run_cli(["plugin", "check", "linear", "--steps", "200", "--only", "trains"], env=cli_env(plugins_path))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "rlforge conformance of 'linear' (rlforge-linear 0.1.0): all 2 checks passed"
    assert [line.split(" (")[0] for line in lines[1:]] == ["  ok   registers_without_torch", "  ok   trains[CartPole-v1]"]
    assert "steps/s" not in result.stderr and "eval" not in result.stderr
