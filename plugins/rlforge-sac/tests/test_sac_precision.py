"""SAC's updates at the matmul precision it asks for (where the CPU keeps float32 accuracy),
acting at torch's default; and the update's numbers unchanged by it."""

import torch

from rlforge.precision import matmul_precision, update_precision
from rlforge.runs import Run
from rlforge.training import build_engine, prepare


def test_the_engine_runs_updates_at_the_chosen_precision_and_acts_at_highest(monkeypatch):
    engine = build_engine(*prepare("sac", "Pendulum-v1", None, [
        "total_steps=50", "learning_starts=10", "random_steps=0", "batch_size=8", "actor_hidden=[8]",
        "critic_hidden=[8]", "torch_threads=1", "matmul_precision=medium"], {}))
    seen = {"update": set(), "act": set()}
    update, act = engine.agent.update, engine.agent.policy.act
    monkeypatch.setattr(engine.agent, "update", lambda p: seen["update"].add(torch.get_float32_matmul_precision()) or update(p))
    monkeypatch.setattr(engine.agent.policy, "act", lambda *a, **k: seen["act"].add(torch.get_float32_matmul_precision()) or act(*a, **k))
    run = Run(path=None, algo="sac", env_id="Pendulum-v1", seed=1)
    for _ in range(20):
        engine.iterate(run)
    assert seen == {"update": {"medium"}, "act": {"highest"}}
    assert torch.get_float32_matmul_precision() == "highest"


def test_sac_updates_agree_with_float64_at_the_precision_auto_picks():
    """The critic's gradient at the precision `auto` chooses here, against the same math in float64."""
    from rlforge.nn import ensemble_mlp

    chosen = update_precision("auto", torch.device("cpu"), "medium")
    torch.manual_seed(0)
    critic = ensemble_mlp(2, 23, [256, 256], 1, "relu")
    x = torch.randn(256, 23)
    target = torch.randn(2, 256, 1) * 100

    def gradients(net, inputs, goal):
        net.zero_grad()
        (net(inputs) - goal).pow(2).mean().backward()
        return torch.cat([p.grad.reshape(-1) for p in net.parameters()])

    with matmul_precision(chosen):
        fast = gradients(critic, x, target)
    exact = gradients(critic.double(), x.double(), target.double())
    relative = ((fast.double() - exact).norm() / exact.norm()).item()
    assert relative < 1e-5, f"{chosen}: relative gradient error {relative:.2e}"


def test_sac_asks_for_medium_with_wide_layers_only():
    import gymnasium as gym

    from rlforge_sac.agent import SACAgent
    from rlforge_sac.config import SACConfig

    obs, act = gym.spaces.Box(-1.0, 1.0, (3,)), gym.spaces.Box(-1.0, 1.0, (1,))
    assert SACAgent(SACConfig(buffer_size=10), obs, act).update_matmul_precision == "medium"
    small = SACConfig(buffer_size=10, actor_hidden=[64, 64], critic_hidden=[64, 64])
    assert SACAgent(small, obs, act).update_matmul_precision == "highest"
