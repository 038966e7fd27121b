"""The dynamics model: an ensemble of MLPs, evaluated as one batched module, mapping
(observation, action) to the change in observation, the reward and (optionally) a
termination logit; and `ModelTrainer`, which fits it on bootstraps of the data.

Inputs and targets are normalised with statistics of the training data, recomputed at every
fit and kept as buffers of the module (so they are saved with it).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlforge.nn import ensemble_mlp, load_optimizer_state, make_adam, optimizer_state

MIN_STD = 1e-6


class DynamicsEnsemble(nn.Module):
    """`n` MLPs from [obs, action] to [delta obs, reward, (termination logit)], normalised."""

    def __init__(self, n: int, obs_dim: int, act_dim: int, hidden: list[int], activation: str = "relu",
                 learn_termination: bool = False):
        super().__init__()
        self.n, self.obs_dim, self.act_dim = n, obs_dim, act_dim
        self.learn_termination = learn_termination
        self.target_dim = obs_dim + 1  # delta obs and reward: normalised regression targets
        self.net = ensemble_mlp(n, obs_dim + act_dim, list(hidden), self.target_dim + int(learn_termination), activation)
        self.register_buffer("in_mean", torch.zeros(obs_dim + act_dim))
        self.register_buffer("in_std", torch.ones(obs_dim + act_dim))
        self.register_buffer("out_mean", torch.zeros(self.target_dim))
        self.register_buffer("out_std", torch.ones(self.target_dim))

    def set_normalisers(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        with torch.no_grad():
            self.in_mean.copy_(inputs.mean(0))
            self.in_std.copy_(inputs.std(0, unbiased=False).clamp_min(MIN_STD))
            self.out_mean.copy_(targets.mean(0))
            self.out_std.copy_(targets.std(0, unbiased=False).clamp_min(MIN_STD))

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        """Network outputs for unnormalised [obs, action] inputs ([B, in] or [n, B, in])."""
        return self.net((inputs - self.in_mean) / self.in_std)

    def predict(self, obs: torch.Tensor, actions: torch.Tensor):
        """Each member's (next_obs, reward, terminated) for obs/actions [n, B, .] (or [B, .],
        shared by all members); outputs are [n, B, obs_dim], [n, B], [n, B] bool (all False
        when termination is not learnt)."""
        out = self.raw(torch.cat((obs, actions), -1))
        target = out[..., : self.target_dim] * self.out_std + self.out_mean
        next_obs = obs + target[..., : self.obs_dim]
        reward = target[..., self.obs_dim]
        if self.learn_termination:
            terminated = out[..., self.target_dim] > 0
        else:
            terminated = torch.zeros_like(reward, dtype=torch.bool)
        return next_obs, reward, terminated

    def losses(self, inputs: torch.Tensor, targets: torch.Tensor, terminated: torch.Tensor) -> torch.Tensor:
        """Per-member loss [n]: MSE of the normalised targets (+ termination cross-entropy).
        inputs/targets [n, B, .] or [B, .]; terminated [n, B] or [B] (float 0/1)."""
        out = self.raw(inputs)
        normalised = (targets - self.out_mean) / self.out_std
        loss = (out[..., : self.target_dim] - normalised).pow(2).mean((-1, -2))
        if self.learn_termination:
            logits = out[..., self.target_dim]
            loss = loss + F.binary_cross_entropy_with_logits(
                logits, terminated.expand_as(logits), reduction="none").mean(-1)
        return loss


def is_validation_row(rows: np.ndarray, fraction: float) -> np.ndarray:
    """A fixed pseudo-random share of buffer rows held out, decided by the row's index alone
    (a multiplicative hash), so the split needs no RNG state and never moves a row."""
    if fraction <= 0:
        return np.zeros(len(rows), dtype=bool)
    hashed = (rows.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(1 << 32)
    return hashed < np.uint64(int(fraction * (1 << 32)))


class ModelTrainer:
    """Fits a DynamicsEnsemble on all stored transitions: each member on its own bootstrap
    resample of the training rows; reports the training curve and the held-out loss."""

    def __init__(self, model: DynamicsEnsemble, lr: float, batch_size: int, validation_fraction: float):
        self.model = model
        self.optimizer = make_adam(model.parameters(), lr)
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.fits = 0
        self.last_curve: list[float] = []  # training loss of each gradient step of the latest fit

    def fit(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            terminated: np.ndarray, steps: int) -> dict[str, float]:
        """`steps` gradient steps on rows [N, .] (NumPy); minibatches and bootstraps are drawn
        from torch's global generator (seeded by the engine, restored on resume)."""
        device = self.model.in_mean.device
        as_tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)  # noqa: E731
        inputs = as_tensor(np.concatenate((obs, actions), -1))
        targets = as_tensor(np.concatenate((next_obs - obs, rewards[:, None]), -1))
        done = as_tensor(terminated)
        held_out = torch.as_tensor(is_validation_row(np.arange(len(obs)), self.validation_fraction), device=device)
        if (~held_out).sum() < 2:
            held_out = torch.zeros_like(held_out)  # too few rows to hold any out
        train = (~held_out).nonzero().squeeze(1)
        self.model.set_normalisers(inputs[train], targets[train])

        n = self.model.n
        # one bootstrap resample of the training rows per member
        bootstrap = train[torch.randint(len(train), (n, len(train)), device=device)]
        curve = []
        for _ in range(steps):
            columns = torch.randint(len(train), (self.batch_size,), device=device)
            rows = bootstrap[:, columns]  # [n, B]: member i's batch comes from its own bootstrap
            loss = self.model.losses(inputs[rows], targets[rows], done[rows]).sum()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            curve.append(loss.detach() / n)
        self.fits += 1
        self.last_curve = torch.stack(curve).tolist() if curve else []
        tail = self.last_curve[-max(1, len(curve) // 10):]  # the last tenth of the fit: less noisy than one batch
        metrics = {"losses/model_train": sum(tail) / len(tail) if curve else float("nan"),
                   "charts/model_fits": float(self.fits), "charts/model_data": float(len(train))}
        if held_out.any():
            with torch.no_grad():
                metrics["losses/model_validation"] = self.model.losses(
                    inputs[held_out], targets[held_out], done[held_out]).mean().item()
        if not curve:
            metrics.pop("losses/model_train")
        return metrics

    def state_dict(self) -> dict:
        return {"optimizer": optimizer_state(self.optimizer), "fits": self.fits, "last_curve": list(self.last_curve)}

    def load_state_dict(self, state: dict) -> None:
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.fits = int(state["fits"])
        self.last_curve = [float(v) for v in state["last_curve"]]
