"""Presets are found when rlforge is installed from a wheel, not only from a checkout."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("rlforge-*.whl")
    return path


def test_wheel_carries_every_bundled_preset(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {f"rlforge/_presets/{p.relative_to(ROOT / 'configs').as_posix()}" for p in (ROOT / "configs").rglob("*.yaml")}
    assert bundled and bundled <= names
    assert "rlforge/_presets/sac/HalfCheetah-v4.yaml" in names


def test_presets_resolve_from_the_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    probe = ("import rlforge.presets as p\n"
             "from rlforge.registry import AlgorithmSpec\n"
             "spec = AlgorithmSpec('sac', '', ('box',), 'x:y', 'x:y')\n"
             "print(p.preset_roots()[0]); print(p.find_preset(spec, 'Hopper-v4'))\n"
             "print(p.find_config_file('experiments/sac/hopper_clipq'))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    root, preset, experiment = result.stdout.split()
    assert root == str(target / "rlforge" / "_presets")
    assert preset == str(target / "rlforge" / "_presets" / "sac" / "Hopper-v4.yaml")
    assert experiment == str(target / "rlforge" / "_presets" / "experiments" / "sac" / "hopper_clipq.yaml")
