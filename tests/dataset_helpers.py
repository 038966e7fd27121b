"""Helpers of the dataset tests: small consistent datasets, Minari datasets written by minari's
own DataCollector, and hand-made Minari folders (for the files rlforge must refuse)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from rlforge.datasets import Dataset


def make_dataset(rng, lengths=(4, 6, 3), obs_dim=3, n_actions=None, act_dim=2, unfinished=0,
                 first_terminated=True) -> Dataset:
    """Episodes of the given lengths (the first terminated, the others truncated) plus an
    unfinished one of `unfinished` steps; next_obs follows obs within each episode. Discrete
    int64 actions in [0, n_actions) when n_actions is given, else float32 [N, act_dim]."""
    parts = {k: [] for k in ("obs", "next_obs", "terminated", "truncated")}
    for i, n in enumerate([*lengths, unfinished] if unfinished else lengths):
        seq = rng.normal(size=(n + 1, obs_dim)).astype(np.float32)
        terminated, truncated = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        if i < len(lengths):  # a finished episode
            (terminated if i == 0 and first_terminated else truncated)[-1] = True
        parts["obs"].append(seq[:-1])
        parts["next_obs"].append(seq[1:])
        parts["terminated"].append(terminated)
        parts["truncated"].append(truncated)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    total = len(arrays["obs"])
    actions = (rng.integers(0, n_actions, size=total).astype(np.int64) if n_actions
               else rng.uniform(-1, 1, size=(total, act_dim)).astype(np.float32))
    return Dataset(arrays["obs"], actions, rng.normal(size=total).astype(np.float32), arrays["next_obs"],
                   arrays["terminated"], arrays["truncated"], metadata={"algo": "test", "seed": 7})


def collect_with_minari(dataset_id: str, env_id: str, episodes: int, max_episode_steps: int | None = None,
                        seed: int = 0):
    """A Minari dataset (hdf5) recorded by minari.DataCollector with random actions, written
    under MINARI_DATASETS_PATH (set it first); returns minari's MinariDataset."""
    import gymnasium as gym
    import minari

    kwargs = {"max_episode_steps": max_episode_steps} if max_episode_steps else {}
    env = minari.DataCollector(gym.make(env_id, **kwargs), record_infos=False, data_format="hdf5")
    env.action_space.seed(seed)
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        while True:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                break
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # minari's advice to name an author, a permalink, ...
        dataset = env.create_dataset(dataset_id, algorithm_name="random")
    env.close()
    return dataset


def minari_episodes_as_flat(minari_dataset) -> dict:
    """Minari's episodes as rlforge's flat fields (to compare with what rlforge reads)."""
    episodes = list(minari_dataset.iterate_episodes())
    return {"obs": np.concatenate([e.observations[:-1] for e in episodes]),
            "next_obs": np.concatenate([e.observations[1:] for e in episodes]),
            "actions": np.concatenate([e.actions for e in episodes]),
            "rewards": np.concatenate([e.rewards for e in episodes]),
            "terminated": np.concatenate([e.terminations for e in episodes]),
            "truncated": np.concatenate([e.truncations for e in episodes])}


BOX3 = json.dumps({"type": "Box", "dtype": "float32", "shape": [3], "low": [-1.0] * 3, "high": [1.0] * 3})
BOX1 = json.dumps({"type": "Box", "dtype": "float32", "shape": [1], "low": [-2.0], "high": [2.0]})


def write_minari_folder(folder: Path, episodes: list[dict] | None = None, **metadata) -> Path:
    """A Minari folder written by hand: `episodes` are dicts of arrays (or callables given the
    h5py group, to store odd things); metadata keys override the consistent defaults."""
    import h5py

    if episodes is None:
        rng = np.random.default_rng(0)
        episodes = [{"observations": rng.normal(size=(n + 1, 3)).astype(np.float32),
                     "actions": rng.uniform(-2, 2, size=(n, 1)).astype(np.float32),
                     "rewards": rng.normal(size=n), "terminations": np.zeros(n, bool),
                     "truncations": np.arange(n) == n - 1} for n in (5, 4)]
    data = folder / "data"
    data.mkdir(parents=True)
    steps = 0
    with h5py.File(data / "main_data.hdf5", "w") as file:
        for i, episode in enumerate(episodes):
            group = file.create_group(f"episode_{i}")
            for key, value in episode.items():
                if callable(value):
                    value(group)
                else:
                    group.create_dataset(key, data=value)
            steps += len(episode["rewards"]) if not callable(episode.get("rewards")) else 0
    body = {"dataset_id": folder.name if "-v" in folder.name else "test/hand-v0", "total_episodes": len(episodes),
            "total_steps": steps, "data_format": "hdf5", "jpeg_encoding": False, "observation_space": BOX3,
            "action_space": BOX1, "minari_version": "0.5.4", **metadata}
    (data / "metadata.json").write_text(json.dumps(body))
    return folder
