#!/usr/bin/env bash
# The virtual environment of the d3rlpy side of benchmarks/offline_vs_d3rlpy.py:
#
#     bash benchmarks/d3rlpy_env.sh                 # makes .venv-d3rlpy at the repository's root
#     bash benchmarks/d3rlpy_env.sh /some/path      # or there (then pass --d3rlpy-python PATH/bin/python)
#
# Separate from rlforge's .venv because d3rlpy 2.8.1 pins gymnasium==1.0.0 while rlforge's lock
# has gymnasium 1.4.0: the two cannot share one environment (docs/offline-benchmark.md).
# torch is installed first and pinned to rlforge's version (2.13.0, the CPU build where pip finds
# it locally), so that d3rlpy's plain `torch` requirement is already met and pulls no CUDA wheels;
# both sides then run the same torch. rlforge is not installed here: the d3rlpy side
# (benchmarks/d3rlpy_side.py) reads the dataset from a plain .npz the harness writes.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-$HERE/../.venv-d3rlpy}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
D3RLPY_VERSION="${D3RLPY_VERSION:-2.8.1}"

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install "torch==$TORCH_VERSION"
# d3rlpy brings gymnasium 1.0.0 (its pin) and h5py; mujoco for the MuJoCo envs the evaluations run on
"$VENV/bin/python" -m pip install "d3rlpy==$D3RLPY_VERSION" "gymnasium[mujoco]==1.0.0"
"$VENV/bin/python" - <<'EOF'
import d3rlpy, gymnasium, mujoco, numpy, torch
print(f"d3rlpy {d3rlpy.__version__}, torch {torch.__version__}, gymnasium {gymnasium.__version__}, "
      f"mujoco {mujoco.__version__}, numpy {numpy.__version__}")
EOF
echo "ready: $VENV/bin/python"
