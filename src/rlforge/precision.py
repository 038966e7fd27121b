"""How float32 matrix products are computed in the agent's updates: torch's
`set_float32_matmul_precision`, set around each `update` and restored after it.

On CPUs with bfloat16 dot-product instructions (AVX512-BF16, AMX), oneDNN computes float32
products at torch's "medium" precision about twice as fast for wide layers and large batches
(a 256x256x256 product: 361 us -> 186 us on one core) and, measured on this project's
machine, as accurately as at "highest" (a relative error of 7e-7 against float64, where
rounding the inputs to bfloat16 would give 1e-3; benchmarks/matmul_precision.py). Each such
product has a fixed cost of about 17 us, though, so small products (acting on one observation, 64-wide networks) get slower.
Hence `auto`: the precision the agent asks for (`Agent.update_matmul_precision`; the SAC
family asks for "medium" when its layers are wide, see `precision_for_layers`), used only
on a CPU device with those instructions and after a product checked against float64 here;
"highest" everywhere else. On GPUs "high" and "medium" mean
TF32 or bfloat16 arithmetic, which does lose precision, so `auto` never picks them there.
Acting and evaluation always run at torch's default ("highest").
"""

from __future__ import annotations

from pathlib import Path

import torch

PRECISIONS = ("auto", "highest", "high", "medium")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
MEDIUM_MIN_WIDTH, MEDIUM_MIN_BATCH = 256, 64  # where "medium" pays off (precision_for_layers)
FLOAT32_LEVEL = 1e-5  # relative error allowed of the checked product (float32 rounding gives ~1e-6)


def update_precision(setting: str, device: torch.device, agent_asks: str) -> str:
    """The precision for the agent's updates, from a run's `matmul_precision` setting."""
    if setting not in PRECISIONS:
        raise ValueError(f"matmul_precision must be one of {', '.join(PRECISIONS)}, got {setting!r}")
    if setting != "auto":
        return setting
    if agent_asks == "highest" or device.type != "cpu":
        return "highest"
    return agent_asks if _cpu_has_bf16_dot() and keeps_float32_accuracy(agent_asks) else "highest"


class matmul_precision:
    """float32 matmuls at `precision` inside the block (a global torch flag). A plain class,
    not contextlib: the engine enters it once per iteration, where caches are cold from the
    last update, and there the generator-based version took 23 us against this one's 11
    (benchmarks/after_update.py)."""

    def __init__(self, precision: str):
        self.precision = precision
        self.previous = precision

    def __enter__(self) -> None:
        self.previous = torch.get_float32_matmul_precision()
        if self.previous != self.precision:
            torch.set_float32_matmul_precision(self.precision)

    def __exit__(self, *exc) -> None:
        if self.previous != self.precision:
            torch.set_float32_matmul_precision(self.previous)


def precision_for_layers(batch_size: int, hidden_widths: list[int]) -> str:
    """What an agent should ask for: "medium" where every hidden layer is wide and the batch
    large (benchmarks/matmul_precision.py, one core: 256 rows through a 256x256 layer 361 -> 186
    us, 64 rows 94 -> 59 us; but 256 rows through 64x64 25 -> 28 us, one row through 256x256
    4.5 -> 20 us)."""
    wide = bool(hidden_widths) and min(hidden_widths) >= MEDIUM_MIN_WIDTH
    return "medium" if wide and batch_size >= MEDIUM_MIN_BATCH else "highest"


def keeps_float32_accuracy(precision: str) -> bool:
    """Whether float32 products at `precision` agree with float64 to float32's level."""
    def product(a, b):
        with matmul_precision(precision):
            return a @ b
    return agrees_with_float64(product)


def agrees_with_float64(product) -> bool:
    """`product(a, b)` checked on inputs whose low bits matter: 1 + 1e-3 * noise, which
    bfloat16 inputs would round away entirely."""
    generator = torch.Generator().manual_seed(0)
    a = 1.0 + 1e-3 * torch.randn(256, 256, generator=generator)
    b = torch.randn(256, 256, generator=generator)
    exact = a.double() @ b.double()
    return bool(((product(a, b).double() - exact).abs().max() / exact.abs().max()) < FLOAT32_LEVEL)


def _cpu_has_bf16_dot() -> bool:
    """Whether the CPU advertises bfloat16 dot products (Linux's /proc/cpuinfo; elsewhere: no)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)
