"""The SAC agent on Pendulum-v1's spaces with random experience: updates, acting, resume."""

import copy
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlforge.agent import Progress, Transitions
from rlforge.nn import EnsembleLinear
from rlforge_sac.agent import SACAgent, SACPolicy
from rlforge_sac.config import SACConfig

OBS_SPACE = gym.spaces.Box(np.array([-1.0, -1.0, -8.0], dtype=np.float32), np.array([1.0, 1.0, 8.0], dtype=np.float32))
ACT_SPACE = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)  # Pendulum-v1's spaces
SMALL = dict(actor_hidden=[32, 32], critic_hidden=[32, 32], batch_size=16, buffer_size=500,
             random_steps=0, learning_starts=0)


def make_agent(seed=0, num_envs=1, **overrides):
    torch.manual_seed(seed)
    np.random.seed(seed)
    return SACAgent(SACConfig(**{**SMALL, **overrides}), OBS_SPACE, ACT_SPACE, num_envs=num_envs, device="cpu")


def random_transitions(rng, steps=1, num_envs=1):
    shape = (steps, num_envs)
    return Transitions(
        obs=rng.uniform(-1, 1, (*shape, 3)).astype(np.float32),
        actions=rng.uniform(-2, 2, (*shape, 1)).astype(np.float32),
        rewards=rng.normal(size=shape).astype(np.float32),
        next_obs=rng.uniform(-1, 1, (*shape, 3)).astype(np.float32),
        terminated=rng.random(shape) < 0.1,
        truncated=np.zeros(shape, dtype=bool),
    )


def fill(agent, rows=64, seed=0):
    rng = np.random.default_rng(seed)
    agent.observe(random_transitions(rng, steps=rows, num_envs=agent.num_envs))


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return all(not torch.equal(b, a) for b, a in zip(before, module.parameters()))


VARIANTS = [
    dict(num_critics=1, backup="single"),
    dict(num_critics=2, backup="doubleq"),
    dict(num_critics=2, backup="min"),
    dict(num_critics=3, backup="mean", actor_q="mean"),
    dict(num_critics=3, backup="redq", redq_subset=2),
]


@pytest.mark.parametrize("actor_gradient, actor_samples", [("reparametrize", 1), ("reinforce", 1), ("reinforce", 4)])
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v["backup"])
def test_updates_learn_and_report_finite_metrics(variant, actor_gradient, actor_samples):
    agent = make_agent(actor_gradient=actor_gradient, actor_samples=actor_samples, **variant)
    fill(agent)
    actor, critic, target = params(agent.policy), params(agent.critic), params(agent.target_critic)
    temperature = agent.log_temperature.item()
    for step in range(3):
        metrics = agent.update(Progress(step=64 + step, total_steps=1000, iteration=step))
    assert set(metrics) == {"losses/critic", "losses/actor", "losses/temperature", "charts/temperature",
                            "charts/q_mean", "charts/entropy"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values()), metrics
    assert changed(actor, agent.policy) and changed(critic, agent.critic) and changed(target, agent.target_critic)
    assert agent.log_temperature.item() != temperature
    assert agent.critic_updates == 3 and agent.actor_updates == 3


def test_fixed_temperature_hard_targets_and_utd():
    agent = make_agent(auto_temperature=False, temperature=0.1, target_update="hard", target_period=4,
                       updates_per_step=2, num_critics=1, backup="mean", actor_gradient="reinforce")
    fill(agent)
    target = params(agent.target_critic)
    metrics = agent.update(Progress(step=64, total_steps=1000, iteration=0))
    assert "losses/temperature" not in metrics
    assert metrics["charts/temperature"] == pytest.approx(0.1)
    assert agent.critic_updates == 2 and agent.actor_updates == 1
    assert all(torch.equal(b, a) for b, a in zip(target, agent.target_critic.parameters()))  # 2 < period 4
    agent.update(Progress(step=65, total_steps=1000, iteration=1))
    assert agent.critic_updates == 4
    assert all(torch.equal(c, t) for c, t in zip(agent.critic.parameters(), agent.target_critic.parameters()))
    assert agent.log_temperature.exp().item() == pytest.approx(0.1)


def test_one_actor_step_per_env_step_with_several_envs():
    agent = make_agent(num_envs=3, updates_per_step=2)
    fill(agent, rows=20)
    agent.update(Progress(step=60, total_steps=1000, iteration=0))
    assert (agent.critic_updates, agent.actor_updates) == (6, 3)


def test_no_update_before_learning_starts():
    agent = make_agent(learning_starts=100)
    fill(agent)
    before = params(agent.critic)
    assert agent.update(Progress(step=99, total_steps=1000, iteration=0)) == {}
    assert all(torch.equal(b, a) for b, a in zip(before, agent.critic.parameters()))
    assert agent.update(Progress(step=100, total_steps=1000, iteration=1))
    assert agent.random_steps == 0 and agent.steps_per_iteration == 1


def test_observe_stores_actions_normalised_to_unit_box():
    agent = make_agent()
    batch = random_transitions(np.random.default_rng(0), steps=2, num_envs=2)
    batch.actions[:] = np.array([-2.0, -1.0, 0.0, 2.0], dtype=np.float32).reshape(2, 2, 1)
    agent.observe(batch)
    np.testing.assert_allclose(agent.buffer.actions[:4, 0], [-1.0, -0.5, 0.0, 1.0])
    np.testing.assert_allclose(agent.buffer.obs[:4], batch.obs.reshape(4, 3))
    assert len(agent.buffer) == 4


def test_discrete_action_space_is_rejected():
    with pytest.raises(ValueError, match=r"SAC needs a continuous \(Box\) action space, got Discrete\(2\)"):
        SACAgent(SACConfig(**SMALL), OBS_SPACE, gym.spaces.Discrete(2))


def test_unbounded_action_space_is_rejected():
    with pytest.raises(ValueError, match="finite"):
        SACAgent(SACConfig(**SMALL), OBS_SPACE, gym.spaces.Box(-np.inf, np.inf, (2,), np.float32))


def torch_path(policy: SACPolicy) -> SACPolicy:
    """The policy acting through its torch modules (as on a GPU), not the NumPy pass."""
    policy.numpy_acting = False
    return policy


@pytest.mark.parametrize("path", ["numpy", "torch"])
def test_acting_returns_numpy_in_bounds_without_a_graph(path):
    agent = make_agent()
    if path == "torch":
        torch_path(agent.policy)
    outputs = []
    agent.policy.net.register_forward_hook(lambda module, args, out: outputs.append(out))
    obs = np.random.default_rng(0).uniform(-1, 1, (5, 3))  # float64 is fine too
    with torch.enable_grad():
        for deterministic in (False, True):
            actions = agent.policy.act(obs, deterministic=deterministic)
            assert isinstance(actions, np.ndarray) and actions.dtype == np.float32 and actions.shape == (5, 1)
            assert np.all(actions >= -2.0) and np.all(actions <= 2.0)
    if path == "torch":
        assert outputs and all(not out.requires_grad and out.grad_fn is None for out in outputs)
        assert all(torch.is_inference(out) for out in outputs)
    else:
        assert not outputs  # no module call at all
    np.testing.assert_array_equal(agent.policy.act(obs, True), agent.policy.act(obs, True))


def test_numpy_and_torch_acting_agree_and_draw_the_same_random_numbers():
    space = gym.spaces.Box(np.array([0.0, -3.0], dtype=np.float32), np.array([1.0, 5.0], dtype=np.float32))
    torch.manual_seed(0)
    numpy_policy = SACPolicy(3, space, [32, 32])
    torch_policy = torch_path(SACPolicy(3, space, [32, 32]))
    torch_policy.load_state_dict(numpy_policy.state_dict())
    all_obs = np.random.default_rng(1).normal(size=(64, 3)).astype(np.float32)
    for rows in (64, 1, 1, 10):  # row counts change between calls (one training env, ten for evaluation)
        obs = all_obs[:rows]
        for deterministic in (False, True):
            actions = {}
            for name, policy in (("numpy", numpy_policy), ("torch", torch_policy)):
                torch.manual_seed(7 + rows)
                actions[name] = policy.act(obs, deterministic)
                actions[name + " next draw"] = torch.rand(1).item()
            np.testing.assert_allclose(actions["numpy"], actions["torch"], atol=2e-6)
            assert actions["numpy next draw"] == actions["torch next draw"]
    assert not np.allclose(numpy_policy.act(all_obs), numpy_policy.act(all_obs))  # sampled actions do vary


@pytest.mark.parametrize("replacement", ["another plain net", "a layer in front"])
def test_numpy_acting_follows_a_replaced_network(replacement):
    """Agents building on SAC may replace policy.net (bc-sac puts a normaliser in front)."""
    space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    torch.manual_seed(0)
    policy = SACPolicy(3, space, [16])
    obs = np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32)
    policy.act(obs, deterministic=True)  # builds the NumPy pass of the first net
    if replacement == "another plain net":
        policy.net = type(policy.net)(*(copy.deepcopy(layer) for layer in policy.net))
        torch.nn.init.normal_(policy.net[0].weight)
    else:
        policy.net = torch.nn.Sequential(torch.nn.Flatten(), *policy.net)  # not a plain MLP: torch acts
    expected = torch_path(copy.deepcopy(policy)).act(obs, deterministic=True)
    np.testing.assert_allclose(policy.act(obs, deterministic=True), expected, atol=2e-6)
    assert (policy._numpy_pass() is None) == (replacement == "a layer in front")


@pytest.mark.parametrize("path", ["numpy", "torch"])
def test_actions_rescale_to_asymmetric_bounds(path):
    space = gym.spaces.Box(np.array([0.0, -3.0], dtype=np.float32), np.array([1.0, 5.0], dtype=np.float32))
    torch.manual_seed(0)
    policy = SACPolicy(3, space, [16])
    if path == "torch":
        torch_path(policy)
    with torch.no_grad():
        policy.net[-1].bias.copy_(torch.tensor([100.0, -100.0, 0.0, 0.0]))  # saturate: mean +inf / -inf
        policy.net[-1].weight.zero_()
    np.testing.assert_allclose(policy.act(np.zeros((2, 3)), deterministic=True), [[1.0, -3.0]] * 2)


def test_critics_are_one_batched_ensemble():
    agent = make_agent(num_critics=3, backup="mean")
    layers = [m for m in agent.critic.modules() if isinstance(m, EnsembleLinear)]
    assert len(layers) == 3 and all(layer.n == 3 for layer in layers)
    assert not any(isinstance(m, (torch.nn.Linear, torch.nn.ModuleList)) for m in agent.critic.modules())
    assert agent.critic[0].weight.shape == (3, 3 + 1, 32)


def walk(value, path="state"):
    """Every leaf of a state dict, checking it is pickle-free material."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{path} has a non-string key {key!r}"
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")
    else:
        assert value is None or isinstance(value, (torch.Tensor, np.ndarray, str, int, float, bool)), \
            f"{path} is a {type(value).__name__}"
        yield value


def test_state_dict_round_trip_resumes_exactly():
    agent = make_agent(seed=0)
    fill(agent)
    for step in range(3):
        agent.update(Progress(step=64 + step, total_steps=1000, iteration=step))
    state = agent.state_dict()
    list(walk(state))  # tensors, arrays and JSON-compatible values only

    fresh = make_agent(seed=123)
    fresh.load_state_dict(state)
    for a, b in ((agent.policy, fresh.policy), (agent.critic, fresh.critic), (agent.target_critic, fresh.target_critic)):
        for p, q in zip(a.state_dict().values(), b.state_dict().values()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    obs = np.random.default_rng(1).uniform(-1, 1, (4, 3)).astype(np.float32)
    np.testing.assert_array_equal(agent.policy.act(obs, deterministic=True), fresh.policy.act(obs, deterministic=True))
    assert len(fresh.buffer) == len(agent.buffer) and fresh.critic_updates == agent.critic_updates == 3

    # continuing from either gives the same next step (optimiser moments, buffer RNG, temperature)
    torch.manual_seed(7)
    m1 = agent.update(Progress(step=70, total_steps=1000, iteration=9))
    torch.manual_seed(7)
    m2 = fresh.update(Progress(step=70, total_steps=1000, iteration=9))
    assert m1 == m2
    for p, q in zip(agent.policy.parameters(), fresh.policy.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert agent.log_temperature.item() == fresh.log_temperature.item()


@pytest.mark.parametrize("setting, critic, actor", [(False, False, False), (True, True, True),
                                                    ("critic", True, False), ("actor", False, True),
                                                    ("whole", False, False)])
def test_compile_update_compiles_the_parts_it_names(setting, critic, actor):
    agent = make_agent(compile_update=setting)  # torch.compile is lazy: nothing compiles until a call
    assert (agent._critic_losses != agent._critic_loss_math) == critic
    assert (agent._actor_losses != agent._actor_loss_math) == actor
