"""Learning tests of the Box-action agents: td3bc, iql, awac and cql, trained wholly offline on
Pendulum-v1 from 20 episodes (4,000 transitions) of a scripted swing-up controller with Gaussian
noise (std 0.5) and 30% uniformly random torques (the data's mean return about -237; random
actions score about -1197, the noiseless controller -145), with the Pendulum-v1 presets
(configs/<algo>/Pendulum-v1.yaml: 2x64 networks, standardised observations). Each run stops at
the first evaluation (every 1,000 gradient steps, 5 episodes) reaching its threshold, at most
10,000 steps. The thresholds were checked on seeds 1-3 first (docs/offline.md).
"""

import json

import pytest

from offline_box_helpers import pendulum_dataset
from rlforge.datasets import save_dataset

THRESHOLDS = {"td3bc": -400.0, "iql": -550.0, "awac": -550.0, "cql": -700.0}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return str(save_dataset(pendulum_dataset(20, noise=0.5, random_share=0.3, seed=0),
                            tmp_path_factory.mktemp("data") / "pendulum.npz"))


@pytest.mark.learning
@pytest.mark.parametrize("algo", sorted(THRESHOLDS))
def test_learns_pendulum_offline(tmp_path, dataset, algo):
    from rlforge import training
    from rlforge.console import console

    run = tmp_path / "run"
    quiet, console.quiet = console.quiet, True
    try:
        status = training.train(algo, "Pendulum-v1", None, [f"dataset={dataset}"],
                                {"seed": 1, "device": "cpu", "torch_threads": 1, "stop_at_return": THRESHOLDS[algo]},
                                str(run))
    finally:
        console.quiet = quiet
    assert status == 0
    meta = json.loads((run / "meta.json").read_text())
    assert meta.get("reached_return_at") is not None, meta["last_eval"]
    assert meta["last_eval"]["return_mean"] >= THRESHOLDS[algo]
