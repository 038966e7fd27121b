"""The pg, a2c and ppo agents on CartPole's and Pendulum's spaces with made-up experience:
acting, updates, what the updates use, and the state round trip through a checkpoint."""


import gymnasium as gym
import numpy as np
import pytest
import torch

from rlforge import checkpoint
from rlforge.agent import Progress, Transitions
from rlforge_pg.a2c import A2CAgent
from rlforge_pg.common import PGPolicy
from rlforge_pg.config import A2CConfig, PGConfig, PPOConfig
from rlforge_pg.pg import PGAgent
from rlforge_pg.ppo import PPOAgent

CARTPOLE = (gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(2))
PENDULUM = (gym.spaces.Box(np.array([-1, -1, -8], np.float32), np.array([1, 1, 8], np.float32)),
            gym.spaces.Box(-2.0, 2.0, (1,), np.float32))
SPACES = {"discrete": CARTPOLE, "box": PENDULUM}

AGENTS = {
    "pg": (PGAgent, PGConfig, dict(hidden=[16], batch_size=32, use_baseline=True, gae_lambda=0.9,
                                   reward_to_go=True, normalize_advantages=True)),
    "pg_plain": (PGAgent, PGConfig, dict(hidden=[16], batch_size=32)),
    "a2c": (A2CAgent, A2CConfig, dict(hidden=[16], n_steps=16, normalize_obs=True)),
    "a2c_separate": (A2CAgent, A2CConfig, dict(hidden=[16], n_steps=16, separate_optimizers=True, optimizer="adam",
                                               gae_lambda=0.95, anneal_lr=True)),
    "ppo": (PPOAgent, PPOConfig, dict(hidden=[16], n_steps=16, num_minibatches=2, update_epochs=2,
                                      normalize_obs=True, normalize_reward=True, target_kl=0.5)),
}


def make(name, kind, num_envs=2, seed=0, **overrides):
    cls, config_cls, values = AGENTS[name]
    torch.manual_seed(seed)
    obs_space, act_space = SPACES[kind]
    return cls(config_cls(**{**values, **overrides}), obs_space, act_space, num_envs=num_envs, device="cpu")


def rollout(agent, seed=0) -> Transitions:
    """A rollout of the agent's own actions on random observations, with some episode ends."""
    rng = np.random.default_rng(seed)
    steps, n = agent.steps_per_iteration, agent.num_envs
    obs_space = agent.observation_space
    low = np.where(np.isfinite(obs_space.low), obs_space.low, -2)
    high = np.where(np.isfinite(obs_space.high), obs_space.high, 2)
    obs = rng.uniform(low, high, (steps, n, *obs_space.shape)).astype(np.float32)
    next_obs = np.concatenate([obs[1:], rng.uniform(low, high, (1, n, *obs_space.shape)).astype(np.float32)])
    actions = np.stack([agent.policy.act(o) for o in obs])
    return Transitions(obs, actions, rng.normal(size=(steps, n)).astype(np.float32), next_obs,
                       rng.random((steps, n)) < 0.05, rng.random((steps, n)) < 0.05)


def progress(agent, iteration=1, iterations=10):
    per = agent.steps_per_iteration * agent.num_envs
    return Progress(iteration * per, iterations * per, iteration)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("kind", ["discrete", "box"])
def test_policy_acts_in_the_space_without_a_graph(kind):
    obs_space, act_space = SPACES[kind]
    policy = PGPolicy(obs_space, act_space, [16])
    obs = np.zeros((5, *obs_space.shape), np.float32)
    with torch.enable_grad():
        sampled = policy.act(obs)
        greedy = policy.act(obs, deterministic=True)
    assert sampled.shape == greedy.shape == (5, *act_space.shape)
    assert all(act_space.contains(a) for a in sampled) and all(act_space.contains(a) for a in greedy)
    np.testing.assert_array_equal(greedy, policy.act(obs, deterministic=True))
    if kind == "discrete":
        assert sampled.dtype == np.int64
    else:
        assert sampled.dtype == np.float32


@pytest.mark.parametrize("kind", ["discrete", "box"])
def test_numpy_acting_follows_the_policy_distribution(kind):
    """Acting on the CPU runs in NumPy; its greedy actions are the network's, and its samples
    follow the distribution that log_prob scores (the torch path's)."""
    obs_space, act_space = SPACES[kind]
    torch.manual_seed(3)
    policy = PGPolicy(obs_space, act_space, [16], log_std_init=-1.0)
    if kind == "discrete":
        with torch.no_grad():
            policy.net[-1].weight.mul_(20.0)  # distinct action probabilities
    assert policy.numpy_net is not None
    obs = np.random.default_rng(0).normal(size=(3, *obs_space.shape)).astype(np.float32)
    with torch.no_grad():
        out = policy.net(policy.features(obs))
    greedy = policy.act(obs, deterministic=True)
    if kind == "discrete":
        np.testing.assert_array_equal(greedy, out.argmax(-1).numpy())
        draws = np.stack([policy.act(obs) for _ in range(4000)])  # [4000, 3]
        for row in range(3):
            frequency = np.bincount(draws[:, row], minlength=2) / len(draws)
            np.testing.assert_allclose(frequency, torch.softmax(out[row], -1).numpy(), atol=0.03)
    else:
        np.testing.assert_allclose(greedy, out.clamp(-2, 2).numpy(), rtol=1e-5, atol=1e-6)
        draws = np.stack([policy.act(obs) for _ in range(4000)])  # [4000, 3, 1]
        np.testing.assert_allclose(draws.mean(0), out.numpy(), atol=0.02)
        np.testing.assert_allclose(draws.std(0), np.exp(-1.0), rtol=0.05)


def test_box_actions_are_clipped_and_scored_as_clipped():
    obs_space, act_space = PENDULUM
    policy = PGPolicy(obs_space, act_space, [8], log_std_init=2.0)  # std e^2: most samples leave [-2, 2]
    actions = policy.act(np.zeros((200, 3), np.float32))
    assert actions.min() == -2.0 and actions.max() == 2.0
    log_prob, entropy = policy.log_prob(policy.features(np.zeros((200, 3))), policy.action_tensor(actions))
    assert log_prob.shape == entropy.shape == (200,)
    # on a bound the log-probability is a tail mass (about log 0.39 for std e^2 and a mean near 0), far
    # above the density there
    on_bound = torch.as_tensor(np.abs(actions[:, 0]) == 2.0)
    assert (log_prob[on_bound] > -1.5).all() and (log_prob[on_bound] < 0).all()


def test_discrete_log_prob_shapes_with_a_nonzero_start():
    obs_space = CARTPOLE[0]
    policy = PGPolicy(obs_space, gym.spaces.Discrete(3, start=-1), [8])
    actions = policy.act(np.zeros((6, 4), np.float32))
    assert set(actions.tolist()) <= {-1, 0, 1}
    log_prob, entropy = policy.log_prob(policy.features(np.zeros((6, 4))), policy.action_tensor(actions))
    assert log_prob.shape == entropy.shape == (6,)
    assert torch.all(log_prob <= 0)


@pytest.mark.parametrize("kind", ["discrete", "box"])
@pytest.mark.parametrize("name", list(AGENTS))
def test_update_changes_the_policy_and_reports_finite_metrics(name, kind):
    agent = make(name, kind)
    before = params(agent.policy)
    agent.observe(rollout(agent))
    metrics = agent.update(progress(agent))
    assert metrics and all(np.isfinite(v) for v in metrics.values())
    assert all("/" in tag for tag in metrics)
    assert any(not torch.equal(b, a) for b, a in zip(before, agent.policy.parameters()))
    assert agent.update(progress(agent, 2)) == {}  # nothing new observed: nothing to learn from


@pytest.mark.parametrize("kind", ["discrete", "box"])
@pytest.mark.parametrize("name", list(AGENTS))
def test_state_round_trip_through_a_checkpoint(name, kind, tmp_path):
    agent = make(name, kind)
    for i in range(2):
        agent.observe(rollout(agent, seed=i))
        agent.update(progress(agent, i + 1))
    path = checkpoint.save(tmp_path, "step", agent.state_dict(), {"algo": name})
    loaded, _ = checkpoint.load(path)
    fresh = make(name, kind, seed=99)
    fresh.load_state_dict(loaded)
    obs = rollout(agent, seed=5).obs[0]
    np.testing.assert_array_equal(agent.policy.act(obs, deterministic=True), fresh.policy.act(obs, deterministic=True))
    batch = rollout(agent, seed=7)
    results = []
    for who in (agent, fresh):
        torch.manual_seed(3)
        who.observe(batch.copy())
        results.append(who.update(progress(agent, 3)))
    assert results[0] == pytest.approx(results[1], rel=1e-6, abs=1e-7)
    for a, b in zip(agent.policy.parameters(), fresh.policy.parameters()):
        torch.testing.assert_close(a, b)


def test_ppo_observation_statistics_are_used_by_act_and_saved():
    agent = make("ppo", "box")
    batch = rollout(agent)
    agent.observe(batch)
    rms = agent.policy.obs_rms
    np.testing.assert_allclose(rms.mean.numpy(), batch.obs.reshape(-1, 3).mean(0), rtol=1e-3, atol=1e-6)
    assert {"obs_rms.mean", "obs_rms.var", "obs_rms.count"} <= set(agent.policy.state_dict())
    obs = batch.obs[0]
    expected = agent.policy.net((torch.as_tensor(obs) - rms.mean.float()) / torch.sqrt(rms.var.float() + 1e-8))
    np.testing.assert_allclose(agent.policy.act(obs, deterministic=True), expected.clamp(-2, 2).detach().numpy(), rtol=1e-5)
    state = agent.state_dict()
    assert state["reward_normalizer"]["discounted_return"].shape == (2,)
    assert float(state["reward_normalizer"]["rms"]["count"]) > 1


def test_ppo_old_log_probs_come_from_the_policy_before_any_step():
    agent = make("ppo", "discrete", normalize_obs=False, normalize_reward=False)
    batch = rollout(agent)
    agent.observe(batch)
    with torch.no_grad():
        expected, _ = agent.policy.log_prob(agent.policy.features(batch.obs), agent.policy.action_tensor(batch.actions))
    torch.testing.assert_close(agent._rollout["old_log_prob"], expected)
    metrics = agent.update(progress(agent))
    assert metrics["charts/approx_kl"] >= 0 and 0 <= metrics["charts/clipfrac"] <= 1


def test_pg_weights_actions_by_the_returns_it_computes():
    """One env, γ = 1, no baseline, reward-to-go, plain SGD-like check: the policy loss equals
    -mean(log pi(a|s) * G) with G worked out by hand, and a truncation stops the return."""
    agent = make("pg_plain", "discrete", num_envs=1, batch_size=4, reward_to_go=True)
    obs = np.zeros((4, 1, 4), np.float32)
    batch = Transitions(obs, np.array([[0], [1], [0], [1]]), np.ones((4, 1), np.float32), obs,
                        np.zeros((4, 1), bool), np.array([[False], [True], [False], [False]]))
    with torch.no_grad():
        log_prob, _ = agent.policy.log_prob(agent.policy.features(obs), agent.policy.action_tensor(batch.actions))
    returns = torch.tensor([2.0, 1.0, 2.0, 1.0])  # truncated at row 1, batch end at row 3
    agent.observe(batch)
    metrics = agent.update(progress(agent))
    assert metrics["losses/actor"] == pytest.approx(float(-(log_prob * returns).mean()), rel=1e-6)


def test_pg_baseline_bootstraps_a_truncation_from_the_final_observation():
    agent = make("pg_plain", "discrete", num_envs=1, batch_size=3, use_baseline=True, reward_to_go=True,
                 baseline_gradient_steps=0)
    with torch.no_grad():
        for p in agent.baseline.parameters():
            p.zero_()
        agent.baseline[-1].bias.fill_(10.0)  # V(s) = 10 everywhere
    obs = np.zeros((3, 1, 4), np.float32)
    batch = Transitions(obs, np.zeros((3, 1), np.int64), np.ones((3, 1), np.float32), obs,
                        np.array([[False], [True], [False]]), np.array([[True], [False], [False]]))
    with torch.no_grad():
        log_prob, _ = agent.policy.log_prob(agent.policy.features(obs), agent.policy.action_tensor(batch.actions))
    # row 0 truncated: Q = 1 + 10; row 1 terminated: Q = 1; row 2 batch end: Q = 1 + 10; A = Q - 10
    advantages = torch.tensor([1.0, -9.0, 1.0])
    agent.observe(batch)
    metrics = agent.update(progress(agent))
    assert metrics["losses/actor"] == pytest.approx(float(-(log_prob * advantages).mean()), rel=1e-6)


def test_pg_batch_size_must_split_over_the_envs():
    with pytest.raises(ValueError, match=r"batch_size \(32\) must be a multiple of num_envs \(3\)"):
        make("pg", "discrete", num_envs=3)
    assert make("pg", "discrete", num_envs=4).steps_per_iteration == 8


def test_ppo_refuses_more_minibatches_than_rows():
    with pytest.raises(ValueError, match="cannot be split into num_minibatches"):
        make("ppo", "discrete", num_envs=1, n_steps=2, num_minibatches=4)


def test_observations_must_be_vectors():
    with pytest.raises(ValueError, match="Box \\(vector\\) observation space"):
        PGAgent(PGConfig(), gym.spaces.Discrete(5), gym.spaces.Discrete(2))
