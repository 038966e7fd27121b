"""What a boolean mask costs in torch.compile'd CPU code, and what the critics' mask-free ReLU
(rlforge.nn.MaskFreeReLU) gains in a compiled critic and actor step.

    python benchmarks/bool_mask_cost.py [--repeats 3] [--out benchmarks/results/bool_mask_cost_<date>.json]

Three measurements, each the best of `--repeats` rounds of `--calls` calls, one torch thread,
eager and compiled (Inductor, default mode) of the same function:

  masks     `x <= 0` into a bool tensor, and the same mask as float32, for x of 2 x 256 x 256
            (the size of a 2-critic ensemble's hidden activations at batch 256)
  critic    a critic step's math: 2-member ensemble 23-256-256-1 (HalfCheetah-v4's obs + action),
            batch 256, squared error to a target, backward into the weights; nn.ReLU against
            MaskFreeReLU
  actor     the actor step's part in the critics: the same ensemble with frozen weights, the
            minimum over the two critics, backward into the actions only
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from results_json import write_json  # noqa: E402

from rlforge.nn import MaskFreeReLU, ensemble_mlp  # noqa: E402
from rlforge.runs import cpu_model  # noqa: E402


def best_ms(fn, args, calls: int, repeats: int) -> float:
    for _ in range(3):  # compilation and warm-up
        fn(*args)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / calls * 1e3)
    return best


def critics(relu: type[torch.nn.Module], frozen: bool) -> torch.nn.Sequential:
    torch.manual_seed(0)
    net = ensemble_mlp(2, 23, [256, 256], 1)
    for i, layer in enumerate(net):
        if isinstance(layer, torch.nn.ReLU):
            net[i] = relu()
    return net.requires_grad_(not frozen)


def critic_loss(net, x, target):
    return (net(x).squeeze(-1) - target).pow(2).mean(-1).sum()


def critic_step(loss_fn, net, x, target):
    net.zero_grad(set_to_none=True)
    loss_fn(net, x, target).backward()


def actor_part(net, actions):
    actions = actions.detach().requires_grad_(True)
    net(actions).min(0).values.mean().backward()
    return actions.grad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.repeats < 1 or args.calls < 1:
        parser.error("--repeats and --calls must be at least 1")
    torch.set_num_threads(1)
    timing = {"calls": args.calls, "repeats": args.repeats}
    results = {}

    x = torch.randn(2, 256, 256)
    for name, fn in (("bool mask", lambda t: t <= 0), ("float mask", lambda t: (t <= 0).float())):
        results[f"masks: {name}"] = {"eager_ms": best_ms(fn, (x,), args.calls, args.repeats),
                                     "compiled_ms": best_ms(torch.compile(fn), (x,), args.calls, args.repeats)}

    inputs, target = torch.randn(256, 23), torch.randn(256)
    for relu in (torch.nn.ReLU, MaskFreeReLU):
        net = critics(relu, frozen=False)
        results[f"critic step: {relu.__name__}"] = {
            "eager_ms": best_ms(critic_step, (critic_loss, net, inputs, target), args.calls, args.repeats),
            "compiled_ms": best_ms(critic_step, (torch.compile(critic_loss), net, inputs, target), args.calls,
                                   args.repeats)}
        net = critics(relu, frozen=True)
        results[f"actor part: {relu.__name__}"] = {
            "eager_ms": best_ms(actor_part, (net, inputs), args.calls, args.repeats),
            "compiled_ms": best_ms(torch.compile(actor_part), (net, inputs), args.calls, args.repeats)}

    for name, row in results.items():
        print(f"{name:28s} eager {row['eager_ms']:7.3f} ms   compiled {row['compiled_ms']:7.3f} ms")
    if args.out:
        write_json(args.out, {"command": " ".join(["python", *sys.argv]), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                              "machine": cpu_model(),
                              "python": platform.python_version(), "torch": torch.__version__,
                              "timing": timing, "results": results})


if __name__ == "__main__":
    main()
