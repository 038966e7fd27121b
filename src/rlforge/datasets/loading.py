"""One entry point for every dataset rlforge reads, named by a path or a Minari id."""

from __future__ import annotations

from pathlib import Path

from rlforge.datasets.dataset import Dataset, validate
from rlforge.datasets.formats import load_cs285_data, load_npz
from rlforge.datasets.from_run import is_run_folder, load_run_dataset
from rlforge.datasets.minari_files import MINARI_ID, data_folder, minari_root, read_minari
from rlforge.errors import RLForgeError

KINDS = ("a Minari dataset folder, a Minari id under MINARI_DATASETS_PATH, an rlforge run directory, "
         "an rlforge .npz or a CS285 .pkl")


def load_dataset(name: str) -> Dataset:
    """The dataset `name` names: a Minari dataset folder (the one holding data/, or data/),
    a Minari id resolved under MINARI_DATASETS_PATH (pointmass/hard-rnd-v0), a run directory
    or checkpoint (RUN_DIR/dataset/, else the replay buffer of its latest checkpoint), an
    rlforge .npz, or a CS285 expert-data .pkl. Refused in one line when it is missing, empty,
    malformed, or holds NaN, inf or anything but numbers."""
    if not name:
        raise RLForgeError(f"no dataset given: set dataset= to {KINDS}")
    dataset = _load(str(name))
    validate(dataset, str(name))
    if len(dataset) == 0:
        raise RLForgeError(f"dataset {str(name)!r} holds no transitions")
    return dataset


def resolve_minari_id(name: str) -> Path | None:
    """The folder of Minari dataset id `name` under MINARI_DATASETS_PATH, if it is there."""
    if not MINARI_ID.fullmatch(name):
        return None
    folder = minari_root() / name
    return folder if data_folder(folder) is not None else None


def _load(name: str) -> Dataset:
    path = Path(name).expanduser()
    if path.is_file():
        if path.suffix in (".pkl", ".pickle"):
            return load_cs285_data(path)
        if path.suffix == ".npz":
            return load_npz(path)
        if path.name in ("main_data.hdf5", "metadata.json"):
            return read_minari(path.parent)
        raise RLForgeError(f"dataset {name!r} is a file rlforge does not read (an .npz, a .pkl or a Minari "
                           "folder's data/main_data.hdf5)")
    if path.is_dir():
        if data_folder(path) is not None:
            return read_minari(path)
        if is_run_folder(path):
            return load_run_dataset(path)
        raise RLForgeError(f"folder {name!r} is neither a Minari dataset (no data/metadata.json) nor an rlforge run")
    folder = resolve_minari_id(name)
    if folder is not None:
        return read_minari(folder)
    hint = f", nor a Minari dataset under {minari_root()} (MINARI_DATASETS_PATH)" if MINARI_ID.fullmatch(name) else ""
    raise RLForgeError(f"dataset {name!r} does not exist (no such file or folder{hint})")
