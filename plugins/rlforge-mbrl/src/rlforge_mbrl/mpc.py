"""`mpc`: model-predictive control over a learnt dynamics ensemble.

Each step the policy plans action sequences of `horizon` steps through the ensemble (random
shooting or CEM), executes the first action and replans. The agent alternates: `random_steps`
uniform random transitions (taken by the engine), then a model fit on all data, then
`collect_steps` steps with the planner, a fit, and so on.

Rewards (and terminations) come from the env's known functions when it registered them,
else from the model. A sequence's return is averaged over the ensemble: with "mean" every
member rolls out the whole sequence; with "ts" (trajectory sampling) the particles are
shuffled among the members at every step.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

from rlforge.agent import Agent, Policy, Progress, Transitions
from rlforge.buffers import ReplayBuffer
from rlforge.errors import RLForgeError
from rlforge.nn import resolve_device

from rlforge_mbrl.known import known_functions
from rlforge_mbrl.model import DynamicsEnsemble, ModelTrainer
from rlforge_mbrl.planners import cem, random_shooting

EVAL_PLAN_SEED = 12345  # deterministic plans sample from a generator reset to this seed


def sequence_returns(model: DynamicsEnsemble, obs: torch.Tensor, actions: torch.Tensor, reward_fn=None,
                     termination_fn=None, mode: str = "mean", generator: torch.Generator | None = None) -> torch.Tensor:
    """Predicted returns [n, N] of action sequences [n, N, H, A] from observations [n, D],
    averaged over the ensemble's members (see the module docstring for the modes)."""
    n, count, horizon, _ = actions.shape
    members = model.n
    state = obs.repeat_interleave(count, 0).expand(members, -1, -1)  # [E, n*N, D]
    flat = actions.reshape(n * count, horizon, -1)
    total = torch.zeros(members, n * count, device=obs.device)
    alive = torch.ones_like(total)
    for t in range(horizon):
        a = flat[:, t].expand(members, -1, -1)
        next_state, reward, done = model.predict(state, a)
        if reward_fn is not None:
            reward = reward_fn(state, a, next_state)
        if termination_fn is not None:
            done = termination_fn(state, a, next_state)
        total = total + alive * reward
        alive = alive * (~done).to(alive.dtype)  # no reward after a predicted episode end
        state = next_state
        if mode == "ts" and members > 1:  # each particle moves to a random member for the next step
            order = torch.rand(members, n * count, generator=generator, device=obs.device).argsort(0)
            state = state.gather(0, order[..., None].expand_as(state))
            total, alive = total.gather(0, order), alive.gather(0, order)
    return total.mean(0).reshape(n, count)


class MPCPolicy(Policy):
    """Plans with the dynamics model (a submodule, so the policy's state is the model's)."""

    def __init__(self, model: DynamicsEnsemble, config, action_space: spaces.Box, reward_fn=None, termination_fn=None):
        super().__init__()
        self.model, self.config = model, config
        self.reward_fn, self.termination_fn = reward_fn, termination_fn
        self.action_shape = tuple(action_space.shape)
        self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32).reshape(-1), persistent=False)
        self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32).reshape(-1), persistent=False)

    def plan(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """The planned sequences [n, H, A] for observations [n, D]."""
        cfg = self.config
        generator = None
        mode = cfg.model_rollout
        if deterministic:
            generator = torch.Generator(device=obs.device).manual_seed(EVAL_PLAN_SEED)
            mode = "mean"

        def score(actions):
            return sequence_returns(self.model, obs, actions, self.reward_fn, self.termination_fn, mode, generator)

        if cfg.planner == "cem":
            return cem(score, len(obs), cfg.horizon, self.low, self.high, cfg.num_sequences, cfg.cem_iterations,
                       cfg.cem_elites, cfg.cem_alpha, generator)
        return random_shooting(score, len(obs), cfg.horizon, self.low, self.high, cfg.num_sequences, generator)

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        with torch.inference_mode():
            n = len(obs)
            x = torch.as_tensor(obs, dtype=torch.float32, device=self.low.device).reshape(n, -1)
            first = self.plan(x, deterministic)[:, 0]
            return first.cpu().numpy().reshape(n, *self.action_shape)


class MPCAgent(Agent):
    """Collects with the planner (random actions first) and refits the model on all data
    every `collect_steps` env steps."""

    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        if isinstance(device, str):
            device = resolve_device(device)
        super().__init__(config, observation_space, action_space, num_envs, device)
        check_spaces("mpc", observation_space, action_space)
        cfg = config
        self.obs_dim = int(np.prod(observation_space.shape))
        self.act_dim = int(np.prod(action_space.shape))
        self.random_steps = cfg.random_steps
        self.steps_per_iteration = 1  # the agent decides when to refit, so random_steps is exact

        reward_fn, termination_fn = known_functions(env_id)
        self.uses_known_reward = cfg.use_known_reward and reward_fn is not None
        self.uses_known_termination = cfg.use_known_termination and termination_fn is not None
        self.model = DynamicsEnsemble(cfg.ensemble_size, self.obs_dim, self.act_dim, cfg.model_hidden,
                                      cfg.model_activation, cfg.learn_termination).to(self.device)
        self.policy = MPCPolicy(self.model, cfg, action_space,
                                reward_fn if self.uses_known_reward else None,
                                termination_fn if self.uses_known_termination else None).to(self.device)
        self.trainer = ModelTrainer(self.model, cfg.model_lr, cfg.model_batch_size, cfg.validation_fraction)
        seed = int(np.random.default_rng(torch.initial_seed()).integers(2**31))
        self.buffer = ReplayBuffer(cfg.buffer_size, (self.obs_dim,), (self.act_dim,), seed=seed, device=self.device)
        self.next_fit = max(cfg.random_steps, 1)  # env step at which the model is next fitted

    def observe(self, batch: Transitions) -> None:
        lead = batch.rewards.shape
        self.buffer.add(Transitions(batch.obs.reshape(*lead, -1), batch.actions.reshape(*lead, -1), batch.rewards,
                                    batch.next_obs.reshape(*lead, -1), batch.terminated, batch.truncated))

    def update(self, progress: Progress) -> dict[str, float]:
        if progress.step < self.next_fit or len(self.buffer) == 0:
            return {}
        self.next_fit = progress.step + self.config.collect_steps
        return fit_on_buffer(self.trainer, self.buffer, self.config.model_train_steps)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "trainer": self.trainer.state_dict(),
                "buffer": self.buffer.state_dict(), "next_fit": self.next_fit}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.trainer.load_state_dict(state["trainer"])
        self.buffer.load_state_dict(state["buffer"])
        self.next_fit = int(state["next_fit"])


def fit_on_buffer(trainer: ModelTrainer, buffer: ReplayBuffer, steps: int) -> dict[str, float]:
    """Fit the model on every row of `buffer`."""
    size = len(buffer)
    return trainer.fit(buffer.obs[:size], buffer.actions[:size], buffer.rewards[:size], buffer.next_obs[:size],
                       buffer.terminated[:size], steps)


def check_spaces(algo: str, observation_space, action_space) -> None:
    if not isinstance(action_space, spaces.Box) or not (
            np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise RLForgeError(f"{algo} plans in a bounded continuous (Box) action space, got {action_space}")
    if not isinstance(observation_space, spaces.Box):
        raise RLForgeError(f"{algo} models vector (Box) observations, got {observation_space}")
