"""`compile_update: true` for td3bc and iql (Box actions): the step functions of
rlforge_offline.compiled_steps make the eager gradient steps through the optimisers' own
state, compiled or not, on the same schedules (TD3+BC's policy delay, IQL's cosine actor
learning rate); resume holds; the key is refused where it does not apply."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlforge_offline.box_iql as box_iql
import rlforge_offline.td3bc as td3bc
from offline_box_helpers import pendulum_dataset
from rlforge.agent import Progress
from rlforge.datasets import save_dataset
from rlforge.errors import RLForgeError
from rlforge.plugins import get_registry
from rlforge.testing.state import diff_states

OBS = spaces.Box(-np.inf, np.inf, (3,), np.float32)
TORQUE = spaces.Box(-2.0, 2.0, (1,), np.float32)
SMALL = {"hidden": [16, 16], "actor_hidden": [16, 16], "batch_size": 16}
IQL_METRICS = {"losses/critic", "losses/value", "losses/actor", "charts/q_mean", "charts/value_mean",
               "charts/advantage_mean", "charts/weight_mean", "charts/weight_max", "charts/actor_lr"}
TD3BC_METRICS = {"losses/critic", "charts/q_mean", "charts/target_mean", "losses/actor", "losses/bc", "charts/lambda"}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    return str(save_dataset(pendulum_dataset(2, seed=1), tmp_path_factory.mktemp("data") / "pendulum.npz"))


@pytest.fixture
def uncompiled(monkeypatch):
    """The step functions run as plain Python (no torch.compile): the same maths, no compile time."""
    for module in (td3bc, box_iql):
        monkeypatch.setattr(module, "maybe_compile", lambda fn, enabled: fn)


def build(algo: str, dataset: str, seed: int = 0, **values):
    torch.manual_seed(seed)
    spec = get_registry().algorithm(algo)
    config = spec.config_class()(dataset=dataset, **{**SMALL, **values})
    return spec.build_agent(config, OBS, TORQUE)


def train(agent, steps: int, first: int = 1, seed: int = 3) -> list[dict]:
    """`steps` offline gradient steps (one per engine iteration, metrics due), torch seeded first:
    two agents given the same calls sample the same batches and noise."""
    torch.manual_seed(seed)
    return [agent.update(Progress(step=step, total_steps=1000, iteration=step, metrics_due=True, offline=True))
            for step in range(first, first + steps)]


def assert_same_state(a, b, tolerance: float) -> None:
    """Networks, targets, optimiser moments, steps and learning rates, data and counters alike
    (the latest metrics are compared relative to their size by the tests that need them)."""
    state_a, state_b = a.state_dict(), b.state_dict()
    metrics_a, metrics_b = state_a.pop("metrics"), state_b.pop("metrics")
    assert diff_states(state_a, state_b, tolerance=tolerance) == []
    if tolerance == 0.0:
        assert diff_states(metrics_a, metrics_b) == []


CASES = [("td3bc", {}, TD3BC_METRICS), ("iql", {}, IQL_METRICS), ("iql", {"actor": "tanh_gaussian"}, IQL_METRICS),
         ("iql", {"actor_lr_schedule": "constant", "max_weight": None}, IQL_METRICS)]


@pytest.mark.parametrize("algo, settings, metric_keys", CASES)
def test_the_step_functions_make_the_eager_steps(uncompiled, dataset, algo, settings, metric_keys):
    eager = build(algo, dataset, **settings)
    compiled = build(algo, dataset, compile_update=True, **settings)
    eager_metrics, compiled_metrics = train(eager, 5), train(compiled, 5)
    assert_same_state(eager, compiled, 1e-5)  # float rounding: the tanh-Gaussian's moments reach 2
    assert eager_metrics[-1].keys() == compiled_metrics[-1].keys() == metric_keys
    for step_eager, step_compiled in zip(eager_metrics, compiled_metrics):
        for key, value in step_eager.items():
            assert step_compiled[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert diff_states(build(algo, dataset, **settings).state_dict()["policy"], compiled.state_dict()["policy"]) != []


def test_iqls_compiled_step_follows_the_cosine_learning_rate(uncompiled, dataset):
    agent = build("iql", dataset, compile_update=True)
    agent.gradient_steps = 500  # the schedule follows the gradient steps taken, over total_steps (1,000)
    metrics = train(agent, 3, first=501)
    assert metrics[-1]["charts/actor_lr"] == pytest.approx(box_iql.cosine_lr(3e-4, 502, 1000), rel=1e-6)
    assert agent.actor_optimizer.param_groups[0]["lr"] == pytest.approx(box_iql.cosine_lr(3e-4, 502, 1000))


@pytest.mark.parametrize("algo", ["td3bc", "iql"])
def test_resumed_compiled_steps_continue_on_the_loaded_optimiser_state(uncompiled, dataset, algo):
    agent = build(algo, dataset, compile_update=True)
    train(agent, 5)
    resumed = build(algo, dataset, seed=99, compile_update=True)
    train(resumed, 2, seed=8)  # its steps are built on the optimisers' tensors that loading replaces
    resumed.load_state_dict(agent.state_dict())
    train(agent, 3, first=6, seed=5), train(resumed, 3, first=6, seed=5)
    assert_same_state(agent, resumed, 0.0)


@pytest.mark.filterwarnings("error:torch.compile")  # a fallback to eager would pass unseen
@pytest.mark.parametrize("algo", ["td3bc", "iql"])
def test_the_compiled_steps_match_eager(dataset, algo):
    eager, compiled = build(algo, dataset), build(algo, dataset, compile_update=True)
    train(eager, 4), train(compiled, 4)
    assert_same_state(eager, compiled, 1e-5)


def test_compile_update_is_refused_where_it_does_not_apply(dataset, tmp_path):
    from rlforge import training

    run_dir = tmp_path / "run"
    with pytest.raises(RLForgeError, match="compile_update"):
        training.train("cql", "Pendulum-v1", None, ["compile_update=true", f"dataset={dataset}"], {"device": "cpu"},
                       str(run_dir))
    assert not run_dir.exists()
    iql = get_registry().algorithm("iql")
    with pytest.raises(ValueError, match="compile_update applies to Box actions only"):
        iql.build_agent(iql.config_class()(compile_update=True), OBS, spaces.Discrete(3))
