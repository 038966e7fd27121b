"""bc-sac's pieces: the returns its critics are fitted to, the cloned actor, the re-fit schedule."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlforge.agent import Progress, Transitions
from rlforge_imitation.bc_sac import BCSACAgent, discounted_returns
from rlforge_imitation.config import BCSACConfig
from rlforge_imitation.datasets import Dataset, save_dataset


def test_discounted_returns_reset_at_episode_ends():
    rewards = np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    ends = np.array([[False, False], [True, False], [False, False]])
    np.testing.assert_allclose(discounted_returns(rewards, ends, 0.5), [[2.0, 1.75], [2.0, 1.5], [3.0, 1.0]])


def test_clone_then_fit_critics_then_sac(tmp_path):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(200, 3)).astype(np.float32)
    actions = np.tanh(obs[:, :1]).astype(np.float32) * 2  # a simple expert in Pendulum's [-2, 2]
    ends = np.zeros(200, dtype=bool)
    ends[99::100] = True
    save_dataset(Dataset(obs, actions, np.zeros(200, np.float32), obs, np.zeros(200, bool), ends, {}), tmp_path / "d.npz")
    torch.manual_seed(0)
    config = BCSACConfig(dataset=str(tmp_path / "d.npz"), actor_hidden=[32], critic_hidden=[16], bc_steps=300,
                         critic_fit_steps=50, learning_starts=20, batch_size=16, refit_prob=1.0, refit_halflife=10**9)
    agent = BCSACAgent(config, spaces.Box(-np.inf, np.inf, (3,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32))
    assert agent.random_steps == 0

    def step_batch(i):
        o = rng.normal(size=(1, 1, 3)).astype(np.float32)
        return Transitions(o, agent.policy.act(o[0])[None], np.ones((1, 1), np.float32), o,
                           np.zeros((1, 1), bool), np.zeros((1, 1), bool))

    agent.observe(step_batch(0))
    metrics = agent.update(Progress(1, 100, 1))
    assert "losses/bc" in metrics and agent.cloned
    test_obs = rng.normal(size=(50, 3)).astype(np.float32)
    err = np.mean((agent.policy.act(test_obs, deterministic=True) - 2 * np.tanh(test_obs[:, :1])) ** 2)
    assert err < 0.1, err
    for i in range(2, 21):
        agent.observe(step_batch(i))
        metrics = agent.update(Progress(i, 100, i))
    assert agent.critics_fitted and agent.warmup == [] and "losses/critic_fit" in metrics
    assert agent.refits == 1 and "charts/refits" in metrics  # refit_prob 1: the first SAC iteration re-fits
    agent.config.refit_halflife = 10
    assert agent.refit_probability(20) == pytest.approx(0.25)


def _small_agent(tmp_path, **values):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(100, 3)).astype(np.float32)
    actions = np.tanh(obs[:, :1]).astype(np.float32) * 2
    ends = np.zeros(100, dtype=bool)
    ends[-1] = True
    save_dataset(Dataset(obs, actions, np.zeros(100, np.float32), obs, np.zeros(100, bool), ends, {}), tmp_path / "d.npz")
    torch.manual_seed(0)
    config = BCSACConfig(dataset=str(tmp_path / "d.npz"), actor_hidden=[16], critic_hidden=[16], bc_steps=0,
                         critic_fit_steps=0, batch_size=8, refit_halflife=100, **values)
    return BCSACAgent(config, spaces.Box(-np.inf, np.inf, (3,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32))


def test_the_actor_loss_holds_a_decaying_cloning_term_scaled_by_the_q_values(tmp_path):
    agent = _small_agent(tmp_path, bc_weight=0.5)
    q = torch.tensor([-4.0, 8.0])  # mean |Q| = 6
    for step, decay in ((0, 1.0), (100, 0.5), (200, 0.25)):
        agent.step = step
        state = agent.rng.bit_generator.state
        term = agent._actor_regulariser(q)
        agent.rng.bit_generator.state = state  # the same expert minibatch
        expected = 0.5 * decay * 6.0 * agent.bc_error(with_log_std=False)
        assert float(term) == pytest.approx(float(expected), rel=1e-6)
        assert term.requires_grad  # it trains the actor
    assert _small_agent(tmp_path, bc_weight=0.0)._actor_regulariser(q) is None


def test_sac_adds_the_subclass_term_to_the_actor_loss(tmp_path):
    """With a large cloning weight, SAC's actor steps move the actor towards the expert; without
    it they do not."""
    errors = {}
    for weight in (0.0, 1000.0):
        agent = _small_agent(tmp_path, bc_weight=weight, actor_lr=1e-2)
        before = float(agent.bc_error(with_log_std=False))
        for _ in range(100):
            agent._update_actor(agent.expert_obs[:8])
        errors[weight] = float(agent.bc_error(with_log_std=False)) / before
    assert errors[1000.0] < 0.3 and errors[0.0] > 0.6, errors
