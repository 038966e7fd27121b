"""The rlforge conformance kit on every Box-action pair of this plugin: td3bc, and cql, awac and
iql on Pendulum-v1 (their discrete pairs have their own files), wholly offline and
offline-to-online (150 offline steps, then collecting), Cal-QL and the Lagrange variant too.

The data: 5 episodes of a scripted Pendulum controller with noise (offline_box_helpers), with
reference returns. Tiny networks keep each run to seconds."""

import pytest

from offline_box_helpers import pendulum_dataset
from rlforge.datasets import save_dataset

ENV = "Pendulum-v1"
TINY = {"hidden": [16, 16], "actor_hidden": [16, 16], "batch_size": 32}
EXTRA = {"td3bc": {}, "cql": {"cql_actions": 3}, "awac": {}, "iql": {"value_hidden": [16, 16]}}
ONLINE = {"offline_steps": 150, "learning_starts": 20, "buffer_size": 1000}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return str(save_dataset(pendulum_dataset(5, seed=0), tmp_path_factory.mktemp("data") / "pendulum.npz"))


@pytest.mark.parametrize("algo", ["td3bc", "cql", "awac", "iql"])
def test_conforms_offline(rlforge_check, dataset, algo):
    rlforge_check(algo, envs=[ENV], steps=300, overrides={**TINY, **EXTRA[algo], "dataset": dataset})


@pytest.mark.parametrize("algo", ["td3bc", "cql", "awac", "iql"])
def test_conforms_offline_to_online(rlforge_check, dataset, algo):
    rlforge_check(algo, envs=[ENV], steps=300, checks=["trains", "acting", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, **EXTRA[algo], "dataset": dataset, **ONLINE})


def test_calibrated_lagrange_cql_conforms_offline_to_online(rlforge_check, dataset):
    # Cal-QL holds online transitions until their episode ends (200 steps): 150 offline steps,
    # then 250 online, so one episode enters the buffer with its returns-to-go
    rlforge_check("cql", envs=[ENV], steps=400, checks=["trains", "checkpoint_round_trip", "resume_continues_run"],
                  overrides={**TINY, **EXTRA["cql"], "dataset": dataset, **ONLINE, "calibrated": True,
                             "cql_lagrange": True, "cql_target_action_gap": 1.0})


def test_tanh_gaussian_iql_conforms(rlforge_check, dataset):
    rlforge_check("iql", envs=[ENV], steps=300, checks=["trains", "acting", "checkpoint_round_trip"],
                  overrides={**TINY, **EXTRA["iql"], "dataset": dataset, "actor": "tanh_gaussian"})
