"""The imitation plugin's datasets: the core's formats (rlforge.datasets) plus the expert
datasets shipped with this plugin, named by env id."""

from __future__ import annotations

from pathlib import Path

from rlforge import datasets as core
from rlforge.datasets import FIELDS, Dataset, save_dataset
from rlforge.errors import RLForgeError

__all__ = ["FIELDS", "Dataset", "load_dataset", "save_dataset"]


def load_dataset(name: str) -> Dataset:
    """A dataset by path (any format rlforge.datasets reads) or shipped name (an env id)."""
    from rlforge_imitation.experts import shipped_dir

    if not name:
        shipped = sorted(p.stem for p in shipped_dir().glob("*.npz"))
        raise RLForgeError(f"no dataset given: set dataset=PATH (an rlforge .npz dataset or a CS285 .pkl) or a shipped "
                           f"dataset ({', '.join(shipped)}); the presets configs/bc/<env>.yaml name the shipped ones")
    shipped = shipped_dir() / f"{name}.npz"
    if shipped.is_file() and not Path(name).exists():
        return core.load_npz(shipped)
    return core.load_dataset(name)
