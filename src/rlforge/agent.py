"""The contracts between the engine and an algorithm: Transitions, Progress, Policy, Agent.

An algorithm plugin subclasses Agent (and usually Policy) once; shared logic belongs in
functions (rlforge.nn, rlforge.buffers), not in deeper class hierarchies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


@dataclass
class Transitions:
    """Experience from `steps` engine steps over `num_envs` envs, time-major: [steps, num_envs, ...].

    `next_obs` is the true next observation, also where the episode ended (not the first
    observation of the next episode). Bootstrap from it unless `terminated`.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray  # float32 [steps, num_envs]
    next_obs: np.ndarray
    terminated: np.ndarray  # bool [steps, num_envs]: the MDP ended; do not bootstrap
    truncated: np.ndarray  # bool [steps, num_envs]: cut by a time limit; bootstrap
    # The step-info entries the agent asked for (Agent.info_keys), each [steps, num_envs].
    # Where an episode ended, the entry is from that episode's last step, not the reset.
    info: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.rewards.size

    def copy(self) -> "Transitions":
        """An independent copy (arrays and info entries copied)."""
        arrays = (self.obs, self.actions, self.rewards, self.next_obs, self.terminated, self.truncated)
        return Transitions(*(a.copy() for a in arrays), info={k: v.copy() for k, v in self.info.items()})

    def flat(self) -> "Transitions":
        """The same transitions as one batch of rows, [steps * num_envs, ...]."""
        def rows(a: np.ndarray) -> np.ndarray:
            return a.reshape(-1, *a.shape[2:])

        return Transitions(*(rows(a) for a in (
            self.obs, self.actions, self.rewards, self.next_obs, self.terminated, self.truncated)),
            info={key: rows(value) for key, value in self.info.items()})


@dataclass
class Progress:
    """Where training stands, passed to `Agent.update`."""

    step: int  # environment steps done, all envs together
    total_steps: int
    iteration: int
    # A metric row follows this iteration. The engine logs each metric's newest value at the
    # rows only, so on other iterations an agent may return no metrics and save the work (and,
    # on a GPU, the device sync) of turning them into floats.
    metrics_due: bool = True
    # An offline step: nothing was collected; the agent takes one gradient step from its data.
    offline: bool = False

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / max(1, self.total_steps))


class Policy(nn.Module, ABC):
    """Maps a batch of NumPy observations to a batch of NumPy actions in the env's units."""

    @abstractmethod
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions for `obs` ([num_envs, *obs_shape]). Must run under torch.inference_mode."""

    def export_module(self) -> nn.Module | None:
        """Optional, for `rlforge export`: a module mapping a float32 observation batch
        [B, *obs_shape] to the actions `act(obs, deterministic=True)` gives (observation
        normalisation and action rescaling inside; int64 indices for Discrete actions). A copy
        independent of the policy, made of what torch.jit.trace and torch.onnx.export record
        (rlforge.export.blocks). None, the default: the policy cannot be exported (a planner)."""
        return None


class Agent(ABC):
    """What an algorithm plugin provides. Built by the engine from
    (config, observation_space, action_space, num_envs, device), plus `env_id=` when the
    agent's __init__ accepts that keyword (for env-specific knowledge such as a known reward).

    Attributes the engine reads:
      policy               the Policy used to act (also in evaluation)
      steps_per_iteration  engine steps (per env) collected before each `update`
      random_steps         env steps (all envs) taken with uniform random actions first
      offline_steps        steps at the start of the run taken without collecting: each one is
                           an `update` with `progress.offline` set, in which the agent takes one
                           gradient step from its data (a dataset); then online collection as
                           usual. None: the whole run is offline. 0 (default): online only
      info_keys            step-info entries to pass through in Transitions.info (e.g. the
                           Atari preprocessing's "life_lost"); missing entries read as 0
      update_matmul_precision
                           the float32 matmul precision `update` asks for under the run's
                           `matmul_precision: auto` ("medium" pays off for wide layers and
                           large batches on CPUs that keep float32 accuracy at it; see
                           rlforge.precision)
    """

    steps_per_iteration: int = 1
    random_steps: int = 0
    offline_steps: int | None = 0
    info_keys: tuple[str, ...] = ()
    update_matmul_precision: str = "highest"

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device: str = "cpu"):
        self.config = config
        self.observation_space = observation_space
        self.action_space = action_space
        self.num_envs = num_envs
        self.device = torch.device(device)

    policy: Policy

    @abstractmethod
    def observe(self, batch: Transitions) -> None:
        """Take new experience (store it, or keep the rollout for the next update)."""

    @abstractmethod
    def update(self, progress: Progress) -> dict[str, float]:
        """Learn; return metrics named by TensorBoard tag ("losses/critic", "charts/alpha")."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything a resume needs (networks, optimisers, buffers, RNGs, counters), as
        nested dicts and lists of tensors, NumPy arrays and JSON-compatible values."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""

    # ---------------------------------------------------------------- optional

    def evaluation_images(self) -> dict[str, np.ndarray]:
        """Pictures to keep at each evaluation, name -> uint8 [H, W, 3] (e.g. a value map);
        the engine writes them to RUN_DIR/images/ and TensorBoard. None by default."""
        return {}

    def evaluation_metrics(self, result) -> dict[str, float]:
        """More metrics of an evaluation (`rlforge.evaluation.EvalResult`: its returns and
        lengths), logged with its `eval/...` summary, e.g. `eval/normalized_score` from a
        dataset's reference returns. None by default."""
        return {}

    def collected_dataset(self):
        """An rlforge.datasets.Dataset of what the agent collected, for agents that keep their
        experience as data (the engine writes it to RUN_DIR/dataset/ when training ends). None
        by default."""
        return None
