"""Writing a benchmark's result file."""

import json
from pathlib import Path


def write_json(path: Path, result: dict) -> None:
    """`result` as indented JSON at `path`, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
