"""awac and iql: their math against hand-computed values, the agents' gradient steps against the
same math on their own networks, the step schedule (one per offline step), acting, configs,
the missing-dataset error and the maze pictures. Small fake spaces (2 floats in [0, 1], 5
actions) and a made-up dataset; the conformance kit and learning tests are in their own files."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlforge.agent import Progress, Transitions
from rlforge.datasets import Dataset, save_dataset
from rlforge.errors import RLForgeError
from rlforge_offline.actor import ActorPolicy
from rlforge_offline.advantage import (advantage_weights, awac_advantage, bootstrap_target, expectile_loss,
                                       policy_backup_target, weighted_log_likelihood_loss)
from rlforge_offline.awac import AWACAgent
from rlforge_offline.awac_config import AWACConfig
from rlforge_offline.iql import IQLAgent
from rlforge_offline.iql_config import IQLConfig

OBS = spaces.Box(0.0, 1.0, (2,), np.float32)
ACTIONS = spaces.Discrete(5)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def dataset_path(tmp_path):
    """300 made-up transitions: positions in [0, 1]^2, reward -1, every 50th terminal with reward 0."""
    rng = np.random.default_rng(0)
    n = 300
    terminated = np.zeros(n, dtype=bool)
    terminated[49::50] = True
    data = Dataset(obs=rng.random((n, 2), dtype=np.float32), actions=rng.integers(0, 5, n),
                   rewards=np.where(terminated, 0.0, -1.0).astype(np.float32),
                   next_obs=rng.random((n, 2), dtype=np.float32), terminated=terminated,
                   truncated=np.zeros(n, dtype=bool))
    return str(save_dataset(data, tmp_path / "made_up.npz"))


def awac(dataset_path, **values):
    config = AWACConfig(dataset=dataset_path, hidden=[16], actor_hidden=[16], batch_size=8, **values)
    return AWACAgent(config, OBS, ACTIONS)


def iql(dataset_path, **values):
    return IQLAgent(IQLConfig(dataset=dataset_path, hidden=[16], value_hidden=[16], actor_hidden=[16], batch_size=8,
                              **values), OBS, ACTIONS)


def offline(step=1, metrics_due=True):
    return Progress(step=step, total_steps=1000, iteration=step, metrics_due=metrics_due, offline=True)


# ----------------------------------------------------------------------------- the math


def test_expectile_loss_weights_each_sign_by_tau_or_one_minus_tau():
    diff = torch.tensor([2.0, -1.0])  # u = target - V: above V weighs tau, below weighs 1 - tau
    assert expectile_loss(diff, 0.9).item() == pytest.approx((0.9 * 4 + 0.1 * 1) / 2)
    assert expectile_loss(diff, 0.1).item() == pytest.approx((0.1 * 4 + 0.9 * 1) / 2)
    assert expectile_loss(torch.zeros(3), 0.99).item() == 0.0


def test_expectile_loss_at_one_half_is_half_the_squared_error():
    diff = torch.randn(64)
    assert expectile_loss(diff, 0.5).item() == pytest.approx(0.5 * F.mse_loss(diff, torch.zeros(64)).item(), rel=1e-6)


def test_expectile_loss_is_minimised_at_the_expectile():
    samples = torch.tensor([0.0, 1.0, 2.0, 10.0])
    # tau 0.99: m in (2, 10) solves 0.99 (10 - m) = 0.01 (3 m - 3), m = 9.93 / 1.02; tau 0.5: the mean
    for tau, expected in ((0.99, 9.93 / 1.02), (0.5, 3.25)):
        m = torch.tensor(expected, requires_grad=True)
        expectile_loss(samples - m, tau).backward()
        assert abs(m.grad.item()) < 1e-5
        for off in (-0.1, 0.1):  # and it is a minimum
            assert expectile_loss(samples - (expected + off), tau) > expectile_loss(samples - expected, tau)


def test_awac_advantage_is_q_minus_the_actors_expected_q():
    q_all = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    probs = torch.tensor([[0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    # V = 0.2 + 0.6 + 1.5 = 2.3 and (0 - 1 + 4) / 3 = 1
    advantages = awac_advantage(q_all, torch.tensor([2, 0]), probs)
    assert advantages.tolist() == pytest.approx([3.0 - 2.3, 0.0 - 1.0], abs=1e-6)


def test_advantage_weights_divide_by_the_temperature_and_clip_only_when_asked():
    advantages = torch.tensor([0.7, -1.0, 7.0])
    expected = [math.exp(0.07), math.exp(-0.1), math.exp(0.7)]
    assert advantage_weights(advantages, 10.0).tolist() == pytest.approx(expected)
    expected = [math.exp(7), math.exp(-10), math.exp(70)]
    assert advantage_weights(advantages, 0.1).tolist() == pytest.approx(expected, rel=1e-5)
    assert advantage_weights(advantages, 0.1, max_weight=100.0).tolist() == pytest.approx([100.0, math.exp(-10), 100.0])
    leaf = torch.tensor([1.0], requires_grad=True)
    assert not advantage_weights(leaf * 2, 1.0).requires_grad  # weights are data, not a path for gradients


def test_weighted_log_likelihood_loss_by_hand():
    logits = torch.zeros(2, 4, requires_grad=True)  # uniform: log pi = -log 4 for every action
    loss = weighted_log_likelihood_loss(logits, torch.tensor([1, 3]), torch.tensor([1.0, 3.0]))
    assert loss.item() == pytest.approx((1.0 + 3.0) * math.log(4) / 2)
    loss.backward()
    # d/dlogits of -w log softmax: w * (pi - onehot) / B
    expected = torch.tensor([[0.25, -0.75, 0.25, 0.25], [0.75, 0.75, 0.75, -2.25]]) / 2
    assert torch.allclose(logits.grad, expected)


def test_awac_critic_target_values_the_next_state_under_the_actor():
    target = policy_backup_target(torch.tensor([-1.0, 0.0]), torch.tensor([0.0, 1.0]), 0.9,
                                  torch.tensor([[1.0, 3.0], [5.0, 5.0]]), torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    assert target.tolist() == pytest.approx([-1.0 + 0.9 * 2.0, 0.0])  # the terminal row does not bootstrap


def test_iql_critic_target_bootstraps_from_the_value():
    target = bootstrap_target(torch.tensor([-1.0, -1.0]), torch.tensor([False, True]), 0.95, torch.tensor([-10.0, 7.0]))
    assert target.tolist() == pytest.approx([-1.0 - 9.5, -1.0])


# ----------------------------------------------------------------------------- gradient steps


def batch_of(agent, size=8):
    return agent.data.sample(size)


def test_awac_gradient_step_uses_the_course_losses(dataset_path):
    agent = awac(dataset_path, temperature=2.0)
    batch = batch_of(agent)
    obs, actions = batch["obs"], batch["actions"]
    with torch.no_grad():  # everything from the networks before the step
        next_probs = torch.softmax(agent.actor.net(batch["next_obs"]), -1)
        next_value = (next_probs * agent.critic.target(batch["next_obs"])).sum(-1)
        target = batch["rewards"] + 0.95 * (1 - batch["terminated"]) * next_value
        q_all = agent.critic.net(obs)
        q_taken = q_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        logits = agent.actor.net(obs)
        probs = torch.softmax(logits, -1)
        weights = torch.exp((q_taken - (probs * q_all).sum(-1)) / 2.0)
        actor_loss = -(weights * torch.log(probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1))).mean()
    values = agent.gradient_step(batch)
    assert values["charts/target_mean"].item() == pytest.approx(target.mean().item(), rel=1e-5)
    assert values["losses/critic"].item() == pytest.approx(F.mse_loss(q_taken, target).item(), rel=1e-5)
    assert values["losses/actor"].item() == pytest.approx(actor_loss.item(), rel=1e-5)
    assert values["charts/weight_mean"].item() == pytest.approx(weights.mean().item(), rel=1e-5)
    with torch.no_grad():
        assert not torch.equal(agent.actor.net(obs), logits)  # both networks moved
        assert not torch.equal(agent.critic.net(obs), q_all)


def test_iql_gradient_step_uses_the_course_losses(dataset_path):
    agent = iql(dataset_path, expectile=0.8, temperature=3.0)
    batch = batch_of(agent)
    obs, actions = batch["obs"], batch["actions"]
    with torch.no_grad():
        agent.value.target[-1].bias.add_(5.0)  # the target V differs from V: the critic must use the target
        target = batch["rewards"] + 0.95 * (1 - batch["terminated"]) * agent.value.target(batch["next_obs"]).squeeze(-1)
        q_taken = agent.critic.net(obs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        agent.critic.target[-1].bias.add_(1.0)  # and the value and actor use the target Q
        q_target = agent.critic.target(obs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        v = agent.value.net(obs).squeeze(-1)
        u = q_target - v
        value_loss = (torch.where(u < 0, 0.2, 0.8) * u ** 2).mean()
        weights = torch.exp(u / 3.0)
        log_probs = torch.log_softmax(agent.actor.net(obs), -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        actor_loss = -(weights * log_probs).mean()
    values = agent.gradient_step(batch)
    assert values["charts/target_mean"].item() == pytest.approx(target.mean().item(), rel=1e-5)
    assert values["losses/critic"].item() == pytest.approx(F.mse_loss(q_taken, target).item(), rel=1e-5)
    assert values["losses/value"].item() == pytest.approx(value_loss.item(), rel=1e-5)
    assert values["charts/advantage_mean"].item() == pytest.approx(u.mean().item(), rel=1e-5, abs=1e-6)
    assert values["losses/actor"].item() == pytest.approx(actor_loss.item(), rel=1e-5)


def test_iql_copies_both_targets_every_target_period(dataset_path):
    agent = iql(dataset_path, target_period=3)
    obs = torch.rand(4, 2)
    for step in range(1, 7):
        agent.gradient_step(batch_of(agent))
        with torch.no_grad():
            same_v = torch.equal(agent.value.target(obs), agent.value.net(obs))
            same_q = torch.equal(agent.critic.target(obs), agent.critic.net(obs))
        assert same_v == same_q == (step % 3 == 0), step


def test_one_gradient_step_per_offline_step(dataset_path):
    for agent in (awac(dataset_path), iql(dataset_path)):
        for step in range(1, 4):
            metrics = agent.update(offline(step, metrics_due=step == 3))
            assert agent.critic.gradient_steps == step
        assert set(metrics) >= {"losses/critic", "losses/actor", "charts/q_mean", "charts/advantage_mean",
                                "charts/weight_mean"}
        assert all(math.isfinite(v) for v in metrics.values())
        assert agent.update(offline(4, metrics_due=False)) == {}  # floats only when a row is due


def test_online_steps_follow_learning_starts(dataset_path):
    agent = iql(dataset_path, offline_steps=2, learning_starts=3, buffer_size=100)
    assert agent.data.buffer.capacity == 300 + 100
    for step in range(1, 3):
        agent.update(offline(step))
    rng = np.random.default_rng(1)

    def transitions(k):
        obs = rng.random((k, 1, 2), dtype=np.float32)
        return Transitions(obs, rng.integers(0, 5, (k, 1)), -np.ones((k, 1), np.float32), obs,
                           np.zeros((k, 1), bool), np.zeros((k, 1), bool))

    # 2 env steps (fewer than learning_starts: no step), then one gradient step per new env step
    for collected, expected in ((2, 2), (1, 3), (2, 5)):
        agent.observe(transitions(collected))
        agent.update(Progress(step=0, total_steps=1000, iteration=0, metrics_due=False))
        assert agent.critic.gradient_steps == expected
    assert len(agent.data.buffer) == 305


def test_a_wholly_offline_run_keeps_no_room_for_online_data(dataset_path):
    assert awac(dataset_path).data.buffer.capacity == 300  # offline_steps null: the dataset only


def test_a_missing_dataset_is_a_one_line_error():
    for make, config in ((AWACAgent, AWACConfig()), (IQLAgent, IQLConfig())):
        with pytest.raises(RLForgeError, match="learns from a dataset: set dataset=") as error:
            make(config, OBS, ACTIONS)
        assert "\n" not in str(error.value)


def test_state_dict_continues_exactly(dataset_path):
    for make in (awac, iql):
        first = make(dataset_path)
        for step in range(1, 4):
            first.update(offline(step))
        state = first.state_dict()
        second = make(dataset_path)
        second.load_state_dict(state)
        assert second.update(offline(4, metrics_due=False)) == {}
        first.update(offline(4, metrics_due=False))
        assert first.latest.floats() == second.latest.floats()
        obs = np.random.default_rng(0).random((8, 2), dtype=np.float32)
        assert np.array_equal(first.policy.act(obs, deterministic=True), second.policy.act(obs, deterministic=True))


# ----------------------------------------------------------------------------- acting


def fixed_policy(probs, epsilon=0.0):
    """An ActorPolicy whose network gives log(probs) for every observation."""
    net = torch.nn.Sequential(torch.nn.Linear(2, len(probs)))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.log(torch.tensor(probs)))
    return ActorPolicy(net, len(probs), epsilon)


def test_policy_acts_greedily_in_evaluation_and_samples_pi_while_collecting():
    probs = [0.1, 0.6, 0.0, 0.3, 0.0]
    policy = fixed_policy(probs)
    obs = np.random.default_rng(0).random((20_000, 2), dtype=np.float32)
    assert np.array_equal(policy.act(obs[:5], deterministic=True), np.ones(5, dtype=np.int64))
    actions = policy.act(obs)
    assert actions.dtype == np.int64
    frequencies = np.bincount(actions, minlength=5) / len(actions)
    assert frequencies == pytest.approx(probs, abs=0.015)


def test_policy_epsilon_mixes_in_uniform_actions():
    policy = fixed_policy([0.0, 0.0, 1.0, 0.0, 0.0], epsilon=0.5)
    actions = policy.act(np.zeros((20_000, 2), np.float32))
    # half of the actions uniform: each other action 0.1, action 2: 0.5 + 0.1
    assert np.bincount(actions, minlength=5) / len(actions) == pytest.approx([0.1, 0.1, 0.6, 0.1, 0.1], abs=0.015)


def test_sampling_draws_from_numpys_global_generator():
    policy = fixed_policy([0.2] * 5)
    obs = np.zeros((50, 2), np.float32)
    np.random.seed(3)
    first = policy.act(obs)
    np.random.seed(3)
    assert np.array_equal(policy.act(obs), first)


# ----------------------------------------------------------------------------- configs and pictures


@pytest.mark.parametrize("config, values, message", [
    (IQLConfig, {"expectile": 1.0}, "expectile must be in"),
    (IQLConfig, {"value_hidden": []}, "value_hidden"),
    (IQLConfig, {"value_lr": 0.0}, "value_lr"),
    (AWACConfig, {"temperature": 0.0}, "temperature"),
    (AWACConfig, {"actor_hidden": [0]}, "actor_hidden"),
    (AWACConfig, {"max_weight": -1.0}, "max_weight"),
    (IQLConfig, {"actor_lr": float("nan")}, "actor_lr"),
])
def test_configs_refuse_bad_values(config, values, message):
    with pytest.raises(ValueError, match=message):
        config(**values)


def test_course_defaults():
    awac_config, iql_config = AWACConfig(), IQLConfig()
    assert (awac_config.temperature, awac_config.actor_hidden, awac_config.actor_lr,
            awac_config.lr) == (10.0, [128, 128], 3e-4, 1e-3)
    assert (iql_config.expectile, iql_config.temperature, iql_config.value_hidden, iql_config.value_lr,
            iql_config.lr) == (0.99, 10.0, [64, 64], 3e-4, 3e-4)
    assert awac_config.offline_steps is None and iql_config.offline_steps is None
    assert awac_config.epsilon == iql_config.epsilon == 0.0  # the actor's samples explore


def test_no_pictures_off_the_mazes(dataset_path):
    assert awac(dataset_path).evaluation_images() == {}
    assert iql(dataset_path).evaluation_images() == {}


def test_maze_pictures_and_coverage_on_pointmass(dataset_path):
    for make, config in ((AWACAgent, AWACConfig), (IQLAgent, IQLConfig)):
        agent = make(config(dataset=dataset_path, hidden=[16], actor_hidden=[16], batch_size=8), OBS, ACTIONS,
                     env_id="PointmassEasy-v0")
        images = agent.evaluation_images()
        assert set(images) == {"visits", "value"}
        for image in images.values():
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
        coverage = agent.update(offline())["charts/state_coverage"]
        assert 0.0 < coverage <= 1.0


@pytest.mark.parametrize("config_class", [AWACConfig, IQLConfig])
def test_double_q_false_is_refused_where_the_target_takes_no_maximum(config_class):
    with pytest.raises(ValueError, match="double_q cannot be false here"):
        config_class(double_q=False)
    assert config_class().double_q
