"""SAC's math against hand-computed numbers, and its config checks.

The targets below were worked out by hand for
    next_q (2 critics x 3 rows) = [[1, 2, -1], [3, 0, -2]]
    rewards = [1, 0.5, -1], terminated = [no, no, yes], gamma = 0.5
    next_log_prob = [-1, 2, 0], temperature = 0.1
so -temperature * next_log_prob = [+0.1, -0.2, 0], and the terminated row is its reward, -1.
"""

import math
from pathlib import Path

import pytest
import torch
from torch.distributions import Normal, TransformedDistribution
from torch.distributions.transforms import TanhTransform

from rlforge.nn import SquashedNormal
from rlforge.nn import squashed_log_prob
from rlforge_sac.agent import combine_critics, critic_target
from rlforge_sac.config import SACConfig

NEXT_Q = torch.tensor([[1.0, 2.0, -1.0], [3.0, 0.0, -2.0]])
REWARDS = torch.tensor([1.0, 0.5, -1.0])
TERMINATED = torch.tensor([0.0, 0.0, 1.0])
LOG_PROB = torch.tensor([-1.0, 2.0, 0.0])
GAMMA, ALPHA = 0.5, 0.1


def target(next_q, backup, entropy, terminated=TERMINATED, **kwargs):
    return critic_target(next_q, REWARDS, terminated, GAMMA, LOG_PROB, ALPHA, backup, entropy, **kwargs)


@pytest.mark.parametrize("backup, entropy, expected", [
    # min: V = [1, 0, -2]; with entropy [1.1, -0.2, -2]
    ("min", False, [[1.5, 0.5, -1.0]]),
    ("min", True, [[1.55, 0.4, -1.0]]),
    # mean: V = [2, 1, -1.5]; with entropy [2.1, 0.8, -1.5]
    ("mean", False, [[2.0, 1.0, -1.0]]),
    ("mean", True, [[2.05, 0.9, -1.0]]),
    # doubleq: critic 0 backs up critic 1's value [3, 0, -2], critic 1 backs up [1, 2, -1]
    ("doubleq", False, [[2.5, 0.5, -1.0], [1.5, 1.5, -1.0]]),
    ("doubleq", True, [[2.55, 0.4, -1.0], [1.55, 1.4, -1.0]]),
])
def test_two_critic_backups(backup, entropy, expected):
    result = target(NEXT_Q, backup, entropy)
    assert result.shape == (len(expected), 3)
    torch.testing.assert_close(result, torch.tensor(expected))


@pytest.mark.parametrize("entropy, expected", [(False, [[1.5, 1.5, -1.0]]), (True, [[1.55, 1.4, -1.0]])])
def test_single_backup(entropy, expected):
    # the one critic's V = [1, 2, -1]
    torch.testing.assert_close(target(NEXT_Q[:1], "single", entropy), torch.tensor(expected))


def test_bool_terminated_is_accepted():
    torch.testing.assert_close(target(NEXT_Q, "min", False, terminated=TERMINATED.bool()),
                               torch.tensor([[1.5, 0.5, -1.0]]))


# Three critics: columns [1, 3, 0.5], [2, 0, 5], [-1, -2, 4]. The min over each 2-subset:
#   {0,1}: [1, 0, -2]   {0,2}: [0.5, 2, -1]   {1,2}: [0.5, 0, -2]   all: [0.5, 0, -2]
NEXT_Q3 = torch.tensor([[1.0, 2.0, -1.0], [3.0, 0.0, -2.0], [0.5, 5.0, 4.0]])
REDQ_PAIRS = {
    False: [[1.5, 0.5, -1.0], [1.25, 1.5, -1.0], [1.25, 0.5, -1.0]],
    True: [[1.55, 0.4, -1.0], [1.3, 1.4, -1.0], [1.3, 0.4, -1.0]],
}


@pytest.mark.parametrize("entropy", [False, True])
def test_redq_takes_the_min_of_a_random_subset(entropy):
    candidates = torch.tensor(REDQ_PAIRS[entropy])
    seen = set()
    for seed in range(20):
        result = target(NEXT_Q3, "redq", entropy, redq_subset=2, generator=torch.Generator().manual_seed(seed))
        assert result.shape == (1, 3)
        matches = [i for i, c in enumerate(candidates) if torch.allclose(result[0], c)]
        assert len(matches) == 1, f"{result} is not the min over any pair of critics"
        seen.add(matches[0])
        again = target(NEXT_Q3, "redq", entropy, redq_subset=2, generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(result, again)  # the same seed picks the same subset
    assert len(seen) > 1, "the subset should vary with the generator's state"


def test_redq_with_every_critic_is_the_min():
    result = target(NEXT_Q3, "redq", True, redq_subset=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(result, torch.tensor([[1.3, 0.4, -1.0]]))  # V = [0.6, -0.2, -2]


def test_redq_with_one_critic_picks_one_of_them():
    for seed in range(5):
        result = target(NEXT_Q3, "redq", False, redq_subset=1, generator=torch.Generator().manual_seed(seed))
        singles = [[1.5, 1.5, -1.0], [2.5, 0.5, -1.0], [1.25, 3.0, -1.0]]  # r + 0.5 * V_i
        assert any(torch.allclose(result[0], torch.tensor(s)) for s in singles)


def test_backup_rejects_a_wrong_number_of_critics():
    with pytest.raises(ValueError, match="single"):
        target(NEXT_Q, "single", False)
    with pytest.raises(ValueError, match="doubleq"):
        target(NEXT_Q3, "doubleq", False)
    with pytest.raises(ValueError, match="redq"):
        target(NEXT_Q, "redq", False, redq_subset=3)


def test_combine_critics():
    torch.testing.assert_close(combine_critics(NEXT_Q, "min"), torch.tensor([1.0, 0.0, -2.0]))
    torch.testing.assert_close(combine_critics(NEXT_Q, "mean"), torch.tensor([2.0, 1.0, -1.5]))


# ----------------------------------------------------------------------------- log-probs


def reference(mean, log_std):
    return TransformedDistribution(Normal(mean, log_std.exp()), [TanhTransform()])


def test_squashed_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(64, 3, generator=g, dtype=torch.float64)
    log_std = torch.randn(64, 3, generator=g, dtype=torch.float64) * 0.5
    pre_tanh = mean + log_std.exp() * torch.randn(64, 3, generator=g, dtype=torch.float64)
    actions = torch.tanh(pre_tanh)
    expected = reference(mean, log_std).log_prob(actions).sum(-1)
    torch.testing.assert_close(squashed_log_prob(pre_tanh, mean, log_std), expected)
    torch.testing.assert_close(SquashedNormal(mean, log_std).log_prob(actions), expected)


def test_rsample_with_log_prob_reports_the_samples_log_prob():
    torch.manual_seed(0)
    mean = torch.randn(32, 2, dtype=torch.float64)
    log_std = torch.randn(32, 2, dtype=torch.float64) * 0.3 - 0.5
    actions, log_prob = SquashedNormal(mean, log_std).rsample_with_log_prob()
    assert actions.abs().max() < 1
    torch.testing.assert_close(log_prob, reference(mean, log_std).log_prob(actions).sum(-1))


def test_squashed_density_integrates_to_one():
    # a 1-D squashed Gaussian's density over (-1, 1), integrated by the trapezoid rule
    mean, log_std = torch.tensor([[0.7]], dtype=torch.float64), torch.tensor([[-0.2]], dtype=torch.float64)
    u = torch.linspace(-12, 12, 200_001, dtype=torch.float64)  # pre-tanh grid; a = tanh(u)
    a = torch.tanh(u)
    density = squashed_log_prob(u[:, None], mean, log_std).exp()  # p(a) on the grid
    total = torch.trapezoid(density, a)
    assert math.isclose(total.item(), 1.0, abs_tol=1e-6)


def test_squashed_log_prob_is_stable_where_tanh_saturates():
    mean, log_std = torch.tensor([[0.0]]), torch.tensor([[0.0]])
    log_prob = squashed_log_prob(torch.tensor([[30.0]]), mean, log_std)
    # Gaussian part -450 - log sqrt(2 pi); -log(1 - tanh(30)^2) = 60 - 2 log 2 (to float precision)
    expected = -450.0 - 0.5 * math.log(2 * math.pi) + 60.0 - 2 * math.log(2.0)
    assert torch.isfinite(log_prob).all()
    assert math.isclose(log_prob.item(), expected, rel_tol=1e-5)


# ----------------------------------------------------------------------------- config


def test_defaults_are_the_published_sac():
    c = SACConfig()
    assert (c.actor_hidden, c.critic_hidden, c.activation) == ([256, 256], [256, 256], "relu")
    assert (c.actor_lr, c.critic_lr, c.temperature_lr) == (3e-4, 3e-4, 3e-4)
    assert (c.batch_size, c.buffer_size, c.gamma) == (256, 1_000_000, 0.99)
    assert (c.num_critics, c.backup, c.actor_gradient) == (2, "min", "reparametrize")
    assert c.auto_temperature and c.target_entropy is None and c.backup_entropy
    assert (c.target_update, c.tau, c.updates_per_step) == ("soft", 0.005, 1)
    assert (c.random_steps, c.learning_starts) == (5000, 5000)


@pytest.mark.parametrize("kwargs, message", [
    ({"backup": "single", "num_critics": 2}, "backup 'single' needs num_critics: 1"),
    ({"backup": "doubleq", "num_critics": 3}, "backup 'doubleq' .* needs num_critics: 2"),
    ({"backup": "doubleq", "num_critics": 1}, "num_critics: 2"),
    ({"backup": "redq", "num_critics": 3, "redq_subset": 4}, "redq_subset <= num_critics"),
    ({"backup": "redq", "num_critics": 3, "redq_subset": 0}, "1 <= redq_subset"),
    ({"num_critics": 0}, "num_critics must be at least 1"),
    ({"actor_samples": 0}, "actor_samples must be at least 1"),
    ({"tau": 0.0}, "tau must be in"),
    ({"gamma": 1.5}, "gamma must be in"),
    ({"log_std_min": 2.0, "log_std_max": -2.0}, "log_std_min"),
    ({"auto_temperature": True, "temperature": 0.0}, "initial temperature must be positive"),
    ({"actor_hidden": [64, 0]}, "actor_hidden widths must be positive"),
    ({"learning_starts": -1}, "learning_starts must not be negative"),
])
def test_config_rejects_inconsistent_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SACConfig(**kwargs)


def test_config_accepts_the_cs285_variants():
    SACConfig(num_critics=1, backup="single")
    SACConfig(num_critics=1, backup="mean", auto_temperature=False, temperature=0.1)
    SACConfig(num_critics=2, backup="doubleq", target_update="hard", target_period=1000)
    SACConfig(num_critics=10, backup="redq", redq_subset=2)
    SACConfig(auto_temperature=False, temperature=0.0)  # no entropy bonus at all


def test_config_keys_do_not_collide_with_the_engine():
    from rlforge.config import RunConfig, check_no_collisions, field_help

    check_no_collisions(SACConfig)
    assert all(field_help(SACConfig).values()), "every field needs a help line"
    assert not set(field_help(SACConfig)) & set(field_help(RunConfig))


# ----------------------------------------------------------------------------- config files

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
SAC_FILES = sorted((CONFIGS / "sac").glob("*.yaml")) + sorted((CONFIGS / "experiments" / "sac").glob("*.yaml"))


@pytest.mark.skipif(not SAC_FILES, reason="not run from a checkout with configs/")
@pytest.mark.parametrize("path", SAC_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_preset_and_experiment_files_are_valid(path):
    from rlforge.config import RunConfig, build, coerce_layers, read_yaml

    data = read_yaml(path)
    for key, value in data.items():
        assert not isinstance(value, str) or key in ("algo", "env", "activation", "backup", "actor_gradient",
                                                     "actor_q", "target_update"), f"{key}: {value!r} reads as text"
    if path.parent.name == "sac" and path.parent.parent.name == "experiments":
        assert data.pop("algo") == "sac" and data.pop("env")
        assert f"rlforge train --config experiments/sac/{path.stem}" in path.read_text()
    run_values, agent_values = coerce_layers(SACConfig, [(str(path), data)])
    build(RunConfig, run_values, "run")
    build(SACConfig, agent_values, "sac")


def test_the_experiments_override_every_key_a_preset_sets():
    experiments = sorted((CONFIGS / "experiments" / "sac").glob("*.yaml"))
    if not experiments:
        pytest.skip("not run from a checkout with configs/")
    from rlforge.config import read_yaml

    for path in experiments:
        data = read_yaml(path)
        preset = CONFIGS / "sac" / f"{data['env']}.yaml"
        assert preset.is_file(), f"{path.name}: no preset for {data['env']}"
        irrelevant = {"temperature_lr", "target_entropy"} if data["auto_temperature"] is False else set()
        irrelevant |= {"tau"} if data["target_update"] == "hard" else {"target_period"}
        missing = set(read_yaml(preset)) - set(data) - irrelevant
        assert not missing, f"{path.name} leaves {sorted(missing)} to the preset"
