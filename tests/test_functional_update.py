"""rlforge.functional_update: Adam's step on an optimiser's own state matches the optimiser's
step, and what it does not cover is refused."""

import pytest
import torch

from rlforge.functional_update import adam_step_, adam_tensors, module_adam, swapped_parameters
from rlforge.nn import make_adam


def net(seed=0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


def loss_of(module, x) -> torch.Tensor:
    return module(x).pow(2).mean()


def test_the_functional_step_is_the_optimisers_step_on_its_own_state():
    eager, functional = net(), net()
    eager_adam, functional_adam = make_adam(eager.parameters(), 1e-2), make_adam(functional.parameters(), 1e-2)
    names, adam = module_adam(functional, functional_adam)
    for step in range(5):
        x = torch.randn(16, 4)
        eager_adam.zero_grad()
        loss_of(eager, x).backward()
        eager_adam.step()
        grads = torch.func.grad(lambda params: _swapped_loss(functional, names, params, x))(
            [p.detach() for p in adam.params])
        adam_step_(adam, grads)
    for a, b in zip(eager.parameters(), functional.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    for a, b in zip(eager_adam.state.values(), functional_adam.state.values()):  # the optimiser's own state moved
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-7)
    assert float(next(iter(functional_adam.state.values()))["step"]) == 5


def test_a_learning_rate_given_as_a_tensor_replaces_the_groups():
    eager, functional = net(), net()
    eager_adam, functional_adam = make_adam(eager.parameters(), 1e-2), make_adam(functional.parameters(), 1e-2)
    names, adam = module_adam(functional, functional_adam)
    for lr in (3e-2, 1e-3, 0.0):  # a schedule: the eager optimiser gets each rate in its param group
        x = torch.randn(16, 4)
        eager_adam.param_groups[0]["lr"] = lr
        eager_adam.zero_grad()
        loss_of(eager, x).backward()
        eager_adam.step()
        grads = torch.func.grad(lambda params: _swapped_loss(functional, names, params, x))(
            [p.detach() for p in adam.params])
        adam_step_(adam, grads, lr=torch.tensor(lr))
    for a, b in zip(eager.parameters(), functional.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert adam.lr == 1e-2  # the group's own rate is untouched


def _swapped_loss(module, names, params, x):
    with swapped_parameters(module, names, params):
        return loss_of(module, x)


@pytest.mark.parametrize("make, message", [
    (lambda params: torch.optim.Adam(params, lr=1e-3, weight_decay=0.1), "plain Adam only"),
    (lambda params: torch.optim.Adam(params, lr=1e-3), "state created up front"),
    (lambda params: torch.optim.SGD(params, lr=1e-3), "torch Adam optimiser"),
])
def test_optimisers_the_functional_step_does_not_cover_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        adam_tensors(make(net().parameters()))


def test_an_optimiser_holding_the_parameters_in_another_order_is_refused():
    module = net()
    with pytest.raises(ValueError, match="module's order"):
        module_adam(module, make_adam(reversed(list(module.parameters())), 1e-3))
