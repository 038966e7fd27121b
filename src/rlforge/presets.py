"""Where preset and experiment files are found.

Bundled presets live in the repository's top-level `configs/` folder; a wheel carries that
folder as `rlforge/_presets`, and an editable install reads it from the checkout. A
third-party plugin may ship its own presets and name them in its AlgorithmSpec.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import rlforge


def preset_roots() -> list[Path]:
    """Folders laid out as <algo>/<env>.yaml, the packaged copy first."""
    roots = []
    packaged = Path(str(resources.files("rlforge") / "_presets"))
    if packaged.is_dir():
        roots.append(packaged)
    checkout = Path(rlforge.__file__).resolve().parents[2] / "configs"
    if checkout.is_dir() and (checkout.parent / "pyproject.toml").is_file():
        roots.append(checkout)
    return roots


def _plugin_preset_dir(spec) -> Path | None:
    if not spec.presets:
        return None
    package, _, folder = spec.presets.partition(":")
    path = Path(str(resources.files(package) / folder))
    return path if path.is_dir() else None


def find_preset(spec, env_id: str) -> Path | None:
    """The preset file for (algorithm, env), if there is one."""
    for root in preset_roots():
        candidate = root / spec.name / f"{env_id}.yaml"
        if candidate.is_file():
            return candidate
    plugin_dir = _plugin_preset_dir(spec)
    if plugin_dir is not None and (plugin_dir / f"{env_id}.yaml").is_file():
        return plugin_dir / f"{env_id}.yaml"
    return None


def find_config_file(name: str) -> Path:
    """A `--config` argument as a path: a file as given, or a name under the preset roots.

    `experiments/sac/halfcheetah_reparam` finds configs/experiments/sac/halfcheetah_reparam.yaml
    in a checkout and inside an installed wheel alike.
    """
    path = Path(name)
    if path.is_file():
        return path
    for root in preset_roots():
        for candidate in (root / name, root / f"{name}.yaml"):
            if candidate.is_file():
                return candidate
    return path  # reading it reports the missing file
