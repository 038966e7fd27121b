"""The conformance kit: one call checks an algorithm plugin against rlforge's contracts.

    from rlforge.testing import check_plugin
    check_plugin("myalgo")      # raises ConformanceError listing every failed check

The checks (each reported with a one-line reason when it fails):

  registers_without_torch     in a fresh process, the plugin registers (and its config class
                              imports) without importing torch, so `rlforge list` stays fast
  config_defaults             the config is a dataclass whose defaults build and resolve (with
                              the plugin's presets) for each small env; shipped presets are valid
  trains[ENV]                 a few hundred steps through the core engine on a small env of each
                              action space the algorithm claims: update() reports finite metrics
                              and the policy's parameters change
  acting[ENV]                 policy.act(obs) returns a NumPy array of valid actions, builds no
                              autograd graph, and is repeatable with deterministic=True
  checkpoint_round_trip[ENV]  state_dict() survives rlforge.checkpoint save/load, holds the
                              optimisers' state, loads into a fresh agent (same tensors, same
                              deterministic actions), and one more update continues identically
  same_seed_same_metrics[ENV] two runs with the same seed write the same metrics.csv
  resume_continues_run[ENV]   a run resumed from a mid-run checkpoint in a fresh engine (as
                              `rlforge train --resume` does) writes the same metrics as one
                              that was never interrupted
  refuses[KIND]               `prepare` on an env of an action space the algorithm does not claim
                              raises an RLForgeError naming the algorithm and the space kind

Checks run in this process, except the registration check (always a fresh process). Pass
`environ=` to run everything in a fresh process with those environment variables, e.g. for a
plugin that is only on a PYTHONPATH.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import rlforge
from rlforge.errors import RLForgeError
from rlforge.testing.report import CheckResult, Report
from rlforge.testing.state import (as_cpu_tensor, diff_states, find_optimizers, leaves, optimizer_moments,
                                   requires_grad, snapshot)

SMALL_ENVS = {"box": "Pendulum-v1", "discrete": "CartPole-v1"}  # one small env per action space kind
ENGINE_TAGS = ("charts/episode_return", "charts/episode_length", "charts/sps")  # written by the engine
NONDETERMINISTIC_TAGS = ("charts/sps",)
CORE_DIR = str(Path(rlforge.__file__).resolve().parent)
LIBRARY_MARKERS = (os.sep + "torch" + os.sep, os.sep + "numpy" + os.sep, os.sep + "gymnasium" + os.sep,
                   os.sep + "importlib" + os.sep, os.sep + "pluggy" + os.sep, os.sep + "rlforge" + os.sep + "testing")


class _Failed(Exception):
    """Raised inside a check: the check failed with this one-line reason."""

    def __init__(self, reason: str, details: str = ""):
        super().__init__(reason)
        self.reason, self.details = reason, details


class _Skipped(Exception):
    """Raised inside a check: it does not apply (the reason says why)."""


# ----------------------------------------------------------------------------- public API


def small_overrides(config_class=None, steps: int = 300, seed: int = 1, agent_values: dict | None = None) -> dict:
    """The config values the kit trains with: `steps` env steps on one env, CPU, one torch
    thread, evaluation only at the end (2 episodes), four metric rows, no periodic checkpoints;
    and, where the algorithm's config has them, `learning_starts` and `random_steps` cut to a
    third of the steps, `batch_size` to 32 and `buffer_size` to 10,000.

    `agent_values` are the algorithm's values before shrinking (the defaults of `config_class`
    when not given). Pass `overrides=` to `check_plugin` to add or replace any of these.
    """
    values = {"total_steps": steps, "seed": seed, "num_envs": 1, "vector_mode": "sync", "eval_every": 0,
              "eval_episodes": 2, "log_every": max(1, steps // 4), "checkpoint_every": 0, "keep_checkpoints": 1,
              "device": "cpu", "torch_threads": 1}
    if agent_values is None:
        try:
            agent_values = dataclasses.asdict(config_class()) if config_class is not None else {}
        except Exception:
            agent_values = {}
    caps = {"learning_starts": steps // 3, "random_steps": steps // 3, "batch_size": 32, "buffer_size": 10_000}
    for key, cap in caps.items():
        value = agent_values.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > cap:
            values[key] = cap
    return values


def check_plugin(algo: str, *, envs: list[str] | None = None, steps: int = 300, overrides: dict | None = None,
                 seed: int = 1, checks: list[str] | None = None, workdir: str | os.PathLike | None = None,
                 environ: dict | None = None, raise_on_failure: bool = True, timeout: float = 900) -> Report:
    """Check algorithm `algo` against rlforge's plugin contracts; see the module docstring.

    envs      env ids to train on (default: Pendulum-v1 for "box", CartPole-v1 for "discrete",
              one per action space kind the algorithm claims)
    steps     env steps per training run (the kit makes two runs on the first env)
    overrides config values applied over `small_overrides(...)` (e.g. tiny networks)
    checks    names (or name prefixes, e.g. "trains") of the checks to run; default all
    workdir   keep the runs in a new folder inside this one (default: a temporary folder,
              deleted afterwards); the report's `workdir` names it
    environ   run the whole kit in a fresh Python process whose environment is this mapping
              (the complete environment: e.g. {**os.environ, "PYTHONPATH": folder} for a plugin
              that is only on a PYTHONPATH)

    Returns the Report; raises ConformanceError (an AssertionError) if any check failed and
    `raise_on_failure` is true.
    """
    options = {"envs": list(envs) if envs else None, "steps": int(steps), "overrides": dict(overrides or {}),
               "seed": int(seed), "checks": list(checks) if checks else None,
               "workdir": str(workdir) if workdir is not None else None}
    if environ is not None:
        report = _check_in_subprocess(algo, options, dict(environ), timeout)
    else:
        report = _Checker(algo, **options).run()
    return report.raise_for_failures() if raise_on_failure else report


# ----------------------------------------------------------------------------- subprocess mode


def _check_in_subprocess(algo: str, options: dict, environ: dict, timeout: float) -> Report:
    with tempfile.TemporaryDirectory(prefix="rlforge-kit-") as tmp:
        out = Path(tmp) / "report.json"
        code = "from rlforge.testing.kit import _subprocess_main; _subprocess_main()"
        try:
            proc = subprocess.run([sys.executable, "-c", code, json.dumps({"algo": algo, **options}), str(out)],
                                  env=environ, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Report(algo, [CheckResult("kit", "failed", f"the kit's process did not finish in {timeout:.0f} s")])
        if out.is_file():
            return Report.from_dict(json.loads(out.read_text()))
        lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
        last = lines[-1] if lines else "no output"
        return Report(algo, [CheckResult("kit", "failed", f"the kit's process exited with {proc.returncode}: {last}",
                                         details=proc.stderr[-6000:])])


def _subprocess_main() -> None:
    options = json.loads(sys.argv[1])
    report = _Checker(options.pop("algo"), **options).run()
    Path(sys.argv[2]).write_text(json.dumps(report.to_dict()))


# ----------------------------------------------------------------------------- helpers


def _short(path: str) -> str:
    try:
        relative = os.path.relpath(path)
        if not relative.startswith(".." + os.sep):
            return relative
    except ValueError:
        pass
    return os.sep.join(Path(path).parts[-3:])


def _is_library(filename: str) -> bool:
    stdlib = os.path.dirname(os.__file__)
    return (filename.startswith("<") or filename.startswith(stdlib + os.sep) and "site-packages" not in filename
            or any(marker in filename for marker in LIBRARY_MARKERS) or filename.startswith(CORE_DIR + os.sep))


def _blame(frames: list[tuple[str, int, str]]) -> str:
    """'plugin/file.py:12 in fn' for the innermost frame outside rlforge and the libraries."""
    if not frames:
        return ""
    outside = [f for f in frames if not _is_library(f[0])]
    filename, lineno, name = (outside or frames)[-1]
    return f"{_short(filename)}:{lineno} in {name}"


def _describe(exc: BaseException) -> str:
    """One line: the exception, and where in the plugin's code it came from."""
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    where = _blame(frames)
    return f"{message} (at {where})" if where else message


def _action_problem(actions, n: int, space) -> str | None:
    """Why `actions` are not n valid actions of `space`, or None."""
    import numpy as np
    from gymnasium import spaces

    if not isinstance(actions, np.ndarray):
        return f"returned a {type(actions).__name__}, not a NumPy array"
    expected = (n, *space.shape)
    if actions.shape != expected:
        return f"returned actions of shape {actions.shape} for {n} observations, expected {expected}"
    if isinstance(space, spaces.Discrete):
        if not np.issubdtype(actions.dtype, np.integer):
            return f"returned {actions.dtype} actions; a Discrete space needs integers"
        if actions.min() < space.start or actions.max() >= space.start + space.n:
            return f"returned actions outside {space}"
    elif isinstance(space, spaces.Box):
        if not np.all(np.isfinite(actions)):
            return "returned non-finite actions"
        low, high = np.broadcast_to(space.low, expected), np.broadcast_to(space.high, expected)
        if np.any(actions < low - 1e-6) or np.any(actions > high + 1e-6):
            return f"returned actions outside the bounds of {space}"
    return None


# The registration check runs this in a fresh interpreter: it records where torch was first
# imported (if it was), builds the registry, then imports the algorithm's config class.
_REGISTRATION_PROBE = r"""
import json, sys, traceback
first = []

class _TorchSpy:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not first:
            first.append([(f.filename, f.lineno, f.name) for f in traceback.extract_stack()[:-1]])
        return None

sys.meta_path.insert(0, _TorchSpy())
result = {}
from rlforge.plugins import get_registry
registry = get_registry()
spec = registry.algorithms.get(sys.argv[1])
result["found"] = spec is not None
result["failed"] = [[p.name, p.distribution, p.error] for p in registry.plugins if p.status == "failed"]
result["torch_at_registration"] = first[0] if first else None
if spec is not None and not first:
    try:
        spec.config_class()
    except Exception as exc:
        result["config_error"] = f"{type(exc).__name__}: {exc}"
    result["torch_at_config"] = first[0] if first else None
with open(sys.argv[2], "w") as handle:
    json.dump(result, handle)
"""


@dataclass
class _Trained:
    engine: object
    run: object
    rows: list[dict]
    env_id: str
    initial_policy: dict  # the policy's state_dict before training


class _Checker:
    def __init__(self, algo: str, envs=None, steps: int = 300, overrides=None, seed: int = 1, checks=None,
                 workdir=None):
        self.algo, self.envs, self.steps, self.user_overrides = algo, envs, steps, dict(overrides or {})
        self.seed, self.selected = seed, checks
        self.keep = workdir is not None
        if workdir is not None:  # a fresh folder of its own inside, so that calls never collide
            Path(workdir).mkdir(parents=True, exist_ok=True)
            self.workdir = Path(tempfile.mkdtemp(prefix=f"{algo}-", dir=Path(workdir).resolve()))
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="rlforge-kit-"))
        self.report = Report(algo)
        self.spec = None
        self.engines = []
        self.built: _Trained | None = None  # the last engine built, trained or not

    # ------------------------------------------------------------------ running checks

    def wanted(self, name: str) -> bool:
        return self.selected is None or any(name == s or name.startswith(s) for s in self.selected)

    def check(self, name: str, function, *args, skip: str | None = None, force: bool = False):
        """Run one check; record passed / failed (with a reason) / skipped. Returns its value."""
        if not (force or self.wanted(name)):
            return None
        if skip:
            self.report.results.append(CheckResult(name, "skipped", skip))
            return None
        start = time.perf_counter()
        try:
            value = function(*args)
            result = CheckResult(name, "passed")
        except _Skipped as skipped:
            value, result = None, CheckResult(name, "skipped", str(skipped))
        except _Failed as failure:
            value, result = None, CheckResult(name, "failed", failure.reason, details=failure.details)
        except Exception as exc:
            value = None
            result = CheckResult(name, "failed", _describe(exc), details=traceback.format_exc())
        result.seconds = time.perf_counter() - start
        self.report.results.append(result)
        return value if result.status == "passed" else None

    def run(self) -> Report:
        saved = self._save_globals()
        try:
            self._run()
        finally:
            for engine in self.engines:
                try:
                    engine.close()
                except Exception:
                    pass
            self._restore_globals(saved)
            if self.keep:
                self.report.workdir = str(self.workdir)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return self.report

    def _run(self) -> None:
        from rlforge import plugins

        try:
            self.spec = plugins.get_registry().algorithms.get(self.algo)
            if self.spec is None:  # installed after the registry was first built?
                plugins.reset()
                self.spec = plugins.get_registry().algorithms.get(self.algo)
        except RLForgeError as exc:  # strict mode, or two plugins claiming one name
            self.report.results.append(CheckResult("registers_without_torch", "failed",
                                                   f"the plugins do not load: {exc}"))
            return
        if self.spec is not None:
            self.report.plugin = f"{self.spec.plugin} {self.spec.version}".strip()
        self.report.results.append(self._registration())
        if self.spec is None:
            return
        self.check("config_defaults", self._config_defaults)
        envs = self.envs or [SMALL_ENVS[kind] for kind in self.spec.action_spaces]
        first = None
        for env_id in envs:
            wants_run = any(self.wanted(f"{c}[{env_id}]") for c in ("trains", "acting", "checkpoint_round_trip",
                                                                      "same_seed_same_metrics", "resume_continues_run"))
            if not wants_run:
                continue
            self.built = None
            trained = self.check(f"trains[{env_id}]", self._trains, env_id, force=True)
            why = None if trained else f"needs a trained agent; trains[{env_id}] failed"
            # acting needs only a built agent: it can explain why training failed
            self.check(f"acting[{env_id}]", self._acting, trained or self.built,
                       skip=None if (trained or self.built) else why)
            self.check(f"checkpoint_round_trip[{env_id}]", self._checkpoint, trained, skip=why)
            if first is None:
                first = env_id
                second = self.check(f"same_seed_same_metrics[{env_id}]", self._determinism, trained, skip=why,
                                    force=self.wanted(f"resume_continues_run[{env_id}]"))
                self.check(f"resume_continues_run[{env_id}]", self._resume, trained, second,
                           skip=None if second else f"needs same_seed_same_metrics[{env_id}] to pass")
        for kind in SMALL_ENVS:
            if kind not in self.spec.action_spaces:
                self.check(f"refuses[{kind}]", self._refuses, kind)

    @staticmethod
    def _save_globals():
        import random

        import numpy as np
        import torch

        return random.getstate(), np.random.get_state(), torch.get_rng_state(), torch.get_num_threads()

    @staticmethod
    def _restore_globals(saved) -> None:
        import random

        import numpy as np
        import torch

        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])
        torch.set_num_threads(saved[3])

    # ------------------------------------------------------------------ a. registration

    def _registration(self) -> CheckResult:
        name = "registers_without_torch"
        start = time.perf_counter()
        result = CheckResult(name, "passed")
        try:
            self._probe_registration()
        except _Failed as failure:
            result = CheckResult(name, "failed", failure.reason, details=failure.details)
        except Exception as exc:  # e.g. the fresh process timed out
            result = CheckResult(name, "failed", _describe(exc), details=traceback.format_exc())
        result.seconds = time.perf_counter() - start
        return result

    def _probe_registration(self) -> None:
        from importlib.metadata import entry_points

        environ = dict(os.environ)
        if self.spec is not None and self.spec.plugin:
            # Load only this plugin's entry points, so another plugin's imports are not blamed on it.
            names = sorted(ep.name for ep in entry_points(group="rlforge")
                           if ep.dist is not None and ep.dist.name == self.spec.plugin)
            if names:
                environ["RLFORGE_LOAD_PLUGINS"] = ",".join(names)
        out = self.workdir / "registration.json"
        proc = subprocess.run([sys.executable, "-c", _REGISTRATION_PROBE, self.algo, str(out)], env=environ,
                              capture_output=True, text=True, timeout=300)
        if not out.is_file():
            lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
            raise _Failed(f"building the registry in a fresh process failed: {lines[-1] if lines else proc.returncode}",
                          proc.stderr[-6000:])
        probe = json.loads(out.read_text())
        if not probe["found"]:
            failed = "; ".join(f"plugin {n!r} ({d}) failed: {e}" for n, d, e in probe["failed"])
            raise _Failed(f"no algorithm {self.algo!r} is registered" + (f" ({failed})" if failed else
                          "; is its distribution installed with an entry point in group 'rlforge'?"))
        if probe["torch_at_registration"]:
            raise _Failed("torch is imported while the plugin registers, at "
                          f"{self._torch_site(probe['torch_at_registration'])}; import torch only in the agent "
                          "module, which AlgorithmSpec names by an import string")
        if probe.get("config_error"):
            raise _Failed(f"the config class {self.spec.config!r} does not import: {probe['config_error']}")
        if probe.get("torch_at_config"):
            raise _Failed(f"importing the config class {self.spec.config!r} imports torch, at "
                          f"{self._torch_site(probe['torch_at_config'])}; `rlforge config` must not need torch")

    @staticmethod
    def _torch_site(frames) -> str:
        """'inner.py:3 in <module> (imported from plugin.py:2)': the innermost and outermost frames
        of the plugin's own code, plus the library line that imported torch if it is elsewhere."""
        frames = [tuple(f) for f in frames if not f[0].startswith("<")]
        if not frames:
            return "an unknown place"
        outside = [f for f in frames if not _is_library(f[0])]
        inner = outside[-1] if outside else frames[-1]
        text = f"{_short(inner[0])}:{inner[1]} in {inner[2]}"
        if outside and outside[0] != inner:
            text += f" (imported from {_short(outside[0][0])}:{outside[0][1]})"
        if frames[-1] != inner:
            text += f" via {_short(frames[-1][0])}:{frames[-1][1]}"
        return text

    # ------------------------------------------------------------------ b. config

    def _config_defaults(self) -> None:
        from importlib import resources

        from rlforge import config as cfgmod

        try:
            cls = self.spec.config_class()
        except Exception as exc:
            raise _Failed(f"cannot import the config class {self.spec.config!r}: {_describe(exc)}") from None
        if not dataclasses.is_dataclass(cls):
            raise _Failed(f"the config class {self.spec.config!r} is not a dataclass")
        try:
            defaults = cls()
        except Exception as exc:
            raise _Failed(f"{cls.__name__}() fails: {_describe(exc)}; every key needs a valid default") from None
        try:
            cfgmod.check_no_collisions(cls)
            cfgmod.coerce_layers(cls, [(f"{cls.__name__} defaults", dataclasses.asdict(defaults))])
        except RLForgeError as exc:
            raise _Failed(str(exc)) from None
        envs = self.envs or [SMALL_ENVS[kind] for kind in self.spec.action_spaces]
        for env_id in envs:
            try:
                cfgmod.resolve(self.spec, env_id, None, {})
            except RLForgeError as exc:
                raise _Failed(f"resolving the config for {env_id} fails: {exc}") from None
        if self.spec.presets:  # "package:folder" of <env>.yaml files
            package, _, folder = self.spec.presets.partition(":")
            try:
                preset_dir = Path(str(resources.files(package) / folder))
            except ModuleNotFoundError:
                raise _Failed(f"the presets package of {self.spec.presets!r} does not exist") from None
            if not preset_dir.is_dir():
                raise _Failed(f"the presets folder {self.spec.presets!r} does not exist ({preset_dir})")
            for preset in sorted(preset_dir.glob("*.yaml")):
                try:
                    values = {k: v for k, v in cfgmod.read_yaml(preset).items() if k not in ("algo", "env")}
                    cfgmod.coerce_layers(cls, [(f"preset {preset.name}", values)])
                except RLForgeError as exc:
                    raise _Failed(f"shipped preset {preset.name}: {exc}") from None

    # ------------------------------------------------------------------ c. training

    def overrides_for(self, env_id: str) -> dict:
        from rlforge import config as cfgmod

        try:
            agent_values = dataclasses.asdict(cfgmod.resolve(self.spec, env_id, None, {}).agent)
        except Exception:
            agent_values = {}
        return {**small_overrides(steps=self.steps, seed=self.seed, agent_values=agent_values), **self.user_overrides}

    def _run_overrides(self, env_id: str, extra: dict | None = None) -> dict:
        return {**self.overrides_for(env_id), **(extra or {})}

    def _train(self, env_id: str, label: str, extra: dict | None = None) -> _Trained:
        """One run through the core engine, as `rlforge train` makes it (without TensorBoard)."""
        import csv

        from rlforge import training
        from rlforge.logger import MetricsLogger
        from rlforge.plugins import get_host

        spec, resolved, env_spec = training.prepare(self.algo, env_id, None, [], self._run_overrides(env_id, extra))
        engine = training.build_engine(spec, resolved, env_spec)
        self.engines.append(engine)
        self.built = _Trained(engine, None, [], env_id, {})
        initial = snapshot(engine.agent.policy.state_dict())
        run_dir = self.workdir / "runs" / f"{_slug(env_id)}-{label}"
        run = training.new_run(resolved, spec, str(run_dir), str(self.workdir / "runs"))
        logger = MetricsLogger(run.path, tensorboard=False)
        hooks = get_host().hook
        try:
            outcome = engine.train(run, logger)
        except BaseException:
            run.save_meta(status="crashed")
            raise
        finally:
            logger.close()
        run.save_meta(status=outcome.status)
        hooks.on_train_end(run=run, status=outcome.status)
        with open(run.path / "metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return _Trained(engine, run, rows, env_id, initial)

    def _trains(self, env_id: str) -> _Trained:
        trained = self._train(env_id, "a")
        for r in trained.rows:
            if not math.isfinite(float(r["value"])):
                raise _Failed(f"{r['tag']} is {r['value']} at step {r['step']}")
        algorithm_rows = [r for r in trained.rows if r["tag"] not in ENGINE_TAGS and not r["tag"].startswith("eval/")]
        if not algorithm_rows:
            raise _Failed(f"update() reported no metrics in {trained.run.step} steps; return losses from update() "
                          "(or pass overrides= so that it learns within the kit's budget)")
        if not any(r["tag"].startswith("eval/") for r in trained.rows):
            raise _Failed("the engine logged no evaluation")
        policy = snapshot(trained.engine.agent.policy.state_dict())
        if trained.initial_policy and not diff_states(trained.initial_policy, policy, "policy", limit=1):
            raise _Failed(f"the policy's parameters did not change in {trained.run.step} steps "
                          "(pass overrides= so that it learns within the kit's budget)")
        return trained

    # ------------------------------------------------------------------ f. acting

    def _observations(self, trained: _Trained, count: int = 16):
        """`count` real observations from the training envs, stepped with random actions."""
        engine = trained.engine
        steps = max(1, -(-count // engine.env.num_envs))
        batch = engine.collector.collect(lambda obs: engine.env.random_actions(), steps)
        obs = batch.obs.reshape(-1, *batch.obs.shape[2:])[:count]
        return obs

    def _acting(self, trained: _Trained) -> None:
        import numpy as np
        import torch
        from torch.overrides import TorchFunctionMode

        agent = trained.engine.agent
        policy = agent.policy
        space = trained.engine.env.action_space
        if not isinstance(policy, torch.nn.Module) or not callable(getattr(policy, "act", None)):
            raise _Failed(f"agent.policy is a {type(policy).__name__}, not an nn.Module with act(obs, deterministic)")
        obs = self._observations(trained)
        before = obs.copy()

        class GraphSpy(TorchFunctionMode):
            culprit = None

            def __torch_function__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if self.culprit is None and requires_grad(out):
                    self.culprit = getattr(func, "__name__", str(func))
                return out

        grad_mode = torch.is_grad_enabled()
        spy = GraphSpy()
        try:
            with spy:
                sampled = policy.act(obs)
                greedy = policy.act(obs, deterministic=True)
        except Exception as exc:
            if spy.culprit:
                raise _Failed(f"policy.act() builds an autograd graph ({spy.culprit} gave a tensor that requires "
                              "grad); act under torch.inference_mode()") from None
            raise _Failed(f"policy.act() raised {_describe(exc)}", traceback.format_exc()) from None
        if spy.culprit:
            raise _Failed(f"policy.act() builds an autograd graph ({spy.culprit} gave a tensor that requires grad); "
                          "act under torch.inference_mode()")
        if torch.is_grad_enabled() != grad_mode:
            raise _Failed("policy.act() leaves torch's grad mode switched off; use a context manager "
                          "(torch.inference_mode()) instead of torch.set_grad_enabled(False)")
        if not np.array_equal(obs, before):
            raise _Failed("policy.act() changed the observations it was given")
        for label, actions in (("act(obs)", sampled), ("act(obs, deterministic=True)", greedy)):
            problem = _action_problem(actions, len(obs), space)
            if problem:
                raise _Failed(f"policy.{label} {problem}")
        again = policy.act(obs, deterministic=True)
        if not np.array_equal(greedy, again):
            raise _Failed("policy.act(obs, deterministic=True) gave different actions for the same observations")

    # ------------------------------------------------------------------ d. checkpoints

    def _checkpoint(self, trained: _Trained) -> None:
        import numpy as np

        from rlforge import checkpoint
        from rlforge.agent import Progress
        from rlforge.engine import seed_everything

        engine, run = trained.engine, trained.run
        agent = engine.agent
        obs = self._observations(trained)
        saved = snapshot(agent.state_dict())
        try:
            path = checkpoint.save(self.workdir / "checkpoints" / _slug(trained.env_id), "round_trip",
                                   agent.state_dict(), {"algo": self.algo, "env": trained.env_id})
            loaded, _ = checkpoint.load(path)
        except Exception as exc:
            raise _Failed(f"state_dict() cannot be saved by rlforge.checkpoint: {_describe(exc)}",
                          traceback.format_exc()) from None
        lost = diff_states(saved, loaded)
        if lost:
            raise _Failed(f"state_dict() changes in a checkpoint save/load: {'; '.join(lost)}")

        optimizers = find_optimizers(agent)
        saved_leaves = {}
        for _, leaf in leaves(saved):
            saved_leaves.setdefault(tuple(leaf.shape), []).append(leaf)
        for name, optimizer in optimizers.items():
            for key, tensor in optimizer_moments(optimizer):
                candidates = saved_leaves.get(tuple(tensor.shape), [])
                if not any(diff_states(tensor.detach().cpu(), as_cpu_tensor(c), limit=1) == [] for c in candidates):
                    raise _Failed(f"state_dict() leaves out the state of optimiser agent.{name} ({key} is not among "
                                  "the saved tensors); a resumed run would restart it from zero")

        seed_everything(self.seed + 1)  # a fresh agent with other initial weights
        fresh = self.spec.build_agent(agent.config, engine.env.observation_space, engine.env.action_space,
                                      num_envs=agent.num_envs, device=str(engine.device), env_id=engine.config.env)
        try:
            fresh.load_state_dict(loaded)
        except Exception as exc:
            raise _Failed(f"load_state_dict() of a saved checkpoint fails: {_describe(exc)}",
                          traceback.format_exc()) from None
        fresh_optimizers = find_optimizers(fresh)
        for name, optimizer in optimizers.items():
            mine = optimizer_moments(optimizer)
            theirs = optimizer_moments(fresh_optimizers[name]) if name in fresh_optimizers else []
            if mine and not theirs:
                raise _Failed(f"load_state_dict() does not restore optimiser agent.{name} (its state is empty after "
                              "loading); a resumed run would restart it from zero")
            for (key, a), (_, b) in zip(mine, theirs):
                if diff_states(a.detach().cpu(), b.detach().cpu(), limit=1):
                    raise _Failed(f"load_state_dict() does not restore optimiser agent.{name}: its {key} differs")
        reloaded = diff_states(saved, snapshot(fresh.state_dict()))
        if reloaded:
            raise _Failed(f"after load_state_dict(), state_dict() differs: {'; '.join(reloaded)}")
        if not np.array_equal(agent.policy.act(obs, deterministic=True), fresh.policy.act(obs, deterministic=True)):
            raise _Failed("the reloaded agent's deterministic actions differ from the original's")

        # One more iteration on both: a resumed run must continue exactly as the original would.
        batch = engine.collector.collect(lambda o: agent.policy.act(o), agent.steps_per_iteration)
        progress = Progress(run.step + len(batch), engine.config.run.total_steps + len(batch), run.iteration + 1)
        metrics = []
        for who in (agent, fresh):
            copy = batch.copy()
            seed_everything(self.seed + 2)
            try:
                who.observe(copy)
                metrics.append(who.update(progress) or {})
            except Exception as exc:
                raise _Failed(f"{'the reloaded' if who is fresh else 'the trained'} agent's update() after the round "
                              f"trip fails: {_describe(exc)}", traceback.format_exc()) from None
        diverged = diff_states(snapshot(agent.state_dict()), snapshot(fresh.state_dict()), tolerance=1e-6)
        diverged += diff_states(metrics[0], metrics[1], "metrics", tolerance=1e-6)
        if diverged:
            raise _Failed("one more update after the round trip gives a different result than on the original "
                          f"agent: {'; '.join(diverged[:3])} (is some state, e.g. an RNG, missing from state_dict()?)")

    # ------------------------------------------------------------------ e. determinism

    def _determinism(self, first: _Trained) -> _Trained:
        """A second run with the same seed (checkpointing halfway, for the resume check)."""
        half = max(1, self.steps // 2)
        second = self._train(first.env_id, "b", {"checkpoint_every": half, "keep_checkpoints": 2})
        problem = _first_difference(first.rows, second.rows)
        if problem:
            raise _Failed(f"two runs with seed {self.seed} differ: {problem} (is an RNG not seeded from the engine's seed?)")
        return second

    # ------------------------------------------------------------------ resume through the engine

    def _resume(self, first: _Trained, second: _Trained) -> None:
        """Continue the second run from its halfway checkpoint in a fresh engine (as `rlforge train
        --resume` does) and compare the metrics with the uninterrupted first run."""
        import csv

        from rlforge import checkpoint, training
        from rlforge.logger import MetricsLogger

        saved = sorted(p for p in second.run.checkpoints.glob("step_*") if p.is_dir())
        if len(saved) < 2:
            raise _Failed(f"the run wrote no checkpoint before its end (checkpoint_every={self.steps // 2})")
        state, metadata = checkpoint.load(saved[0])
        spec, resolved, env_spec = training.prepare(self.algo, first.env_id, None, [], self._run_overrides(first.env_id))
        engine = training.build_engine(spec, resolved, env_spec)
        self.engines.append(engine)
        engine.check_compatible(metadata)
        run = training.new_run(resolved, spec, str(self.workdir / "runs" / f"{_slug(first.env_id)}-resumed"),
                               str(self.workdir / "runs"))
        try:
            exact = engine.load_state_dict(state, run)
        except Exception as exc:
            raise _Failed(f"the engine cannot resume from {saved[0].name}: {_describe(exc)}",
                          traceback.format_exc()) from None
        if not exact:
            raise _Skipped(f"{first.env_id} cannot restore its exact state, so a resumed run starts fresh episodes")
        resumed_at = run.step
        logger = MetricsLogger(run.path, tensorboard=False)
        try:
            engine.train(run, logger)
        finally:
            logger.close()
        with open(run.path / "metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        problem = _first_difference([r for r in first.rows if int(r["step"]) > resumed_at], rows)
        if problem:
            raise _Failed(f"resumed at step {resumed_at}, the run differs from the uninterrupted one: {problem} "
                          "(does state_dict() hold everything: networks, optimisers, buffers, RNGs, counters?)")

    # ------------------------------------------------------------------ g. refusal

    def _refuses(self, kind: str) -> None:
        from rlforge import training

        env_id = SMALL_ENVS[kind]
        try:
            training.prepare(self.algo, env_id, None, [], small_overrides(steps=self.steps, seed=self.seed))
        except RLForgeError as exc:
            message = str(exc)
            missing = [what for what, text in (("the algorithm", self.algo), ("the space kind", kind))
                       if text not in message]
            if missing:
                raise _Failed(f"the error for {env_id} does not name {' or '.join(missing)}: {message}") from None
            return
        except Exception as exc:
            raise _Failed(f"preparing {env_id} ({kind} actions) raised {_describe(exc)}, not an RLForgeError") from None
        raise _Failed(f"{self.algo} claims {', '.join(self.spec.action_spaces)} but preparing {env_id} "
                      f"({kind} actions) raised no error")


def _slug(env_id: str) -> str:
    return env_id.replace("/", "_").replace(":", "_")


def _first_difference(expected: list[dict], actual: list[dict]) -> str | None:
    """The first metrics.csv row where two runs differ (wall time and charts/sps aside), or None."""
    def comparable(rows):
        return [(r["step"], r["tag"], r["value"]) for r in rows if r["tag"] not in NONDETERMINISTIC_TAGS]

    a, b = comparable(expected), comparable(actual)
    for row_a, row_b in zip(a, b):
        if row_a != row_b:
            return f"at step {row_a[0]} {row_a[1]} = {row_a[2]}, then {row_b[1]} = {row_b[2]} at step {row_b[0]}"
    if len(a) != len(b):
        return f"they wrote {len(a)} and {len(b)} metric rows"
    return None
