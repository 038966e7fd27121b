"""`mbpo`: SAC trained on real transitions mixed with short rollouts of a learnt model.

  rollout_length 0   plain SAC (no model is built)
  rollout_length 1   Dyna-style: one-step model transitions from real states
  rollout_length k   MBPO (Janner et al. 2019): k-step branched rollouts from real states

Every env step after `learning_starts`: the model is refitted on all real data every
`model_train_every` steps; `rollout_batch_size` rollouts start from real states, each step
taking the current SAC policy's (stochastic) action and a random member's prediction; their
transitions go to a model buffer; then `sac_updates_per_step` SAC updates sample batches
of which `real_ratio` come from the real buffer and the rest from the model buffer.

The SAC agent is reused as it is: its `buffer` is replaced by a `MixedBuffer` that stores real
experience and samples the real/model mix, so SAC's own update code runs unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

from rlforge.agent import Progress, Transitions
from rlforge.buffers import ReplayBuffer
from rlforge_sac.agent import SACAgent

from rlforge_mbrl.known import known_functions
from rlforge_mbrl.model import DynamicsEnsemble, ModelTrainer
from rlforge_mbrl.mpc import check_spaces, fit_on_buffer


class MixedBuffer:
    """Real transitions (`add`, `add_rows`, `len`) and model transitions, sampled in a fixed ratio."""

    def __init__(self, real: ReplayBuffer, model: ReplayBuffer, real_ratio: float):
        self.real, self.model, self.real_ratio = real, model, real_ratio

    def __len__(self) -> int:
        return len(self.real)

    def add(self, batch: Transitions) -> None:
        self.real.add(batch)

    def add_rows(self, *rows: np.ndarray) -> None:
        self.real.add_rows(*rows)

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        if len(self.model) == 0:
            return self.real.sample(batch_size)
        n_real = int(round(batch_size * self.real_ratio))
        parts = [b.sample(n) for b, n in ((self.real, n_real), (self.model, batch_size - n_real)) if n > 0]
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}

    def state_dict(self) -> dict:
        return {"real": self.real.state_dict(), "model": self.model.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.real.load_state_dict(state["real"])
        self.model.load_state_dict(state["model"])


class MBPOAgent(SACAgent):
    def __init__(self, config, observation_space, action_space, num_envs: int = 1, device="cpu",
                 env_id: str | None = None):
        check_spaces("mbpo", observation_space, action_space)
        super().__init__(config, observation_space, action_space, num_envs, device)
        cfg = config
        self.model = self.trainer = None
        self.reward_fn = self.termination_fn = None
        if cfg.rollout_length > 0:
            reward_fn, termination_fn = known_functions(env_id)
            self.reward_fn = reward_fn if cfg.use_known_reward else None
            self.termination_fn = termination_fn if cfg.use_known_termination else None
            # the model sees SAC's actions in [-1, 1]; the known functions want the env's units
            self.model = DynamicsEnsemble(cfg.ensemble_size, self.obs_dim, self.act_dim, cfg.model_hidden,
                                          cfg.model_activation, cfg.learn_termination).to(self.device)
            self.trainer = ModelTrainer(self.model, cfg.model_lr, cfg.model_batch_size, cfg.validation_fraction)
        seed = int(np.random.default_rng([torch.initial_seed() % 2**63, 2]).integers(2**31))
        model_buffer = ReplayBuffer(cfg.model_buffer_size if cfg.rollout_length > 0 else 1, (self.obs_dim,),
                                    (self.act_dim,), seed=seed, device=self.device)
        self.buffer = MixedBuffer(self.buffer, model_buffer, cfg.real_ratio)
        self.env_scale = torch.as_tensor(self.unit_actions.scale, dtype=torch.float32, device=self.device)
        self.env_bias = torch.as_tensor(self.unit_actions.bias, dtype=torch.float32, device=self.device)
        self.next_fit = 0
        self.model_metrics: dict[str, float] = {}

    # ------------------------------------------------------------------ learning

    def update(self, progress: Progress) -> dict[str, float]:
        cfg = self.config
        if progress.step < cfg.learning_starts or len(self.buffer) == 0:
            return {}
        metrics = {}
        if self.model is not None:
            if progress.step >= self.next_fit:
                self.model_metrics = fit_on_buffer(self.trainer, self.buffer.real, cfg.model_train_steps)
                self.next_fit = progress.step + cfg.model_train_every
            rollout = self.model_rollout(cfg.rollout_batch_size)
            self.buffer.model.add(rollout)
            metrics.update(self.model_metrics)
            metrics["charts/model_buffer"] = float(len(self.buffer.model))
            metrics["charts/rollout_reward"] = float(rollout.rewards.mean()) if len(rollout) else 0.0
        for _ in range(cfg.sac_updates_per_step):
            sac = super().update(progress)
        return {**sac, **metrics}

    def model_rollout(self, count: int) -> Transitions:
        """Rollouts of `rollout_length` steps from `count` real states: every step taken until
        each rollout's (predicted) termination, as Transitions of shape [rows, 1, ...] (the
        buffer's time-major layout). Actions in [-1, 1]."""
        rows = []
        with torch.no_grad():
            obs = self.buffer.real.sample(count)["obs"]
            for _ in range(self.config.rollout_length):
                actions = self.policy.distribution(obs).sample()
                next_all, reward_all, done_all = self.model.predict(obs, actions)  # [E, B, .]
                member = torch.randint(self.model.n, (len(obs),), device=obs.device)  # one random member each
                pick = torch.arange(len(obs), device=obs.device)
                next_obs, reward, done = next_all[member, pick], reward_all[member, pick], done_all[member, pick]
                env_actions = actions * self.env_scale + self.env_bias
                if self.reward_fn is not None:
                    reward = self.reward_fn(obs, env_actions, next_obs)
                if self.termination_fn is not None:
                    done = self.termination_fn(obs, env_actions, next_obs)
                rows.append((obs, actions, reward, next_obs, done))
                obs = next_obs[~done]
                if len(obs) == 0:
                    break
        obs, actions, rewards, next_obs, done = (torch.cat(parts).cpu().numpy() for parts in zip(*rows))
        return Transitions(obs[:, None], actions[:, None].astype(np.float32), rewards[:, None].astype(np.float32),
                           next_obs[:, None], done[:, None].astype(bool), np.zeros((len(done), 1), dtype=bool))

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        state = super().state_dict()  # includes the MixedBuffer (real and model transitions)
        state["mbpo"] = {
            "model": self.model.state_dict() if self.model is not None else None,
            "trainer": self.trainer.state_dict() if self.trainer is not None else None,
            "next_fit": self.next_fit,
            "model_metrics": dict(self.model_metrics),
        }
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        mine = state["mbpo"]
        if self.model is not None:
            self.model.load_state_dict(mine["model"])
            self.trainer.load_state_dict(mine["trainer"])
        self.next_fit = int(mine["next_fit"])
        self.model_metrics = {k: float(v) for k, v in mine["model_metrics"].items()}
