#!/usr/bin/env bash
# Install everything (scripts/install.sh), then run the whole test suite: the core's tests
# and every bundled plugin's tests, learning tests included, on RLFORGE_TEST_WORKERS pytest
# workers (pytest-xdist; default 2, one per core of the project's machine; 0 runs them in this
# process). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export MUJOCO_GL="${MUJOCO_GL:-egl}"
exec "${RLFORGE_VENV:-.venv}/bin/python" -m pytest -n "${RLFORGE_TEST_WORKERS:-2}" --dist worksteal "$@"
