"""The conformance kit: one call checks an algorithm plugin against rlforge's contracts.

    from rlforge.testing import check_plugin
    check_plugin("myalgo")      # raises ConformanceError listing every failed check

The checks, one family per module (each reported with a one-line reason when it fails):

  registers_without_torch      registration.py    the plugin registers (and its config class
                                                  imports) in a fresh process without torch
  config_defaults              configuration.py   defaults build and resolve; presets are valid
  trains[ENV]                  learning.py        a short engine run reports finite metrics and
                                                  changes the policy
  acting[ENV], refuses[KIND]   acting.py          valid actions without a graph; an unclaimed
                                                  action space is refused
  checkpoint_round_trip[ENV]   checkpoints.py     state_dict() survives save/load and a fresh
                                                  agent continues identically
  same_seed_same_metrics[ENV], reproducibility.py same seed, same metrics; a resumed run
  resume_continues_run[ENV]                       continues as if never interrupted

This module decides which checks run and in what order. `checks=` (the CLI's --only) runs the
checks it names, plus registration; a check that needs a training run (or the second run of
the same seed) gets it without that run being reported as a check of its own. The runs print
nothing (no progress bars), so the report is the only output.

Checks run in this process, except the registration check (always a fresh process). Pass
`environ=` to run everything in a fresh process with those environment variables, e.g. for a
plugin that is only on a PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from rlforge.errors import RLForgeError
from rlforge.testing.acting import check_acting, check_refuses
from rlforge.testing.checkpoints import check_checkpoint_round_trip
from rlforge.testing.configuration import check_config_defaults
from rlforge.testing.context import SMALL_ENVS, KitContext, small_overrides
from rlforge.testing.learning import check_trains
from rlforge.testing.outcomes import CheckFailed, CheckSkipped, describe
from rlforge.testing.registration import check_registration
from rlforge.testing.report import CheckResult, Report
from rlforge.testing.reproducibility import check_resume, check_same_seed, second_run

__all__ = ["SMALL_ENVS", "check_plugin", "small_overrides"]

REGISTRATION = "registers_without_torch"
RUN_CHECKS = ("trains", "acting", "checkpoint_round_trip", "same_seed_same_metrics", "resume_continues_run")


def check_plugin(algo: str, *, envs: list[str] | None = None, steps: int = 300, overrides: dict | None = None,
                 seed: int = 1, checks: list[str] | None = None, workdir: str | os.PathLike | None = None,
                 environ: dict | None = None, raise_on_failure: bool = True, timeout: float = 900) -> Report:
    """Check algorithm `algo` against rlforge's plugin contracts; see the module docstring.

    envs      env ids to train on (default: Pendulum-v1 for "box", CartPole-v1 for "discrete",
              one per action space kind the algorithm claims)
    steps     env steps per training run (the kit makes two runs on the first env)
    overrides config values applied over `small_overrides(...)` (e.g. tiny networks)
    checks    names (or name prefixes, e.g. "trains") of the checks to run, registration
              always included; default all
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
        report = Checker(algo, **options).run()
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
    report = Checker(options.pop("algo"), **options).run()
    Path(sys.argv[2]).write_text(json.dumps(report.to_dict()))


# ----------------------------------------------------------------------------- the plan


class Checker:
    """Runs the selected checks in order and records each one's result in a Report."""

    def __init__(self, algo: str, envs=None, steps: int = 300, overrides=None, seed: int = 1, checks=None,
                 workdir=None):
        self.kit = KitContext(algo, envs, steps, overrides, seed, workdir)
        self.selected = checks
        self.report = Report(algo)

    def wanted(self, name: str) -> bool:
        return self.selected is None or any(name == s or name.startswith(s) for s in self.selected)

    def check(self, name: str, function, *args):
        """Run one check; record passed / failed (with a reason) / skipped. Returns its value
        when it passed, else None."""
        start = time.perf_counter()
        try:
            value, result = function(*args), CheckResult(name, "passed")
        except CheckSkipped as skipped:
            value, result = None, CheckResult(name, "skipped", str(skipped))
        except CheckFailed as failure:
            value, result = None, CheckResult(name, "failed", failure.reason, details=failure.details)
        except Exception as exc:
            value, result = None, CheckResult(name, "failed", describe(exc), details=traceback.format_exc())
        result.seconds = time.perf_counter() - start
        self.report.results.append(result)
        return value if result.status == "passed" else None

    def not_run(self, name: str, status: str, reason: str) -> None:
        """Record a check that could not run because what it needs is missing."""
        self.report.results.append(CheckResult(name, status, reason))

    def check_if(self, name: str, needed, missing: tuple[str, str], function, *args):
        """Run check `name` when what it needs is there (`needed`), else record `missing`, a
        (status, reason) pair."""
        if needed:
            return self.check(name, function, *args)
        self.not_run(name, *missing)
        return None

    @staticmethod
    def prerequisite(function, *args):
        """(value, None), or (None, why) when a step a check needs, not reported itself, fails."""
        try:
            return function(*args), None
        except CheckFailed as failure:
            return None, failure.reason
        except Exception as exc:
            return None, describe(exc)

    def run(self) -> Report:
        from rlforge.console import silenced

        saved = _global_state()
        try:
            with silenced():  # no progress bars: the report is the output
                self._run_checks()
        finally:
            for engine in self.kit.engines:
                try:
                    engine.close()
                except Exception:
                    pass
            _restore_global_state(saved)
            if self.kit.keep:
                self.report.workdir = str(self.kit.workdir)
            else:
                shutil.rmtree(self.kit.workdir, ignore_errors=True)
        return self.report

    def _run_checks(self) -> None:
        if not self._find_spec():
            return
        self.check(REGISTRATION, check_registration, self.kit)
        if self.kit.spec is None:
            return
        if self.wanted("config_defaults"):
            self.check("config_defaults", check_config_defaults, self.kit)
        for index, env_id in enumerate(self.kit.envs):
            self._check_runs_on(env_id, first_env=index == 0)
        for kind in SMALL_ENVS:
            if kind not in self.kit.spec.action_spaces and self.wanted(f"refuses[{kind}]"):
                self.check(f"refuses[{kind}]", check_refuses, self.kit, kind)

    def _find_spec(self) -> bool:
        """Look the algorithm up; False (registration recorded as failed) when the plugins do not load."""
        from rlforge import plugins

        try:
            self.kit.spec = plugins.get_registry().algorithms.get(self.kit.algo)
            if self.kit.spec is None:  # installed after the registry was first built?
                plugins.reset()
                self.kit.spec = plugins.get_registry().algorithms.get(self.kit.algo)
        except RLForgeError as exc:  # strict mode, or two plugins claiming one name
            self.not_run(REGISTRATION, "failed", f"the plugins do not load: {exc}")
            return False
        if self.kit.spec is not None:
            self.report.plugin = f"{self.kit.spec.plugin} {self.kit.spec.version}".strip()
        return True

    def _check_runs_on(self, env_id: str, first_env: bool) -> None:
        """The checks that need a training run on `env_id`; the two-run checks on the first env only."""
        name = {check: f"{check}[{env_id}]" for check in RUN_CHECKS}
        wanted = {check: self.wanted(name[check]) for check in RUN_CHECKS}
        if not first_env:
            wanted["same_seed_same_metrics"] = wanted["resume_continues_run"] = False
        if not any(wanted.values()):
            return
        kit = self.kit
        kit.last_built = None
        if wanted["trains"]:
            trained = self.check(name["trains"], _trained_and_checked, kit, env_id)
            missing = ("skipped", f"needs a trained agent; {name['trains']} failed")
        else:  # a run all the same, not reported as a check
            trained, why = self.prerequisite(kit.train, env_id, "a")
            missing = ("failed", f"the training run it needs failed: {why}")

        if wanted["acting"]:  # acting needs only a built agent: it can explain why training failed
            built = trained or kit.last_built
            self.check_if(name["acting"], built, missing, check_acting, kit, built)
        if wanted["checkpoint_round_trip"]:
            self.check_if(name["checkpoint_round_trip"], trained, missing, check_checkpoint_round_trip, kit, trained)
        second, second_missing = None, missing
        if wanted["same_seed_same_metrics"]:
            second = self.check_if(name["same_seed_same_metrics"], trained, missing, _second_run_and_compare, kit,
                                   trained)
            if trained:
                second_missing = ("skipped", f"needs {name['same_seed_same_metrics']} to pass")
        elif wanted["resume_continues_run"] and trained:
            second, why = self.prerequisite(second_run, kit, trained)
            second_missing = ("failed", f"the second run it needs failed: {why}")
        if wanted["resume_continues_run"]:
            self.check_if(name["resume_continues_run"], second, second_missing, check_resume, kit, trained, second)


def _trained_and_checked(kit: KitContext, env_id: str):
    trained = kit.train(env_id, "a")
    check_trains(trained)
    return trained


def _second_run_and_compare(kit: KitContext, first):
    second = second_run(kit, first)
    check_same_seed(kit, first, second)
    return second


def _global_state():
    """The global generators and torch's thread count, which the kit's engines change."""
    import random

    import numpy as np
    import torch

    return random.getstate(), np.random.get_state(), torch.get_rng_state(), torch.get_num_threads()


def _restore_global_state(saved) -> None:
    import random

    import numpy as np
    import torch

    random.setstate(saved[0])
    np.random.set_state(saved[1])
    torch.set_rng_state(saved[2])
    torch.set_num_threads(saved[3])
