"""Check `registers_without_torch`: in a fresh process, the plugin registers its algorithm and
its config class imports without importing torch, so `rlforge list` and `rlforge config` stay fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from rlforge.testing.outcomes import CheckFailed, is_library, short_path

# Runs in a fresh interpreter: records where torch was first imported (if it was), builds the
# registry, then imports the algorithm's config class.
PROBE = r"""
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


def check_registration(kit) -> None:
    """Raises CheckFailed unless `kit.algo` registers, and its config imports, without torch."""
    environ = dict(os.environ)
    names = _entry_points_of(kit.spec.plugin) if kit.spec is not None and kit.spec.plugin else []
    if names:  # only this plugin's entry points, so that another plugin's imports are not blamed on it
        environ["RLFORGE_LOAD_PLUGINS"] = ",".join(names)
    out = kit.workdir / "registration.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, kit.algo, str(out)], env=environ,
                          capture_output=True, text=True, timeout=300)
    if not out.is_file():
        lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
        raise CheckFailed(f"building the registry in a fresh process failed: {lines[-1] if lines else proc.returncode}",
                          proc.stderr[-6000:])
    probe = json.loads(out.read_text())
    if not probe["found"]:
        failed = "; ".join(f"plugin {n!r} ({d}) failed: {e}" for n, d, e in probe["failed"])
        raise CheckFailed(f"no algorithm {kit.algo!r} is registered" + (f" ({failed})" if failed else
                          "; is its distribution installed with an entry point in group 'rlforge'?"))
    if probe["torch_at_registration"]:
        raise CheckFailed("torch is imported while the plugin registers, at "
                          f"{torch_site(probe['torch_at_registration'])}; import torch only in the agent "
                          "module, which AlgorithmSpec names by an import string")
    if probe.get("config_error"):
        raise CheckFailed(f"the config class {kit.spec.config!r} does not import: {probe['config_error']}")
    if probe.get("torch_at_config"):
        raise CheckFailed(f"importing the config class {kit.spec.config!r} imports torch, at "
                          f"{torch_site(probe['torch_at_config'])}; `rlforge config` must not need torch")


def _entry_points_of(distribution: str) -> list[str]:
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group="rlforge") if ep.dist is not None and ep.dist.name == distribution)


def torch_site(frames) -> str:
    """'inner.py:3 in <module> (imported from plugin.py:2)': the innermost and outermost frames
    of the plugin's own code, plus the library line that imported torch if it is elsewhere."""
    frames = [tuple(f) for f in frames if not f[0].startswith("<")]
    if not frames:
        return "an unknown place"
    outside = [f for f in frames if not is_library(f[0])]
    inner = outside[-1] if outside else frames[-1]
    text = f"{short_path(inner[0])}:{inner[1]} in {inner[2]}"
    if outside and outside[0] != inner:
        text += f" (imported from {short_path(outside[0][0])}:{outside[0][1]})"
    if frames[-1] != inner:
        text += f" via {short_path(frames[-1][0])}:{frames[-1][1]}"
    return text
