"""An experiment for issue 24: SAC's whole update (critic, actor, temperature, Adam, Polyak) as
ONE torch.compile'd function, against rlforge's eager update and `compile_update: true`.

    python benchmarks/whole_update_graph.py [--updates 300] [--rounds 5] [--out FILE.json]

The agent is built as `rlforge train --algo sac --env HalfCheetah-v4` builds it (the preset, one
thread), its buffer filled with random steps; every variant starts from a copy of the same
state and updates on one fixed batch of 256. The whole-update variant is written functionally:
the losses through `torch.func.grad_and_value` with the modules' parameters swapped in
(`torch.func.functional_call`'s mechanism), Adam and the Polyak average as in-place tensor
maths on the real parameters, so the compiled graph holds forward, backward and optimiser
together and nothing runs in Python between them. Before timing, it checks that the
functional update gives eager's numbers: the same seed, 5 updates, parameters compared.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn.utils.stateless import _reparametrize_module

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402
from speed_profile import build_engine, fill  # noqa: E402

from rlforge.actor_critic import q_values  # noqa: E402
from rlforge.runs import cpu_model  # noqa: E402
from rlforge_sac.agent import combine_critics, critic_target  # noqa: E402


class FunctionalAdam:
    """torch.optim.Adam's update (no weight decay, no amsgrad) as tensor maths on lists, with
    the moments and step count of a torch optimizer's state so it continues where that stopped."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        group = optimizer.param_groups[0]
        self.params = list(group["params"])
        self.lr, (self.beta1, self.beta2), self.eps = group["lr"], group["betas"], group["eps"]
        state = [optimizer.state.get(p, {}) for p in self.params]
        self.m = [s["exp_avg"].clone() if "exp_avg" in s else torch.zeros_like(p) for s, p in zip(state, self.params)]
        self.v = [s["exp_avg_sq"].clone() if "exp_avg_sq" in s else torch.zeros_like(p)
                  for s, p in zip(state, self.params)]
        self.step = torch.tensor(float(state[0]["step"]) if "step" in state[0] else 0.0)

    @torch.no_grad()
    def apply(self, grads: list[torch.Tensor]) -> None:
        self.step += 1
        correction1 = 1 - self.beta1 ** self.step
        correction2_sqrt = (1 - self.beta2 ** self.step).sqrt()
        torch._foreach_lerp_(self.m, grads, 1 - self.beta1)
        torch._foreach_mul_(self.v, self.beta2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.beta2)
        denominators = torch._foreach_add(torch._foreach_div(torch._foreach_sqrt(self.v), correction2_sqrt), self.eps)
        torch._foreach_sub_(self.params, torch._foreach_div(torch._foreach_div(self.m, denominators), correction1 / self.lr))


def whole_update(agent):
    """A function of a batch that makes one critic step, one actor and temperature step and the
    Polyak average of `agent`, in place, without autograd's engine or optimisers."""
    cfg = agent.config
    policy, critic, target_critic = agent.policy, agent.critic, agent.target_critic
    critic_names = [name for name, _ in critic.named_parameters()]
    actor_names = [name for name, _ in policy.named_parameters()]
    critic_adam, actor_adam = FunctionalAdam(agent.critic_optimizer), FunctionalAdam(agent.actor_optimizer)
    temperature_adam = FunctionalAdam(agent.temperature_optimizer)
    log_temperature = agent.log_temperature

    def critic_loss(critic_params, batch, target):
        with _reparametrize_module(critic, dict(zip(critic_names, critic_params))):
            q = q_values(critic, batch["obs"], batch["actions"])
        per_critic = (q - target).pow(2).mean(-1)
        return per_critic.sum(), (per_critic.detach().mean(), q.detach().mean())

    def actor_loss(actor_params, log_temp, obs, alpha):
        with _reparametrize_module(policy, dict(zip(actor_names, actor_params))):
            actions, log_prob = policy.distribution(obs).rsample_with_log_prob()
        q = combine_critics(q_values(critic, obs, actions), cfg.actor_q)
        loss = (alpha * log_prob - q).mean()
        temperature_loss = -log_temp * (log_prob.detach().mean() + agent.target_entropy)
        return loss + temperature_loss, loss.detach()

    critic_grad = torch.func.grad_and_value(critic_loss, has_aux=True)
    actor_grad = torch.func.grad_and_value(actor_loss, argnums=(0, 1), has_aux=True)

    def update(batch):
        alpha = log_temperature.detach().exp()
        with torch.no_grad():
            next_actions, next_log_prob = policy.distribution(batch["next_obs"]).rsample_with_log_prob()
            next_q = q_values(target_critic, batch["next_obs"], next_actions)
            target = critic_target(next_q, batch["rewards"], batch["terminated"], cfg.gamma, next_log_prob, alpha,
                                   cfg.backup, cfg.backup_entropy, cfg.redq_subset)
        grads, (_, (loss, q_mean)) = critic_grad([p.detach() for p in critic_adam.params], batch, target)
        critic_adam.apply(grads)
        with torch.no_grad():
            torch._foreach_lerp_(list(target_critic.parameters()), critic_adam.params, cfg.tau)
        (actor_grads, temperature_grad), _ = actor_grad([p.detach() for p in actor_adam.params],
                                                        log_temperature.detach(), batch["obs"], alpha)
        actor_adam.apply(actor_grads)
        temperature_adam.apply([temperature_grad])
        return loss, q_mean

    return update


def eager_update(agent):
    def update(batch):
        loss, q_mean = agent._update_critic(batch)
        agent._update_actor(batch["obs"])
        return loss, q_mean
    return update


def fresh_agent():
    """The agent with a filled buffer, built the same way (and seed) every time: identical states."""
    engine = build_engine("HalfCheetah-v4", 1, [], total=1 << 40)
    fill(engine)
    return engine.agent


def build(variant: str):
    agent = fresh_agent()  # not copy.deepcopy: the lean Adam's fused state does not survive a copy
    if variant == "compile_update":
        from rlforge.nn import maybe_compile

        agent._critic_losses = maybe_compile(agent._critic_loss_math, True)
        agent._actor_losses = maybe_compile(agent._actor_loss_math, True)
        return agent, eager_update(agent)
    if variant.startswith("whole graph"):
        import torch._inductor.config as inductor_config

        if variant == "whole graph, mask-free actor":
            mask_free_relus(agent.policy)

        inductor_config.fallback_random = True  # torch's generator: the same draws as eager
        return agent, torch.compile(whole_update(agent))
    return agent, eager_update(agent)


def mask_free_relus(module: torch.nn.Module) -> None:
    """The actor's nn.ReLU layers swapped for the critics' MaskFreeReLU (the same in eager)."""
    from rlforge.nn import MaskFreeReLU

    for parent in module.modules():
        for name, child in parent.named_children():
            if type(child) is torch.nn.ReLU:
                setattr(parent, name, MaskFreeReLU())


def all_parameters(agent) -> list[torch.Tensor]:
    return [*agent.policy.parameters(), *agent.critic.parameters(), *agent.target_critic.parameters(),
            agent.log_temperature]


def max_difference(batch, updates: int = 5) -> float:
    """Largest absolute parameter difference between eager and the whole-graph update after
    `updates` updates from the same state and seed."""
    results = []
    for variant in ("eager", "whole graph"):
        agent, update = build(variant)
        torch.manual_seed(123)
        for _ in range(updates):
            update(batch)
        results.append([p.detach().clone() for p in all_parameters(agent)])
    return max(float((a - b).abs().max()) for a, b in zip(*results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=300, help="updates per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per variant, alternating")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.updates < 1 or args.rounds < 1:
        parser.error("--updates and --rounds must be at least 1")
    template = fresh_agent()
    batch = template.buffer.sample(template.config.batch_size)
    difference = max_difference(batch)
    print(f"largest parameter difference, whole graph vs eager, after 5 updates: {difference:.2e}")

    variants = ("eager", "compile_update", "whole graph", "whole graph, mask-free actor")
    built = {name: build(name) for name in variants}
    for _, update in built.values():  # compilation and warm-up
        for _ in range(20):
            update(batch)
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name in variants:
            update = built[name][1]
            start = time.perf_counter()
            for _ in range(args.updates):
                update(batch)
            times[name].append((time.perf_counter() - start) / args.updates * 1e3)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name in variants:
        print(f"{name:29s} {medians[name]:6.3f} ms per update (rounds: {', '.join(f'{t:.3f}' for t in times[name])})")
    if args.out:
        write_json(args.out, {"command": " ".join(["python", *sys.argv]), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                              "machine": cpu_model(), "torch": torch.__version__,
                              "max_parameter_difference_after_5_updates": difference,
                              "ms_per_update": times, "ms_per_update_median": medians})


if __name__ == "__main__":
    main()
