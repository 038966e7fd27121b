"""The offline tests import their helpers (offline_box_helpers) from this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
