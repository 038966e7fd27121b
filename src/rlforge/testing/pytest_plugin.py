"""Fixtures for plugin authors, registered with pytest through the `pytest11` entry point
`rlforge` (disable with `-p no:rlforge`).

    def test_conformance(rlforge_check):
        rlforge_check("myalgo")                       # every check, default budget

    def test_conformance_small(rlforge_check):
        rlforge_check("myalgo", steps=500, overrides={"hidden": [16]})

Loading this module imports neither torch nor gymnasium: it runs in every pytest session of
an environment where rlforge is installed.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def rlforge_tmp_runs(tmp_path):
    """A fresh folder for run directories (kept by pytest's tmp_path retention for inspection)."""
    path = tmp_path / "rlforge-runs"
    path.mkdir()
    return path


@pytest.fixture
def rlforge_check(rlforge_tmp_runs):
    """`rlforge.testing.check_plugin`, writing its runs under `rlforge_tmp_runs`.

    Call it with an algorithm name and any of check_plugin's keyword arguments; it returns the
    Report, or fails the test with a ConformanceError listing every failed check.
    """
    from rlforge.testing import check_plugin

    def check(algo: str, **kwargs):
        __tracebackhide__ = True
        kwargs.setdefault("workdir", rlforge_tmp_runs)
        return check_plugin(algo, **kwargs)

    return check
