"""Offline data as files: Minari folders (the ecosystem's format, read and written by rlforge
itself), rlforge .npz, CS285 pickles (restricted loader) and what a run collected. Used by
imitation and offline RL alike."""

from rlforge.datasets.dataset import FIELDS, Dataset, check_dataset, validate
from rlforge.datasets.formats import load_cs285_data, load_npz, save_dataset
from rlforge.datasets.loading import load_dataset, resolve_minari_id
from rlforge.datasets.minari_files import MINARI_ID, minari_root, read_minari, save_minari
from rlforge.datasets.reference import ReferenceReturns, normalized_score, reference_returns, with_reference_returns
from rlforge.datasets.returns import returns_to_go
from rlforge.datasets.spaces import space_from_json, space_to_json

__all__ = ["FIELDS", "MINARI_ID", "Dataset", "ReferenceReturns", "check_dataset", "load_cs285_data", "load_dataset",
           "load_npz", "minari_root", "normalized_score", "read_minari", "reference_returns", "resolve_minari_id",
           "returns_to_go", "save_dataset", "save_minari", "space_from_json", "space_to_json", "validate",
           "with_reference_returns"]
