#!/usr/bin/env bash
# Install rlforge, every bundled plugin and the pinned dependencies into .venv (or $RLFORGE_VENV).
# Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${RLFORGE_VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating virtual environment $venv"
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# requirements.lock pins every dependency; torch==2.13.0 is the CPU build (a plain `torch`
# requirement would pull several GB of CUDA packages).
"$venv/bin/python" -m pip install --quiet -r requirements.lock
# The core and the bundled plugins, editable, without re-resolving what the lock pinned.
plugin_args=()
for plugin in plugins/*/; do
    plugin_args+=(-e "$plugin")
done
"$venv/bin/python" -m pip install --quiet --no-deps -e . "${plugin_args[@]}"
echo "installed: $("$venv/bin/rlforge" --version); algorithms: $("$venv/bin/rlforge" list --json | "$venv/bin/python" -c 'import json,sys; print(", ".join(a["name"] for a in json.load(sys.stdin)))')"
