"""rlforge.testing: the conformance kit that plugin authors run from their own tests.

    from rlforge.testing import check_plugin

    def test_conformance():
        check_plugin("myalgo")

or, with the pytest plugin that rlforge registers (entry point `pytest11`):

    def test_conformance(rlforge_check):
        rlforge_check("myalgo")

Importing this package imports neither torch nor gymnasium (pytest loads it at start-up).
"""

from rlforge.testing.kit import SMALL_ENVS, check_plugin, small_overrides
from rlforge.testing.report import CheckResult, ConformanceError, Report

__all__ = ["SMALL_ENVS", "CheckResult", "ConformanceError", "Report", "check_plugin", "small_overrides"]
