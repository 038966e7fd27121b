"""Every shipped sweep file in configs/sweeps/ is valid against its algorithm's config (an
algorithm whose plugin is not installed is skipped), and statistics behave as documented."""

from pathlib import Path

import numpy as np
import pytest

from rlforge.sweeps import runner, spec, stats

SWEEPS = sorted((Path(__file__).resolve().parents[1] / "configs" / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_sweep_file_is_valid(path, tmp_path):
    from rlforge.plugins import get_host

    sweep = spec.load(path)
    if sweep.algo not in {a.name for a in get_host().registry.algorithms.values()}:
        pytest.skip(f"algorithm {sweep.algo} is not installed")
    plan = runner.plan(sweep, tmp_path / "out")
    assert len(plan.trials) >= 2 and len({t.relpath for t in plan.trials}) == len(plan.trials)
    assert not (tmp_path / "out").exists()  # checking creates nothing


def test_iqm_drops_a_quarter_from_each_end():
    assert stats.iqm([1, 2, 3, 100]) == 2.5
    assert stats.iqm([5, 7]) == 6.0
    assert stats.iqm([0, 1, 2, 3, 4, 5, 6, 1000]) == pytest.approx(3.5)


def test_bootstrap_interval_is_seeded_and_brackets_the_statistic():
    values = np.random.default_rng(1).normal(10, 2, size=20)
    low, high = stats.bootstrap_ci(values)
    assert low < stats.iqm(values) < high and high - low < 4
    assert stats.bootstrap_ci(values) == (low, high)
    assert stats.bootstrap_ci([3.0]) == (3.0, 3.0)


def test_smoothing_removes_start_up_bias():
    assert np.allclose(stats.smooth([4.0, 4.0, 4.0], 0.9), 4.0)
    assert stats.smooth([0.0, 10.0], 0.0).tolist() == [0.0, 10.0]
