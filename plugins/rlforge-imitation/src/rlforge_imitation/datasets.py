"""The imitation plugin's datasets: whatever the core reads (rlforge.datasets: Minari folders
and ids, runs, rlforge .npz, CS285 .pkl) plus the expert datasets shipped with this plugin,
named by env id."""

from __future__ import annotations

from pathlib import Path

from rlforge import datasets as core
from rlforge.datasets import FIELDS, Dataset, check_dataset, save_dataset, save_minari
from rlforge.errors import RLForgeError

__all__ = ["FIELDS", "Dataset", "check_dataset", "load_dataset", "save_dataset", "save_minari", "shipped_datasets"]


def shipped_datasets() -> list[str]:
    from rlforge_imitation.experts import shipped_dir

    return sorted(p.stem for p in shipped_dir().glob("*.npz"))


def load_dataset(name: str) -> Dataset:
    """A shipped dataset by env id (HalfCheetah-v4, ...), else any dataset the core reads."""
    from rlforge_imitation.experts import shipped_dir

    if not name:
        raise RLForgeError(f"no dataset given: set dataset= to {core.loading.KINDS}, or a shipped dataset "
                           f"({', '.join(shipped_datasets())}); the presets configs/bc/<env>.yaml name the shipped ones")
    shipped = shipped_dir() / f"{name}.npz"
    if shipped.is_file() and not Path(name).exists():
        return core.load_dataset(str(shipped))
    return core.load_dataset(name)
