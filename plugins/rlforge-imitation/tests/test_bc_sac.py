"""bc-sac's pieces: the returns its critics are fitted to, the cloned actor, the re-fit schedule."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlforge.agent import Progress, Transitions
from rlforge_imitation.bc_sac import BCSACAgent, discounted_returns
from rlforge_sac.agent import q_values
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


def _cloned_agent(tmp_path, warmup_steps=20, **values):
    """An agent on a toy task, past cloning, warm-up collection and the critic fit."""
    rng = np.random.default_rng(0)
    obs = (rng.normal(size=(200, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, 0.0]).astype(np.float32)
    actions = np.tanh(obs[:, :1]).astype(np.float32) * 2
    ends = np.zeros(200, dtype=bool)
    ends[99::100] = True
    rewards = rng.normal(size=200).astype(np.float32)
    save_dataset(Dataset(obs, actions, rewards, obs, np.zeros(200, bool), ends, {}), tmp_path / "d.npz")
    torch.manual_seed(0)
    config = BCSACConfig(**{"dataset": str(tmp_path / "d.npz"), "actor_hidden": [32], "critic_hidden": [16],
                            "bc_steps": 200, "critic_fit_steps": 20, "learning_starts": warmup_steps, "batch_size": 16,
                            "refit_prob": 0.0, "refit_halflife": 10**9, "actor_delay": 1000, **values})
    agent = BCSACAgent(config, spaces.Box(-np.inf, np.inf, (3,), np.float32), spaces.Box(-2.0, 2.0, (1,), np.float32))
    for i in range(1, warmup_steps + 1):
        o = rng.normal(size=(1, 1, 3)).astype(np.float32) * [1.0, 10.0, 0.1]
        o = o.astype(np.float32)
        agent.observe(Transitions(o, agent.policy.act(o[0])[None], np.ones((1, 1), np.float32), o,
                                  np.zeros((1, 1), bool), np.zeros((1, 1), bool)))
        agent.update(Progress(i, 100, i))
    return agent


def test_expert_ratio_mixes_expert_transitions_into_every_batch(tmp_path):
    agent = _cloned_agent(tmp_path, expert_ratio=0.25)
    batch = agent.buffer.sample(16)
    expert_obs = agent.expert_obs.numpy()
    from_expert = [bool((np.abs(expert_obs - row).max(1) == 0).any()) for row in batch["obs"].numpy()]
    assert sum(from_expert) == 4 and all(from_expert[12:])  # the last round(0.25 * 16) rows
    assert set(batch) == {"obs", "actions", "rewards", "next_obs", "terminated"}
    assert len(agent.buffer) == 20  # the buffer itself holds only the env's transitions
    # SAC's own update draws its batches through it (fails if SACAgent stops using buffer.sample)
    agent.config.actor_delay = 0
    state = dict(agent.expert_rng.bit_generator.state["state"])
    o = np.zeros((1, 1, 3), np.float32)
    agent.observe(Transitions(o, np.zeros((1, 1, 1), np.float32), np.ones((1, 1), np.float32), o,
                              np.zeros((1, 1), bool), np.zeros((1, 1), bool)))
    assert "losses/actor" in agent.update(Progress(21, 100, 21))
    assert agent.expert_rng.bit_generator.state["state"] != state
    plain = _cloned_agent(tmp_path, expert_ratio=0.0)
    rows = plain.buffer.sample(16)["obs"].numpy()
    assert not any((np.abs(expert_obs - row).max(1) == 0).any() for row in rows)


def test_the_imitator_kl_pulls_the_actor_back_on_replay_states(tmp_path):
    """SAC actor steps against a critic that prefers other actions move the actor away from the
    frozen imitator on the replay states; a large imitator_weight keeps it there."""
    moved = {}
    for weight in (0.0, 100.0):
        agent = _cloned_agent(tmp_path, imitator_weight=weight, bc_weight=0.0, actor_lr=1e-2)
        assert float(agent.imitator_kl(agent.buffer.sample(16)["obs"])) == pytest.approx(0.0, abs=1e-6)
        obs = agent.buffer.sample(64)["obs"]
        with torch.no_grad():  # a critic whose value rises with the action: SAC pushes every action up
            for layer in agent.critic.modules():
                if hasattr(layer, "weight") and layer.weight.dim() == 3:
                    layer.weight.abs_()
        for _ in range(50):
            agent._update_actor(obs)
        moved[weight] = float(agent.imitator_kl(obs))
    assert moved[100.0] < 0.1 * moved[0.0], moved


def test_entropy_from_clone_sets_the_target_entropy_at_the_critic_fit(tmp_path):
    agent = _cloned_agent(tmp_path, entropy_from_clone=True)
    default = _cloned_agent(tmp_path)
    assert default.target_entropy == -1.0  # -act_dim
    obs = torch.as_tensor(np.concatenate([[0.0, 0.0, 0.0]]), dtype=torch.float32)[None]
    assert agent.target_entropy != -1.0 and np.isfinite(agent.target_entropy)
    assert agent.target_entropy == pytest.approx(agent.last_metrics["charts/target_entropy"])
    assert agent.policy_entropy(obs) == agent.policy_entropy(obs)  # its own generator: repeatable


def test_normalize_obs_standardises_the_inputs_of_actor_and_critics(tmp_path):
    from rlforge_imitation.bc_sac_parts import ObsNormalizer
    from rlforge_imitation.experts import export_sac_actor

    agent = _cloned_agent(tmp_path, normalize_obs=True)
    assert isinstance(agent.policy.net[0], ObsNormalizer) and isinstance(agent.critic[0], ObsNormalizer)
    assert isinstance(agent.target_critic[0], ObsNormalizer) and isinstance(agent.imitator.net[0], ObsNormalizer)
    normalised = agent.policy.net[0](agent.expert_obs)
    np.testing.assert_allclose(normalised.mean(0).numpy(), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalised.std(0).numpy(), 1.0, atol=1e-3)
    x = torch.cat((agent.expert_obs[:5], torch.ones(5, 1)), dim=1)  # a critic's input: the action passes unchanged
    np.testing.assert_allclose(agent.critic[0](x)[:, 3].numpy(), 1.0)
    obs = agent.expert_obs[:7].numpy()  # the exported expert acts like the actor
    np.testing.assert_allclose(export_sac_actor(agent.policy, 3).act(obs), agent.policy.act(obs, deterministic=True),
                               atol=1e-5)


def test_diagnostics_change_nothing_in_training(tmp_path):
    params = []
    for every in (0, 1):
        agent = _cloned_agent(tmp_path, diagnostics_every=every, expert_ratio=0.5, refit_prob=0.5, actor_delay=0)
        assert ("charts/bc_mse" in agent.last_metrics) == bool(every)
        params.append(torch.cat([p.detach().reshape(-1) for p in (*agent.policy.parameters(), *agent.critic.parameters())]))
    assert torch.equal(params[0], params[1])


def test_critic_layer_norm_bounds_the_features_and_scales_the_output(tmp_path):
    from rlforge_imitation.bc_sac_parts import Scale

    agent = _cloned_agent(tmp_path, critic_layer_norm=True, normalize_obs=True)
    for net in (agent.critic, agent.target_critic):
        modules = list(net.modules())
        assert sum(isinstance(m, torch.nn.LayerNorm) for m in modules) == len(agent.config.critic_hidden)
        scale = [m for m in modules if isinstance(m, Scale)]
        assert len(scale) == 1 and float(scale[0].factor) > 1.0  # the expert's RMS discounted return
    assert list(agent.critic.parameters()) == agent._critic_params  # SAC's optimiser still holds them
    assert [p.shape for p in agent._target_params] == [p.shape for p in agent._critic_params]
    # values stay bounded however far the action is pushed outside anything seen
    obs = agent.expert_obs[:4]
    far = q_values(agent.critic, obs, torch.full((4, 1), 1e6)).abs().max()
    weight, bias = list(agent.critic.parameters())[-2:]  # a LayerNorm's outputs are at most sqrt(width) each
    bound = float(scale[0].factor) * (float(weight.abs().sum(1).max()) * 16 ** 0.5 + float(bias.abs().max()))
    assert float(far) <= bound


def test_all_options_together_resume_exactly(tmp_path):
    """A run with every bc-sac option, checkpointed mid-way and restored into a fresh agent,
    continues exactly as the uninterrupted one."""
    values = dict(normalize_obs=True, critic_layer_norm=True, expert_ratio=0.5, imitator_weight=0.01,
                  entropy_from_clone=True, refit_prob=0.5, actor_delay=0, diagnostics_every=3)
    agent = _cloned_agent(tmp_path, **values)
    fresh = _cloned_agent(tmp_path, **values)
    fresh.load_state_dict(agent.state_dict())
    assert fresh.target_entropy == agent.target_entropy
    rng_state = torch.get_rng_state()
    outs = []
    for a in (agent, fresh):
        torch.set_rng_state(rng_state)
        for i in range(21, 26):
            o = np.full((1, 1, 3), 0.1 * i, np.float32)
            a.observe(Transitions(o, np.zeros((1, 1, 1), np.float32), np.ones((1, 1), np.float32), o,
                                  np.zeros((1, 1), bool), np.zeros((1, 1), bool)))
            metrics = a.update(Progress(i, 100, i))
        outs.append((metrics, torch.cat([p.detach().reshape(-1) for p in a.policy.parameters()])))
    assert outs[0][0] == outs[1][0]
    assert torch.equal(outs[0][1], outs[1][1])
