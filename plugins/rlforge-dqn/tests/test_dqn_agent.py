"""The DQN agent's pieces: networks, exploration, reward clipping, life-loss terminals,
training frequency, target copies and the Discrete-only refusal."""

import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlforge.agent import Progress, Transitions
from rlforge_dqn.agent import DQNAgent, QNetwork
from rlforge_dqn.config import DQNConfig

FRAMES = spaces.Box(0, 255, (4, 84, 84), np.uint8)
VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)


def agent_for(obs_space, **values):
    config = dataclasses.replace(DQNConfig(), **{"buffer_size": 1000, "batch_size": 8, "learning_starts": 0, **values})
    return DQNAgent(config, obs_space, spaces.Discrete(3))


def frame_batch(obs, reward, terminated=False, truncated=False):
    next_obs = np.concatenate([obs[1:], np.full((1, 84, 84), obs[-1, 0, 0] + 1, np.uint8)])
    batch = Transitions(obs[None, None], np.array([[1]]), np.array([[reward]], np.float32), next_obs[None, None],
                        np.array([[terminated]]), np.array([[truncated]]))
    return batch, next_obs


@pytest.mark.parametrize("kind,dueling", [("mlp", False), ("mlp", True), ("cnn", False), ("cnn", True)])
def test_q_networks_give_one_value_per_action(kind, dueling):
    shape = (4, 84, 84) if kind == "cnn" else (4,)
    net = QNetwork(shape, 5, kind, [32, 32], "relu", dueling, scale=1 / 255 if kind == "cnn" else 1.0)
    x = torch.zeros(7, *shape, dtype=torch.uint8 if kind == "cnn" else torch.float32)
    assert net(x).shape == (7, 5)


def test_image_observations_get_the_cnn_and_clipped_rewards():
    agent = agent_for(FRAMES)
    assert agent.kind == "cnn" and agent.clip_rewards
    assert agent.buffer.frames.shape[2:] == (84, 84) and agent.buffer.frames.dtype == np.uint8
    obs = np.repeat(np.zeros((1, 84, 84), np.uint8), 4, axis=0)
    batch, _ = frame_batch(obs, 50.0)
    agent.observe(batch)
    assert agent.buffer.rewards[0, 0] == 1.0  # sign(50) for learning
    assert batch.rewards[0, 0] == 50.0  # the engine's episode return keeps the game score

    vector = agent_for(VECTOR)
    assert vector.kind == "mlp" and not vector.clip_rewards
    assert agent_for(FRAMES, clip_rewards=False).clip_rewards is False


def test_a_lost_life_is_terminal_for_learning_when_the_env_reports_it():
    for episodic_life, expected in ((True, True), (False, False)):
        agent = agent_for(FRAMES, episodic_life=episodic_life)
        obs = np.repeat(np.zeros((1, 84, 84), np.uint8), 4, axis=0)
        batch, next_obs = frame_batch(obs, 0.0)
        batch.info = {"life_lost": np.array([[True]])}  # as the collector passes env info through
        agent.observe(batch)
        assert agent.buffer.terminal[0, 0] == expected
        assert agent.buffer.open[0]  # the episode (the game) goes on
        batch, _ = frame_batch(next_obs, 0.0)
        agent.observe(batch)  # the stack continues across the lost life
        assert agent.buffer.first[0].sum() == 1


def test_training_frequency_and_updates_per_step():
    agent = agent_for(VECTOR, train_frequency=4, updates_per_step=0.5, learning_starts=10)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1, 1, 4)).astype(np.float32)
    for step in range(1, 51):
        nxt = rng.normal(size=(1, 1, 4)).astype(np.float32)
        agent.observe(Transitions(obs, np.array([[0]]), np.ones((1, 1), np.float32), nxt, np.zeros((1, 1), bool),
                                  np.zeros((1, 1), bool)))
        before = agent.gradient_steps
        metrics = agent.update(Progress(step, 100, step, metrics_due=False))
        obs = nxt
        phase = step >= 10 and (step - 9) % 4 == 0
        assert agent.gradient_steps - before == (2 if phase else 0)
        assert "losses/td" not in metrics  # no metric row follows: the losses stay tensors
    # steps 10..50 count 41 env steps after learning starts: 10 phases of 2 gradient steps
    assert agent.gradient_steps == 20
    # a row wants the newest phase's metrics, also on an iteration without a phase
    assert agent.update(Progress(51, 100, 51))["losses/td"] > 0


def test_hard_target_copies_every_target_period_env_steps():
    agent = agent_for(VECTOR, target_period=5, learning_starts=1000)
    with torch.no_grad():
        for p in agent.q.parameters():
            p.add_(1.0)
    agent.update(Progress(4, 100, 4))
    assert not torch.equal(agent.q.head[0].weight, agent.target_q.head[0].weight)
    agent.update(Progress(5, 100, 5))
    assert torch.equal(agent.q.head[0].weight, agent.target_q.head[0].weight)


def test_soft_target_updates_move_by_tau_per_gradient_step():
    agent = agent_for(VECTOR, target_update="soft", tau=0.5, lr=1e-9)
    before = agent.target_q.head[0].weight.clone()
    with torch.no_grad():
        agent.q.head[0].weight.add_(2.0)
    obs = np.zeros((1, 1, 4), np.float32)
    agent.observe(Transitions(obs, np.array([[0]]), np.ones((1, 1), np.float32), obs + 1, np.zeros((1, 1), bool),
                              np.zeros((1, 1), bool)))
    agent.update(Progress(1, 100, 1))
    assert agent.gradient_steps == 1
    torch.testing.assert_close(agent.target_q.head[0].weight, before + 1.0, atol=1e-5, rtol=0)


def test_epsilon_greedy_exploration():
    agent = agent_for(VECTOR, epsilon_start=1.0, epsilon_end=0.0, epsilon_fraction=0.5)
    obs = np.zeros((1000, 4), np.float32)
    greedy = agent.policy.act(obs, deterministic=True)
    assert (greedy == greedy[0]).all()
    state = np.random.get_state()
    agent.policy.act(obs[:5], deterministic=True)
    assert np.random.get_state()[1].tolist() == state[1].tolist()  # greedy actions draw nothing
    assert len(set(agent.policy.act(obs).tolist())) == 3  # epsilon 1: uniform
    agent.update(Progress(25, 100, 1))
    assert agent.policy.epsilon == pytest.approx(0.5)
    agent.update(Progress(50, 100, 2))
    assert agent.policy.epsilon == 0.0
    assert (agent.policy.act(obs) == greedy).all()


def test_dqn_needs_a_discrete_action_space():
    with pytest.raises(ValueError, match="discrete action space"):
        DQNAgent(DQNConfig(), VECTOR, spaces.Box(-1, 1, (1,)))


@pytest.mark.parametrize("loss,double_q,max_grad_norm,activation", [
    ("huber", False, 10.0, "relu"), ("mse", True, None, "tanh"), ("huber", True, 0.01, "relu")])
def test_hand_written_gradient_steps_match_autograd(loss, double_q, max_grad_norm, activation):
    """The MLP fast path (NumPy acting, hand-written backward) learns what autograd learns."""
    options = dict(loss=loss, double_q=double_q, max_grad_norm=max_grad_norm, activation=activation, hidden=[32, 32])
    agents = []
    for hand_written in (True, False):
        torch.manual_seed(0)
        agents.append(agent_for(VECTOR, hand_written_passes=hand_written, **options))
    fast, reference = agents
    assert fast._online is not None and fast.policy.numpy_q is not None
    assert reference._online is None and reference.policy.numpy_q is None
    rng = np.random.default_rng(0)
    for step in range(1, 41):
        obs, nxt = rng.normal(size=(2, 1, 1, 4)).astype(np.float32)
        batch = Transitions(obs, np.array([[step % 3]]), rng.normal(size=(1, 1)).astype(np.float32), nxt,
                            np.array([[step % 7 == 0]]), np.zeros((1, 1), bool))
        metrics = [agent.observe(batch) or agent.update(Progress(step, 100, step)) for agent in agents]
        assert metrics[0].keys() == metrics[1].keys()
        for key in metrics[0]:
            assert metrics[0][key] == pytest.approx(metrics[1][key], rel=1e-4, abs=1e-6), key
    for p, q in zip(fast.q.parameters(), reference.q.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    probe = rng.normal(size=(50, 4)).astype(np.float32)
    assert (fast.policy.act(probe, deterministic=True) == reference.policy.act(probe, deterministic=True)).all()
