"""Offline data as files: rlforge .npz, CS285 pickles (restricted loader) and, with
rlforge.datasets.minari, Minari folders. Used by imitation and offline RL alike."""

from rlforge.datasets.formats import FIELDS, Dataset, load_cs285_data, load_dataset, load_npz, save_dataset

__all__ = ["FIELDS", "Dataset", "load_cs285_data", "load_dataset", "load_npz", "save_dataset"]
