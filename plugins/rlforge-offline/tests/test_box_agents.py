"""The Box-action agents (td3bc; cql, awac, iql on Box actions): one registered name per
algorithm building the implementation of the env's kind of actions from one config; each
agent's gradient step against its math on the agent's own networks; acting, export, and the
normalised score at evaluation. Pendulum-v1 spaces and a small scripted-controller dataset."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from offline_box_helpers import pendulum_dataset
from rlforge.agent import Progress
from rlforge.datasets import Dataset, save_dataset
from rlforge.errors import RLForgeError
from rlforge.evaluation import EvalResult
from rlforge.plugins import get_registry
from rlforge_offline.advantage import expectile_loss
from rlforge_offline.algorithms import CQLSettings, IQLSettings
from rlforge_offline.box_awac import BoxAWACAgent
from rlforge_offline.box_cql import BoxCQLAgent
from rlforge_offline.box_iql import BoxIQLAgent, cosine_lr
from rlforge_offline.box_losses import cql_soft_maximum
from rlforge_offline.cql import CQLAgent
from rlforge_offline.td3bc import TD3BCAgent
from rlforge_offline.variants import config_for_kind

OBS = spaces.Box(-np.inf, np.inf, (3,), np.float32)
TORQUE = spaces.Box(-2.0, 2.0, (1,), np.float32)
SMALL = {"hidden": [16, 16], "actor_hidden": [16, 16], "batch_size": 16}


@pytest.fixture(autouse=True)
def seeded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return str(save_dataset(pendulum_dataset(2, seed=1), tmp_path_factory.mktemp("data") / "pendulum.npz"))


def build(algo: str, dataset: str, **values):
    spec = get_registry().algorithm(algo)
    config = spec.config_class()(dataset=dataset, **{**SMALL, **values})
    return spec.build_agent(config, OBS, TORQUE)


def offline(step=1):
    return Progress(step=step, total_steps=1000, iteration=step, metrics_due=True, offline=True)


# ----------------------------------------------------------------------------- one name, two kinds


def test_the_env_picks_the_implementation(dataset, tmp_path):
    assert isinstance(build("cql", dataset), BoxCQLAgent)
    assert isinstance(build("iql", dataset, value_hidden=[16]), BoxIQLAgent)
    assert isinstance(build("awac", dataset), BoxAWACAgent)
    assert isinstance(build("td3bc", dataset), TD3BCAgent)
    spec = get_registry().algorithm("cql")
    assert spec.action_spaces == ("box", "discrete") and get_registry().algorithm("td3bc").action_spaces == ("box",)
    rng = np.random.default_rng(0)
    discrete_data = Dataset(obs=rng.normal(size=(20, 3)).astype(np.float32), actions=rng.integers(0, 3, 20),
                            rewards=np.zeros(20, np.float32), next_obs=rng.normal(size=(20, 3)).astype(np.float32),
                            terminated=np.zeros(20, bool), truncated=np.zeros(20, bool))
    path = str(save_dataset(discrete_data, tmp_path / "discrete.npz"))
    agent = spec.build_agent(spec.config_class()(dataset=path), OBS, spaces.Discrete(3))
    assert isinstance(agent, CQLAgent) and agent.config.hidden == [64, 64] and agent.config.gamma == 0.95


def test_auto_keys_take_each_kinds_own_default():
    combined = CQLSettings()
    box, discrete = config_for_kind(combined, "box"), config_for_kind(combined, "discrete")
    assert (box.hidden, box.gamma, box.batch_size, box.cql_alpha) == ([256, 256, 256], 0.99, 256, 5.0)
    assert (discrete.hidden, discrete.gamma, discrete.batch_size, discrete.cql_alpha) == ([64, 64], 0.95, 128, 1.0)
    given = config_for_kind(CQLSettings(gamma=0.9, hidden=[8]), "box")
    assert (given.gamma, given.hidden) == (0.9, [8])
    iql = config_for_kind(IQLSettings(), "box")
    assert (iql.expectile, iql.temperature, iql.max_weight) == (0.7, pytest.approx(1 / 3), 100.0)
    assert config_for_kind(IQLSettings(), "discrete").max_weight is None


def test_keys_of_the_other_kind_are_refused_and_bad_values_caught_at_build(dataset):
    with pytest.raises(ValueError, match="double_q applies to discrete actions only"):
        config_for_kind(CQLSettings(double_q=False), "box")
    with pytest.raises(ValueError, match="calibrated applies to Box actions only"):
        config_for_kind(CQLSettings(calibrated=True), "discrete")
    with pytest.raises(ValueError, match="expectile"):
        build("iql", dataset, expectile=1.5)


def test_a_bad_box_value_is_a_one_line_error_before_the_run_starts(dataset, tmp_path):
    from rlforge import training

    run_dir = tmp_path / "run"
    with pytest.raises(RLForgeError, match="cannot build iql for Pendulum-v1: expectile"):
        training.train("iql", "Pendulum-v1", None, ["expectile=1.5", f"dataset={dataset}"], {"device": "cpu"},
                       str(run_dir))
    assert not run_dir.exists()


# ----------------------------------------------------------------------------- gradient steps


def test_td3bc_steps_its_actor_and_targets_every_policy_delay_steps(dataset):
    agent = build("td3bc", dataset, policy_delay=2)
    actor = [p.detach().clone() for p in agent.actor.parameters()]
    target_actor = [p.detach().clone() for p in agent.target_actor.parameters()]
    agent.update(offline(1))
    assert all(torch.equal(a, p) for a, p in zip(actor, agent.actor.parameters()))
    assert all(torch.equal(a, p) for a, p in zip(target_actor, agent.target_actor.parameters()))
    metrics = agent.update(offline(2))
    assert not all(torch.equal(a, p) for a, p in zip(actor, agent.actor.parameters()))
    assert not all(torch.equal(a, p) for a, p in zip(target_actor, agent.target_actor.parameters()))
    assert {"losses/critic", "losses/actor", "losses/bc", "charts/lambda"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())


def test_td3bc_critic_target_is_the_smoothed_clipped_double_q_target(dataset):
    agent = build("td3bc", dataset, policy_noise=0.0)
    batch = agent.data.sample(8)
    with torch.no_grad():
        next_actions = torch.tanh(agent.target_actor(batch["next_obs"]))
        next_q = torch.stack([agent.critics.target_q(batch["next_obs"], next_actions)[i] for i in range(2)]).amin(0)
        expected = batch["rewards"] + 0.99 * (1 - batch["terminated"]) * next_q
    torch.testing.assert_close(agent.critic_target(batch), expected)


def test_iql_value_step_fits_the_expectile_of_the_target_critics(dataset):
    agent = build("iql", dataset, value_hidden=[16], expectile=0.8)
    batch = agent.data.sample(16)
    with torch.no_grad():
        q_target = agent.critics.target_q(batch["obs"], batch["actions"]).amin(0)
        expected = expectile_loss(q_target - agent.value(batch["obs"]).squeeze(-1), 0.8)
    metrics = agent.gradient_step(batch, offline())
    assert metrics["losses/value"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert metrics["charts/weight_max"].item() <= 100.0


def test_iql_cosine_actor_learning_rate():
    assert cosine_lr(3e-4, 0, 100) == pytest.approx(3e-4)
    assert cosine_lr(3e-4, 50, 100) == pytest.approx(1.5e-4)
    assert cosine_lr(3e-4, 100, 100) == 0.0


def test_iql_actor_learning_rate_decays_only_in_a_wholly_offline_run(dataset):
    agent = build("iql", dataset, value_hidden=[16])
    agent.gradient_steps = 500
    assert agent.actor_learning_rate(offline(500)) == pytest.approx(3e-4 * 0.5)
    finetuning = build("iql", dataset, value_hidden=[16], offline_steps=100)
    finetuning.gradient_steps = 50
    assert finetuning.actor_learning_rate(offline(50)) == 3e-4


def test_cql_penalty_matches_its_math_with_the_same_sampled_actions(dataset):
    agent = build("cql", dataset, cql_actions=4, cql_alpha=2.0)
    batch = agent.data.sample(8)
    state = torch.get_rng_state()
    metrics = agent._critic_step(batch, alpha=2.0)
    # recompute with the pre-step networks (a fresh agent built as the first was) and the same draws
    torch.manual_seed(0)
    np.random.seed(0)
    fresh = build("cql", dataset, cql_actions=4, cql_alpha=2.0)
    torch.set_rng_state(state)
    fresh.critic_target(batch)  # the target's draw comes first, as in the step
    sampled, log_pi, log_pi_next = fresh.sampled_actions(batch["obs"], batch["next_obs"])
    with torch.no_grad():
        q = fresh.critics(batch["obs"], batch["actions"])
        q_sampled = fresh.critics(batch["obs"].expand(12, *batch["obs"].shape), sampled)
        soft = cql_soft_maximum(q_sampled[:, :4], q_sampled[:, 4:8], q_sampled[:, 8:], log_pi, log_pi_next, 1)
    assert metrics["charts/ood_q_mean"].item() == pytest.approx(soft.mean().item(), rel=1e-5)
    assert metrics["losses/cql_penalty"].item() == pytest.approx(2.0 * (soft - q).mean().item(), rel=1e-4, abs=1e-6)


def test_cql_with_alpha_zero_is_sac_without_the_penalty(dataset):
    agent = build("cql", dataset, cql_alpha=0.0)
    metrics = agent.gradient_step(agent.data.sample(16), offline())
    assert "losses/cql_penalty" not in metrics
    assert metrics["losses/critic"].item() == pytest.approx(metrics["losses/td"].item(), rel=1e-6)


def test_calibrated_cql_lifts_the_policys_values_to_the_returns_to_go(dataset):
    agent = build("cql", dataset, calibrated=True, cql_actions=3)
    batch = agent.data.sample(16)
    batch["mc_returns"] = torch.full((16,), 1e4)  # far above any Q: every sampled policy value is lifted
    metrics = agent._critic_step(batch, alpha=1.0)
    assert metrics["charts/calibration_rate"].item() == 1.0
    # the soft maximum is then G + log sum_i exp(-log pi_i) over the 6 policy samples: near G
    assert abs(metrics["charts/ood_q_mean"].item() - 1e4) < 50.0


def test_cql_online_penalty_weight(dataset):
    agent = build("cql", dataset, cql_alpha=5.0, online_cql_alpha=0.5, offline_steps=10)
    assert agent.penalty_weight(offline()) == 5.0
    assert agent.penalty_weight(Progress(step=20, total_steps=100, iteration=20)) == 0.5


def test_awac_actor_weights_use_the_critics_advantage(dataset):
    agent = build("awac", dataset, temperature=1.0)
    metrics = agent.gradient_step(agent.data.sample(16), offline())
    assert 0.0 < metrics["charts/weight_max"].item() <= 100.0
    assert {"losses/critic", "losses/actor", "charts/advantage_mean"} <= set(metrics)


# ----------------------------------------------------------------------------- acting, export, score


@pytest.mark.parametrize("algo", ["td3bc", "cql", "awac", "iql"])
def test_acting_in_the_envs_units(dataset, algo):
    agent = build(algo, dataset, **({"value_hidden": [16]} if algo == "iql" else {}))
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    greedy = agent.policy.act(obs, deterministic=True)
    assert greedy.shape == (5, 1) and greedy.dtype == np.float32
    np.testing.assert_array_equal(greedy, agent.policy.act(obs, deterministic=True))
    sampled = agent.policy.act(obs)
    assert np.all(np.abs(sampled) <= 2.0)
    with torch.no_grad():  # the deterministic action: tanh of the mean of the standardised observation, x 2
        x = (torch.as_tensor(obs) - agent.policy.obs_mean) / agent.policy.obs_std
        np.testing.assert_allclose(greedy, 2.0 * agent.actor.mode(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo", ["td3bc", "cql", "iql"])
def test_exported_files_act_as_the_policy(tmp_path, dataset, algo):
    from rlforge.testing.export_parity import check_export_parity, train_small

    extra = {"value_hidden": [16]} if algo == "iql" else {}
    run = train_small(algo, "Pendulum-v1", tmp_path, steps=50, overrides={**SMALL, **extra, "dataset": dataset})
    check_export_parity(run, tmp_path / "export")


def test_evaluation_metrics_give_the_normalised_score(dataset):
    agent = build("td3bc", dataset)
    score = agent.evaluation_metrics(EvalResult(step=1, returns=[-145.0, -145.0], lengths=[200, 200]))
    assert score == {"eval/normalized_score": pytest.approx(100.0)}


def test_an_offline_run_logs_its_normalised_score(tmp_path, dataset):
    import csv

    from offline_box_helpers import PENDULUM_EXPERT, PENDULUM_RANDOM
    from rlforge.testing.export_parity import train_small

    run = train_small("td3bc", "Pendulum-v1", tmp_path, steps=20, overrides={**SMALL, "dataset": dataset})
    rows = {(r["step"], r["tag"]): float(r["value"]) for r in csv.DictReader(open(run / "metrics.csv"))}
    returns = {step: value for (step, tag), value in rows.items() if tag == "eval/return_mean"}
    assert returns
    for step, mean in returns.items():
        expected = 100.0 * (mean - PENDULUM_RANDOM) / (PENDULUM_EXPERT - PENDULUM_RANDOM)
        assert rows[(step, "eval/normalized_score")] == pytest.approx(expected, rel=1e-5)


# ----------------------------------------------------------------------------- presets


def test_every_box_preset_gives_valid_settings_of_its_algorithm():
    from dataclasses import is_dataclass

    from rlforge import config as cfgmod
    from rlforge.presets import find_preset

    checked = 0
    for algo in ("td3bc", "iql", "cql", "awac"):
        spec = get_registry().algorithm(algo)
        for env in ("Pendulum-v1", "HalfCheetah-v4", "Hopper-v4", "Walker2d-v4"):
            assert find_preset(spec, env) is not None, (algo, env)
            resolved = cfgmod.resolve(spec, env, None, {})
            agent_config = resolved.agent
            own = config_for_kind(agent_config, "box") if hasattr(type(agent_config), "variants") else agent_config
            assert is_dataclass(own) and own.gamma == 0.99
            checked += 1
    assert checked == 16
