"""Every preset (configs/<algo>/<env>.yaml) and experiment file (configs/experiments/) resolves:
known keys, values of the right type, an algorithm and an env that exist. Sweep files have
their own tests (test_sweep_files.py)."""

from pathlib import Path

import pytest

from rlforge.training import prepare

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRESETS = sorted(p for p in CONFIGS.rglob("*.yaml") if p.relative_to(CONFIGS).parts[0] not in ("experiments", "sweeps"))
EXPERIMENTS = sorted((CONFIGS / "experiments").rglob("*.yaml"))


def name(path: Path) -> str:
    return str(path.relative_to(CONFIGS))


@pytest.mark.parametrize("path", PRESETS, ids=name)
def test_a_preset_resolves_and_is_picked_for_its_algorithm_and_env(path):
    algo, *env_parts = path.relative_to(CONFIGS).with_suffix("").parts
    _, resolved, _ = prepare(algo, "/".join(env_parts), None, [], {})
    assert any(Path(source).resolve() == path.resolve() for source in resolved.sources), resolved.sources


@pytest.mark.parametrize("path", EXPERIMENTS, ids=name)
def test_an_experiment_file_resolves(path):
    _, resolved, _ = prepare(None, None, str(path), [], {})
    assert resolved.algo and resolved.env


def test_the_lists_are_not_empty():
    assert len(PRESETS) > 30 and len(EXPERIMENTS) > 60
