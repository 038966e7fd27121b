"""What `rlforge dataset info` and `rlforge dataset list` show about a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlforge.datasets.dataset import Dataset
from rlforge.datasets.minari_files import MINARI_ID, data_folder, env_id_of, read_metadata
from rlforge.datasets.reference import reference_returns
from rlforge.errors import RLForgeError

# metadata keys that say where a dataset came from, in the order they are shown
PROVENANCE_KEYS = ("run", "checkpoint", "algo", "algorithm_name", "policy", "deterministic", "action_noise", "seed",
                   "step", "recipe", "command", "training_command", "created_from", "source_command", "description", "author",
                   "code_permalink", "minari_version")


def statistics(values) -> dict | None:
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return None
    return {"mean": float(values.mean()), "std": float(values.std()), "min": float(values.min()),
            "max": float(values.max())}


def describe(dataset: Dataset, name: str) -> dict:
    """Counts, shapes, spaces, return and episode-length statistics (finished episodes) and
    provenance of `dataset`, JSON-ready."""
    meta = dataset.metadata
    finished = len(dataset.episode_ends())
    provenance = {key: meta[key] for key in PROVENANCE_KEYS if meta.get(key) is not None}
    provenance.update({key: value for key, value in (meta.get("minari") or {}).items()
                       if key in PROVENANCE_KEYS and key not in provenance})
    return {
        "name": name, "format": meta.get("source_format", "rlforge-npz" if meta.get("format") else "unknown"),
        "source": meta.get("source", name), "dataset_id": meta.get("dataset_id"), "env": meta.get("env"),
        "episodes": len(dataset.episode_bounds()), "finished_episodes": finished, "transitions": len(dataset),
        "terminations": int(np.count_nonzero(dataset.terminated)), "truncations": int(np.count_nonzero(dataset.truncated)),
        "observations": {"shape": list(dataset.obs.shape[1:]), "dtype": str(dataset.obs.dtype)},
        "actions": {"shape": list(dataset.actions.shape[1:]), "dtype": str(dataset.actions.dtype)},
        "observation_space": meta.get("observation_space"), "action_space": meta.get("action_space"),
        "return": statistics(dataset.episode_returns()), "episode_length": statistics(dataset.episode_lengths()),
        "reference_returns": _references(meta), "provenance": provenance,
    }


def _references(metadata: dict) -> dict | None:
    """The random and expert reference returns (the normalised score's 0 and 100), if stored."""
    try:
        refs = reference_returns(metadata)
    except RLForgeError as exc:
        return {"error": str(exc)}
    return None if refs is None else {"random": refs.random, "expert": refs.expert}


def find_minari_datasets(root: Path, max_depth: int = 6) -> list[Path]:
    """Folders under `root` holding a Minari dataset (data/metadata.json); hidden folders
    (partial writes) are skipped, dataset folders are not searched further."""
    found, stack = [], [(Path(root), 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            children = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
        except OSError:
            continue
        for child in children:
            if data_folder(child) is not None and (child / "data").is_dir():
                found.append(child)
            elif depth < max_depth:
                stack.append((child, depth + 1))
    return sorted(found)


def listing_row(folder: Path, root: Path) -> dict:
    """One `rlforge dataset list` row, from metadata.json and file sizes only (no data read)."""
    row = {"id": folder.relative_to(root).as_posix(), "path": str(folder), "episodes": None, "steps": None,
           "env": None, "format": None, "size_bytes": sum(p.stat().st_size for p in (folder / "data").rglob("*")
                                                          if p.is_file())}
    try:
        metadata = read_metadata(folder)
    except RLForgeError as exc:
        return {**row, "error": str(exc)}
    own = metadata.get("rlforge") if isinstance(metadata.get("rlforge"), dict) else {}
    row.update({"episodes": metadata.get("total_episodes"), "steps": metadata.get("total_steps"),
                "env": env_id_of(metadata) or own.get("env"), "format": metadata.get("data_format")})
    if metadata.get("dataset_id") != row["id"]:
        row["error"] = f"its metadata names it {metadata.get('dataset_id')!r}"
    elif not MINARI_ID.fullmatch(row["id"]):
        row["error"] = "not a valid Minari id"
    return row
