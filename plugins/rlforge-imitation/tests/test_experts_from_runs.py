"""Experts from rlforge runs: a SAC (or CrossQ) run's actor exported to an expert file acts as the run's
policy does (deterministically); a run directory is itself an expert; loading one leaves the
global RNGs alone; the shipped experts load."""

import json
import random

import numpy as np
import pytest
import torch

from cli_helpers import cli_env, run_cli
from rlforge_imitation.experts import load_expert, load_expert_file, load_run_policy, shipped_dir, shipped_experts

ENV = cli_env(RLFORGE_LOAD_PLUGINS="imitation,sac")


@pytest.fixture(scope="module")
def sac_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sac")
    result = run_cli(["train", "--algo", "sac", "--env", "Pendulum-v1", "--steps", "300", "--run-dir", "run",
                      "--set", "torch_threads=1", "--set", "actor_hidden=[16,16]", "--set", "critic_hidden=[16]",
                      "--set", "random_steps=100", "--set", "learning_starts=100", "--set", "eval_episodes=1"],
                     cwd=tmp, env=ENV)
    assert result.returncode == 0, result.stderr
    return tmp / "run"


def test_export_keeps_the_deterministic_actor(sac_run, tmp_path):
    result = run_cli(["expert", "export", str(sac_run), "--out", "pend", "--eval-episodes", "2"], cwd=tmp_path, env=ENV)
    assert result.returncode == 0, result.stderr
    info = json.loads((tmp_path / "pend.json").read_text())
    assert info["source"]["algo"] == "sac" and info["source"]["step"] == 300 and info["env"] == "Pendulum-v1"
    assert info["source"]["training_command"].startswith("rlforge train --algo sac --env Pendulum-v1")
    assert info["export_command"].startswith("rlforge expert export")
    policy, _ = load_run_policy(sac_run)
    expert = load_expert_file(tmp_path / "pend.json")
    obs = np.random.default_rng(0).normal(size=(256, 3)).astype(np.float32) * 2
    np.testing.assert_allclose(expert.act(obs), policy.act(obs, deterministic=True), atol=1e-5)
    assert (tmp_path / "pend.safetensors").stat().st_size < 10_000


def test_export_refuses_to_overwrite_an_expert_file_unless_forced(sac_run, tmp_path):
    (tmp_path / "pend.safetensors").write_bytes(b"someone's expert")
    result = run_cli(["expert", "export", str(sac_run), "--out", "pend.json", "--eval-episodes", "0"],
                     cwd=tmp_path, env=ENV)
    assert result.returncode == 2 and "pend.safetensors' already exists" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "pend.safetensors").read_bytes() == b"someone's expert" and not (tmp_path / "pend.json").exists()
    result = run_cli(["expert", "export", str(sac_run), "--out", "pend.json", "--eval-episodes", "0", "--force"],
                     cwd=tmp_path, env=ENV)
    assert result.returncode == 0, result.stderr
    load_expert_file(tmp_path / "pend.json")
    # readable by the group and others (safetensors' own save_file would have made it 0600)
    assert (tmp_path / "pend.safetensors").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_crossq_actor_exports_with_its_batch_renormalisation_folded_in(tmp_path):
    from rlforge.batch_renorm import renorm_layers

    result = run_cli(["train", "--algo", "crossq", "--env", "Pendulum-v1", "--steps", "300", "--run-dir", "run",
                      "--set", "torch_threads=1", "--set", "actor_hidden=[16,16]", "--set", "critic_hidden=[16]",
                      "--set", "random_steps=100", "--set", "learning_starts=100", "--set", "bn_warmup_steps=50",
                      "--set", "eval_episodes=1"], cwd=tmp_path, env=ENV)
    assert result.returncode == 0, result.stderr
    result = run_cli(["train", "--resume", "run", "--steps", "350"], cwd=tmp_path, env=ENV)  # trained further
    assert result.returncode == 0, result.stderr
    result = run_cli(["expert", "export", "run", "--out", "pend", "--eval-episodes", "0"], cwd=tmp_path, env=ENV)
    assert result.returncode == 0, result.stderr
    source = json.loads((tmp_path / "pend.json").read_text())["source"]
    assert source["step"] == 350 and source["training_command"].startswith("rlforge train --algo crossq")
    assert source["resume_commands"] == ["rlforge train --resume run --steps 350"]
    policy, _ = load_run_policy(tmp_path / "run")
    layers = renorm_layers(policy)
    assert len(layers) == 3 and all(int(layer.steps) > 0 for layer in layers)  # statistics that moved
    assert not torch.allclose(layers[0].running_var, torch.ones_like(layers[0].running_var))
    expert = load_expert_file(tmp_path / "pend.json")
    assert expert.hidden == [16, 16] and json.loads((tmp_path / "pend.json").read_text())["source"]["algo"] == "crossq"
    obs = np.random.default_rng(0).normal(size=(256, 3)).astype(np.float32) * 2
    np.testing.assert_allclose(expert.act(obs), policy.act(obs, deterministic=True), atol=1e-5)


def test_only_sac_family_runs_export(tmp_path):
    result = run_cli(["train", "--algo", "td3", "--env", "Pendulum-v1", "--steps", "50", "--run-dir", "run",
                      "--set", "torch_threads=1", "--set", "random_steps=50", "--set", "eval_episodes=1"],
                     cwd=tmp_path, env=cli_env(RLFORGE_LOAD_PLUGINS="imitation,td3"))
    assert result.returncode == 0, result.stderr
    result = run_cli(["expert", "export", "run", "--out", "pend"], cwd=tmp_path, env=cli_env(RLFORGE_LOAD_PLUGINS="imitation,td3"))
    assert result.returncode == 2 and "only sac, bc-sac, crossq runs can be exported" in result.stderr
    assert not (tmp_path / "pend.json").exists()


def test_a_run_directory_is_an_expert_and_loading_it_leaves_global_rngs_alone(sac_run):
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    before = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    expert = load_expert(str(sac_run))
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == before
    obs = np.zeros((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(expert.act(obs, deterministic=True), expert.act(obs, deterministic=True))


def test_shipped_experts_load_with_their_recorded_return():
    assert "HalfCheetah-v4" in shipped_experts()
    for name in shipped_experts():
        info = json.loads((shipped_dir() / f"{name}.json").read_text())
        assert info["evaluation"]["episodes"] == 10 and info["export_command"].startswith("rlforge expert export")
        assert info["source"]["training_command"].startswith(("rlforge train --algo sac", "rlforge train --algo crossq"))
        expert = load_expert(name)
        assert expert.act(np.zeros((1, expert.in_dim), np.float32)).shape == (1, expert.act_dim)
        assert (shipped_dir() / f"{name}.safetensors").stat().st_size < 1_000_000
