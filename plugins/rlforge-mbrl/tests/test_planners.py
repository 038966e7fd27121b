"""Random shooting and CEM on a known quadratic cost, and sequence scoring through a model."""

import torch

from rlforge_mbrl.model import DynamicsEnsemble
from rlforge_mbrl.mpc import sequence_returns
from rlforge_mbrl.planners import cem, random_shooting


def quadratic_problem(n=16, horizon=5, act_dim=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    optimum = torch.rand(n, horizon, act_dim, generator=g) * 1.6 - 0.8  # inside the bounds [-1, 1]
    low, high = -torch.ones(act_dim), torch.ones(act_dim)

    def score(actions):  # [n, N, H, A] -> [n, N]; the best value 0 is at `optimum`
        return -(actions - optimum[:, None]).pow(2).sum((-1, -2))

    return optimum, low, high, score


def test_cem_beats_random_shooting_with_the_same_number_of_evaluations():
    optimum, low, high, score = quadratic_problem()
    per_round, rounds = 200, 5
    g = torch.Generator().manual_seed(1)
    rs = random_shooting(score, len(optimum), 5, low, high, per_round * rounds, generator=g)
    g = torch.Generator().manual_seed(1)
    plan = cem(score, len(optimum), 5, low, high, per_round, rounds, elites=10, alpha=0.9, generator=g)
    rs_error = (rs - optimum).pow(2).sum((-1, -2)).mean()
    cem_error = (plan - optimum).pow(2).sum((-1, -2)).mean()
    assert plan.shape == rs.shape == optimum.shape
    assert cem_error < 0.2 * rs_error, (cem_error, rs_error)
    assert ((plan >= low) & (plan <= high)).all() and ((rs >= low) & (rs <= high)).all()


def test_more_random_sequences_find_better_plans():
    optimum, low, high, score = quadratic_problem(n=64)
    errors = []
    for count in (10, 1000):
        plan = random_shooting(score, len(optimum), 5, low, high, count, generator=torch.Generator().manual_seed(0))
        errors.append((plan - optimum).pow(2).sum((-1, -2)).mean())
    assert errors[1] < errors[0]


def test_one_cem_iteration_is_random_shooting_elite_mean():
    optimum, low, high, score = quadratic_problem(n=4)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    one = cem(score, 4, 5, low, high, 50, 1, elites=1, generator=g1)
    best = random_shooting(score, 4, 5, low, high, 50, generator=g2)
    assert torch.allclose(one, best)


class Identity(DynamicsEnsemble):
    """A 'model' whose next state is obs + action (for checking the scoring)."""

    def predict(self, obs, actions):
        obs = obs.expand(self.n, *obs.shape[-2:]) if obs.dim() == 2 else obs
        next_obs = obs + actions
        return next_obs, -next_obs.pow(2).sum(-1), torch.zeros(next_obs.shape[:-1], dtype=torch.bool)


def test_sequence_returns_sum_rewards_and_stop_at_termination():
    model = Identity(2, 1, 1, [4])
    obs = torch.tensor([[0.0], [1.0]])
    actions = torch.tensor([[[[0.5], [0.5], [0.5]]], [[[-1.0], [0.0], [0.0]]]])  # [n=2, N=1, H=3, A=1]
    returns = sequence_returns(model, obs, actions)
    # states 0.5, 1.0, 1.5 -> rewards -0.25 -1 -2.25; states 0, 0, 0 -> 0
    assert torch.allclose(returns, torch.tensor([[-3.5], [0.0]]))
    ends = lambda o, a, n: n[..., 0] >= 1.0  # noqa: E731  the episode ends on reaching 1.0
    returns = sequence_returns(model, obs, actions, termination_fn=ends)
    assert torch.allclose(returns, torch.tensor([[-1.25], [0.0]]))  # nothing after the end at step 2
    reward = lambda o, a, n: -a[..., 0].abs()  # noqa: E731  a known reward replaces the model's
    assert torch.allclose(sequence_returns(model, obs, actions, reward_fn=reward), torch.tensor([[-1.5], [-1.0]]))
    # trajectory sampling on identical members gives the same returns
    ts = sequence_returns(model, obs, actions, mode="ts", generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ts, torch.tensor([[-3.5], [0.0]]))
