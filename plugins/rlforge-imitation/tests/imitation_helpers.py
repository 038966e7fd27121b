"""Test helpers: CS285-layout expert pickles with random weights, and their NumPy reference."""

import pickle
import sys
from pathlib import Path

import numpy as np



def cs285_expert(rng, obs_dim=5, act_dim=2, hidden=(8, 6), nonlin="tanh") -> dict:
    """A dict in exactly the layout of the CS285 hw1 expert pickles, with random weights."""
    mean = rng.normal(size=(1, obs_dim))
    layers, width = {}, obs_dim
    for i, size in enumerate(hidden):
        layers[f"layer_{2 * i}"] = {"AffineLayer": {"W": rng.normal(size=(width, size)) / np.sqrt(width),
                                                    "b": rng.normal(size=(1, size))}}
        width = size
    return {
        "nonlin_type": nonlin,
        "GaussianPolicy": {
            "obsnorm": {"Standardizer": {"mean_1_D": mean, "meansq_1_D": mean ** 2 + rng.uniform(0.5, 2.0, size=(1, obs_dim))}},
            "hidden": {"FeedforwardNet": layers},
            "out": {"AffineLayer": {"W": rng.normal(size=(width, act_dim)) / np.sqrt(width), "b": rng.normal(size=(1, act_dim))}},
            "logstdevs_1_Da": np.zeros((1, act_dim)),
        },
    }


def reference_actions(data: dict, obs: np.ndarray) -> np.ndarray:
    """The CS285 expert's mean action, computed in NumPy (float64) from the dict."""
    policy = data["GaussianPolicy"]
    norm = policy["obsnorm"]["Standardizer"]
    mean, meansq = norm["mean_1_D"], norm["meansq_1_D"]
    d = mean.shape[1]
    obs = np.asarray(obs, dtype=np.float64)
    obs = obs[:, :d] if obs.shape[1] >= d else np.pad(obs, ((0, 0), (0, d - obs.shape[1])))
    x = (obs - mean) / (np.sqrt(np.maximum(0.0, meansq - mean ** 2)) + 1e-6)
    net = policy["hidden"]["FeedforwardNet"]
    for name in sorted(net, key=lambda n: int(n.split("_")[1])):
        x = x @ net[name]["AffineLayer"]["W"] + net[name]["AffineLayer"]["b"]
        x = np.tanh(x) if data["nonlin_type"] == "tanh" else np.where(x > 0, x, 0.01 * x)
    return x @ policy["out"]["AffineLayer"]["W"] + policy["out"]["AffineLayer"]["b"]
