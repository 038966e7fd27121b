"""Steps the training envs with the agent's policy (or random actions) into Transitions."""

from __future__ import annotations

import numpy as np

from rlforge.agent import Transitions
from rlforge.envs import EnvAdapter


class Collector:
    def __init__(self, env: EnvAdapter, seed: int):
        self.env = env
        self.obs = env.reset(seed=seed)
        self.finished_returns: list[float] = []  # episodes that ended during the last collect
        self.finished_lengths: list[int] = []

    def collect(self, act, steps: int) -> Transitions:
        """`steps` steps of every env; `act(obs) -> actions`."""
        if steps == 1:
            return self._one_step(act)
        obs_seq, action_seq, reward_seq, next_seq, term_seq, trunc_seq = [], [], [], [], [], []
        info_seq = {key: [] for key in self.env.info_keys}
        self.finished_returns, self.finished_lengths = [], []
        for _ in range(steps):
            actions = act(self.obs)
            result = self.env.step(actions)
            obs_seq.append(self.obs)
            action_seq.append(actions)
            reward_seq.append(result.rewards)
            next_seq.append(result.final_obs)
            term_seq.append(result.terminated)
            trunc_seq.append(result.truncated)
            for key, values in result.info.items():
                info_seq[key].append(values)
            self.finished_returns += result.episode_returns
            self.finished_lengths += result.episode_lengths
            self.obs = result.obs
        return Transitions(*(np.stack(seq) for seq in (obs_seq, action_seq, reward_seq, next_seq, term_seq, trunc_seq)),
                           info={key: np.stack(seq) for key, seq in info_seq.items()})

    def _one_step(self, act) -> Transitions:
        """One step of every env, each array given its leading steps axis as a view: off-policy
        agents collect one step per iteration, and stacking would copy seven small arrays each
        time. The env adapter returns fresh arrays every step, so nothing here is overwritten."""
        actions = np.asarray(act(self.obs))
        result = self.env.step(actions)
        self.finished_returns, self.finished_lengths = list(result.episode_returns), list(result.episode_lengths)
        batch = Transitions(self.obs[None], actions[None], result.rewards[None], result.final_obs[None],
                            result.terminated[None], result.truncated[None],
                            info={key: np.asarray(values)[None] for key, values in result.info.items()})
        self.obs = result.obs
        return batch

    def state_dict(self) -> dict:
        return {"obs": self.obs.copy(), "episode_returns": self.env.episode_returns.copy(),
                "episode_lengths": self.env.episode_lengths.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.obs = np.asarray(state["obs"])
        self.env.episode_returns[:] = state["episode_returns"]
        self.env.episode_lengths[:] = state["episode_lengths"]
