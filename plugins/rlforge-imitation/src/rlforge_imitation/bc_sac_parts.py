"""The pieces bc-sac adds to SAC's networks and replay: a fixed input standardisation, LayerNorm
critics with a fixed output scale, and a replay buffer that mixes the expert's transitions
into every batch (see bc_sac.py for why each is there)."""

from __future__ import annotations

import numpy as np
import torch


class ObsNormalizer(torch.nn.Module):
    """(x - mean) / std on the first len(mean) features of x (the observation; a critic's input
    goes on with the action unchanged). Fixed statistics, saved with the network."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.mean)
        if x.shape[-1] == n:
            return (x - self.mean) / self.std
        return torch.cat(((x[..., :n] - self.mean) / self.std, x[..., n:]), dim=-1)


class Scale(torch.nn.Module):
    """Multiplies by a fixed factor (saved with the network)."""

    def __init__(self, factor: float):
        super().__init__()
        self.register_buffer("factor", torch.tensor(float(factor)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class ExpertMixedReplay:
    """SAC's replay buffer, with a fixed share (`ratio`) of every sampled batch drawn uniformly
    from the expert's transitions (their actions scaled into [-1, 1]); everything else (adding,
    its size, its state) is the wrapped buffer's."""

    def __init__(self, buffer, expert: dict[str, torch.Tensor], ratio: float, rng: np.random.Generator):
        self.buffer, self.expert, self.ratio, self.rng = buffer, expert, float(ratio), rng
        self.size_expert = len(expert["rewards"])

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        n_expert = int(round(self.ratio * batch_size))
        online = self.buffer.sample(batch_size - n_expert)
        if n_expert == 0:
            return online
        rows = torch.as_tensor(self.rng.integers(0, self.size_expert, size=n_expert), device=self.expert["rewards"].device)
        return {k: torch.cat((v, self.expert[k][rows])) for k, v in online.items()}

    def __len__(self) -> int:
        return len(self.buffer)

    def __getattr__(self, name):
        return getattr(self.buffer, name)


def with_layer_norms(net: torch.nn.Sequential, scale: float) -> torch.nn.Sequential:
    """`net` with a parameter-free LayerNorm after every layer but the last that has
    `out_features`, and its output multiplied by `scale`; the same parameters."""
    layers = list(net)
    out = []
    for i, layer in enumerate(layers):
        out.append(layer)
        if hasattr(layer, "out_features") and i < len(layers) - 1:
            out.append(torch.nn.LayerNorm(layer.out_features, elementwise_affine=False))
    return torch.nn.Sequential(*out, Scale(scale))
