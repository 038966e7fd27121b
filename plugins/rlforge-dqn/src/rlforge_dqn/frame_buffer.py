"""A replay buffer that stores each observation once, and each frame of stacked frames once.

Experience is kept per env as a sequence of slots, one per observation: the first
observation of an episode, then the next observation of every transition. A slot holds the
observation's newest frame (for stacked frames [stack, H, W]) or the whole observation (for
vector observations, stack 1), and, once the env acted on it, the action, the reward, and
whether that transition was terminal for learning and whether it ended the episode:

    slots:  o0  o1  o2  o3 | p0  p1  p2 | q0 ...
    action: a0  a1  a2  -  | b0  b1  -  | ...      (o3, p2: final observations, no action)

So the next observation of a transition is the next slot (also the true final observation
of an episode that was cut by a time limit), and 1M Atari transitions take about 7 GB
(84 * 84 bytes per frame) instead of 56 GB for stored (obs, next_obs) stacks.

Sampling rebuilds an observation's stack from its slot and the `stack - 1` slots before it,
never crossing the start of its episode: frames from before the start repeat the episode's
first frame, exactly as the env's own stacking does (checked on every add: a stack the
buffer would rebuild differently from what the env produced is an error).

n-step returns are computed at sampling time: R = sum_k gamma^k r_{t+k} over at most n
rewards, stopping after a terminal transition (no bootstrap: discount 0) or after the end of
an episode by a time limit (bootstrap from its true final observation: discount gamma^(k+1)).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rlforge.agent import Transitions
from rlforge.resources import check_fits


def n_step_return(rewards: np.ndarray, terminal: np.ndarray, end: np.ndarray, gamma: float):
    """n-step returns from the next n rewards of each row ([B, n] each, in time order).

    Sums gamma^k r_k up to and including the first transition that is `terminal` (the backup
    stops: discount 0) or that ends its episode (`end`; a time limit: bootstrap from its final
    observation with discount gamma^(k+1)), else over all n (discount gamma^n).
    Returns (returns [B], discounts [B], transitions used [B]).
    """
    n = rewards.shape[1]
    stop = terminal | end
    used = np.where(stop.any(axis=1), stop.argmax(axis=1) + 1, n)
    mask = np.arange(n)[None, :] < used[:, None]
    returns = (rewards * gamma ** np.arange(n, dtype=np.float64) * mask).sum(axis=1).astype(np.float32)
    stopped_terminal = terminal[np.arange(len(rewards)), used - 1]
    discounts = np.where(stopped_terminal, 0.0, float(gamma) ** used).astype(np.float32)
    return returns, discounts, used


class FrameReplayBuffer:
    def __init__(self, capacity: int, obs_shape: tuple, obs_dtype, num_envs: int = 1, stack: int = 1,
                 gamma: float = 0.99, n_step: int = 1, action_dtype=np.int64, seed: int = 0,
                 device: str | torch.device = "cpu"):
        """`capacity` observations in all (split evenly over `num_envs` sequences). `stack` > 1:
        observations are `stack` frames along their first axis and only the newest is stored."""
        self.obs_shape, self.stack = tuple(obs_shape), int(stack)
        if self.stack > 1 and (len(self.obs_shape) < 2 or self.obs_shape[0] != self.stack):
            raise ValueError(f"stacked observations need shape [{self.stack}, ...], got {self.obs_shape}")
        self.frame_shape = self.obs_shape[1:] if self.stack > 1 else self.obs_shape
        self.num_envs = int(num_envs)
        self.slots = max(2 + n_step + self.stack, math.ceil(capacity / self.num_envs))
        self.gamma, self.n_step = float(gamma), int(n_step)
        frame_bytes = float(np.prod(self.frame_shape)) * np.dtype(obs_dtype).itemsize
        check_fits(self.slots * self.num_envs * (frame_bytes + 16), f"a replay buffer of {capacity:,} observations")
        self.device = torch.device(device)
        shape = (self.num_envs, self.slots)
        self.frames = np.zeros(shape + self.frame_shape, dtype=obs_dtype)
        self.actions = np.zeros(shape, dtype=action_dtype)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.first = np.zeros(shape, dtype=bool)  # the slot is the first observation of an episode
        self.acted = np.zeros(shape, dtype=bool)  # the slot has a transition (action, reward, next slot)
        self.terminal = np.zeros(shape, dtype=bool)  # that transition is terminal for learning: no bootstrap
        self.end = np.zeros(shape, dtype=bool)  # that transition ended the episode (terminated or truncated)
        self.position = np.zeros(self.num_envs, dtype=np.int64)  # next slot to write, per env
        self.filled = np.zeros(self.num_envs, dtype=np.int64)  # slots written, per env (at most `slots`)
        self.open = np.zeros(self.num_envs, dtype=bool)  # the newest slot awaits its action
        self.transitions = 0
        self.rng = np.random.default_rng(seed)
        self._envs = np.arange(self.num_envs)
        # One env of single-frame observations (DQN on vector observations, a gradient step per
        # env step): add and sample take scalar-index paths that write and draw exactly what the
        # general ones do, in a fraction of the NumPy calls.
        self.single_stream = self.num_envs == 1 and self.stack == 1

    def __len__(self) -> int:
        """Transitions stored (some of the newest cannot be sampled until their successors arrive)."""
        return self.transitions

    # ------------------------------------------------------------------ adding

    def add(self, batch: Transitions, terminal: np.ndarray | None = None) -> None:
        """Append a time-major batch [steps, num_envs, ...]. `terminal` (default
        `batch.terminated`) marks the transitions that end the backup, e.g. also lost lives."""
        terminal = batch.terminated if terminal is None else terminal
        if self.single_stream:
            for t in range(batch.rewards.shape[0]):
                self._add_single(batch.obs[t, 0], np.reshape(batch.actions[t], self.actions.shape[2:]),
                                 batch.rewards[t, 0], batch.next_obs[t, 0], terminal[t, 0],
                                 bool(batch.terminated[t, 0] or batch.truncated[t, 0]))
            return
        envs = self._envs
        for t in range(batch.rewards.shape[0]):
            obs, next_obs = batch.obs[t], batch.next_obs[t]
            continuing = self.open.copy()
            if continuing.any():  # the observation acted on must be the newest slot's
                same = self._matches(envs[continuing], self._logical_newest(envs[continuing]), obs[continuing])
                if not same.all():
                    # The env restarted (a resume with fresh episodes): the episode was cut after its
                    # newest transition, whose next observation (the newest slot) becomes final.
                    cut = envs[continuing][~same]
                    previous = self._physical(cut, self._logical_newest(cut) - 1)
                    self.end[cut, previous] = True
                    self.open[cut] = False
            starting = envs[~self.open]
            if len(starting):
                self._write(starting, obs[starting], first=True)
                self._check(starting, obs[starting])
            slot = self._physical(envs, self._logical_newest(envs))
            self.actions[envs, slot] = batch.actions[t].reshape(self.num_envs, *self.actions.shape[2:])
            self.rewards[envs, slot] = batch.rewards[t]
            self.terminal[envs, slot] = terminal[t]
            done = batch.terminated[t] | batch.truncated[t]
            self.end[envs, slot] = done
            self.acted[envs, slot] = True
            self.transitions += self.num_envs
            self._write(envs, next_obs, first=False)
            self._check(envs, next_obs)
            self.open[:] = ~done

    def _add_single(self, obs, action, reward, next_obs, terminal, done: bool) -> None:
        """`add` of one transition of a single stream: the newest slot is always position - 1."""
        if self.open[0] and not np.array_equal(self.frames[0, (self.position[0] - 1) % self.slots], obs):
            self.end[0, (self.position[0] - 2) % self.slots] = True  # the env restarted: see add
            self.open[0] = False
        if not self.open[0]:
            self._write_single(obs, first=True)
        slot = (self.position[0] - 1) % self.slots
        self.actions[0, slot] = action
        self.rewards[0, slot] = reward
        self.terminal[0, slot] = terminal
        self.end[0, slot] = done
        self.acted[0, slot] = True
        self.transitions += 1
        self._write_single(next_obs, first=False)
        self.open[0] = not done

    def _write_single(self, obs: np.ndarray, first: bool) -> None:
        slot = self.position[0]
        self.transitions -= int(self.acted[0, slot])
        self.frames[0, slot] = obs
        self.first[0, slot] = first
        self.acted[0, slot] = self.terminal[0, slot] = self.end[0, slot] = False
        self.position[0] = (slot + 1) % self.slots
        self.filled[0] = min(self.filled[0] + 1, self.slots)

    def _write(self, envs: np.ndarray, obs: np.ndarray, first: bool) -> None:
        slot = self.position[envs]
        self.transitions -= int(self.acted[envs, slot].sum())  # overwriting the oldest transitions
        self.frames[envs, slot] = obs[:, -1] if self.stack > 1 else obs
        self.first[envs, slot] = first
        self.acted[envs, slot] = False
        self.terminal[envs, slot] = False
        self.end[envs, slot] = False
        self.position[envs] = (slot + 1) % self.slots
        self.filled[envs] = np.minimum(self.filled[envs] + 1, self.slots)

    def _check(self, envs: np.ndarray, obs: np.ndarray) -> None:
        if self.stack > 1 and not self._matches(envs, self._logical_newest(envs), obs).all():
            raise ValueError(
                "stacked observations do not follow one another: each observation must be the previous one's "
                f"last {self.stack - 1} frames plus a new one, and an episode's first observation must repeat its "
                "frame (the stacking of rlforge_dqn.atari.AtariPreprocessing)")

    def _matches(self, envs: np.ndarray, logical: np.ndarray, obs: np.ndarray) -> np.ndarray:
        rebuilt = self._stacks(envs, logical)
        return (rebuilt.reshape(len(envs), -1) == obs.reshape(len(envs), -1)).all(axis=1)

    # ------------------------------------------------------------------ indexing

    def _logical_newest(self, envs: np.ndarray) -> np.ndarray:
        return self.filled[envs] - 1

    def _physical(self, envs: np.ndarray, logical: np.ndarray) -> np.ndarray:
        """Slot index of the `logical`-th oldest slot of each env."""
        wrapped = self.filled[envs] == self.slots
        oldest = np.where(wrapped, self.position[envs], 0)
        return (oldest + logical) % self.slots

    def _stacks(self, envs: np.ndarray, logical: np.ndarray) -> np.ndarray:
        """Observations ending at the given slots, [len(envs), *obs_shape]."""
        if self.stack == 1:
            return self.frames[envs, self._physical(envs, logical)]
        offsets = np.arange(-self.stack + 1, 1)
        window = np.maximum(logical[:, None] + offsets, 0)  # [B, stack], oldest first
        physical = self._physical(envs[:, None], window)
        first = self.first[envs[:, None], physical]
        # frames before the episode's first slot repeat that slot's frame
        start = np.where(first, np.arange(self.stack), 0).max(axis=1)
        source = np.maximum(np.arange(self.stack)[None, :], start[:, None])
        physical = np.take_along_axis(physical, source, axis=1)
        return self.frames[envs[:, None], physical]

    # ------------------------------------------------------------------ sampling

    def sample(self, batch_size: int) -> dict[str, torch.Tensor]:
        """A uniform batch (with replacement) of n-step transitions as tensors:
        obs, actions, returns, discounts (gamma^k, 0 after a terminal transition), next_obs."""
        if self.transitions == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        if self.single_stream and self.n_step == 1:
            return self._tensors(self._single_stream_batch(batch_size))
        envs, logical = self._sample_slots(batch_size)
        if self.stack == 1 and self.n_step == 1:
            arrays = self._one_step_batch(envs, logical)
        else:
            returns, discounts, bootstrap = self._n_step(envs, logical)
            slot = self._physical(envs, logical)
            arrays = {"obs": self._stacks(envs, logical), "actions": self.actions[envs, slot],
                      "returns": returns, "discounts": discounts, "next_obs": self._stacks(envs, bootstrap)}
        return self._tensors(arrays)

    def _tensors(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        tensors = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}
        if self.device.type == "cpu":
            return tensors
        return {name: t.to(self.device, non_blocking=True) for name, t in tensors.items()}

    def _sample_slots(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(env, logical slot) of `batch_size` sampleable transitions: slots drawn uniformly
        over all written ones, redrawing those that cannot be sampled."""
        total = int(self.filled.sum())
        ends = np.cumsum(self.filled)
        envs, logical = [], []
        wanted = batch_size
        for _ in range(1000):
            k = self.rng.integers(0, total, size=wanted)
            if self.num_envs == 1:  # no search needed (the usual case, once per gradient step)
                cand_envs, cand_logical = np.zeros(wanted, dtype=np.int64), k
            else:
                cand_envs = np.searchsorted(ends, k, side="right")
                cand_logical = k - (ends - self.filled)[cand_envs]
            ok = self._valid(cand_envs, cand_logical)
            all_ok = ok.all()
            envs.append(cand_envs if all_ok else cand_envs[ok])
            logical.append(cand_logical if all_ok else cand_logical[ok])
            wanted -= len(envs[-1])
            if wanted == 0:
                break
        else:
            raise ValueError("the replay buffer holds no transition that can be sampled yet")
        if len(envs) == 1:
            return envs[0], logical[0]
        return np.concatenate(envs), np.concatenate(logical)

    def _single_stream_batch(self, batch_size: int) -> dict[str, np.ndarray]:
        """_sample_slots then _one_step_batch for a single stream: the same draws and redraws,
        with the slots of the one env taken directly."""
        filled = int(self.filled[0])
        oldest = int(self.position[0]) if filled == self.slots else 0
        acted = self.acted[0]
        parts, wanted = [], batch_size
        for _ in range(1000):
            slot = (self.rng.integers(0, filled, size=wanted) + oldest) % self.slots
            ok = acted.take(slot)
            parts.append(slot if ok.all() else slot[ok])
            wanted -= len(parts[-1])
            if wanted == 0:
                break
        else:
            raise ValueError("the replay buffer holds no transition that can be sampled yet")
        slot = parts[0] if len(parts) == 1 else np.concatenate(parts)
        discounts = np.where(self.terminal[0].take(slot), np.float32(0.0), np.float32(self.gamma))
        return {"obs": self.frames[0].take(slot, axis=0), "actions": self.actions[0].take(slot),
                "returns": self.rewards[0].take(slot), "discounts": discounts,
                "next_obs": self.frames[0].take((slot + 1) % self.slots, axis=0)}

    def _one_step_batch(self, envs: np.ndarray, logical: np.ndarray) -> dict[str, np.ndarray]:
        """One-step transitions of single-frame observations: what _n_step and _stacks give
        for n_step 1 and stack 1, in a handful of array operations."""
        oldest = np.where(self.filled == self.slots, self.position, 0)[envs]
        slot = (oldest + logical) % self.slots
        next_slot = (slot + 1) % self.slots
        discounts = np.where(self.terminal[envs, slot], np.float32(0.0), np.float32(self.gamma))
        return {"obs": self.frames[envs, slot], "actions": self.actions[envs, slot],
                "returns": self.rewards[envs, slot], "discounts": discounts,
                "next_obs": self.frames[envs, next_slot]}

    def _lookahead(self, envs: np.ndarray, logical: np.ndarray):
        """The n slots from each sampled one: physical indices and whether each is written."""
        ahead = logical[:, None] + np.arange(self.n_step)[None, :]
        written = ahead <= self.filled[envs][:, None] - 1
        physical = self._physical(envs[:, None], np.minimum(ahead, self.filled[envs][:, None] - 1))
        return physical, written

    def _valid(self, envs: np.ndarray, logical: np.ndarray) -> np.ndarray:
        if self.stack == 1 and self.n_step == 1:  # a slot drawn is written; it needs its transition
            return self.acted[envs, self._physical(envs, logical)]
        physical, written = self._lookahead(envs, logical)
        acted = self.acted[envs[:, None], physical] & written
        stops = (self.terminal[envs[:, None], physical] | self.end[envs[:, None], physical]) & acted
        # the n-step return needs each transition up to the first stop (or all n)
        needed = np.cumsum(np.concatenate([np.ones((len(envs), 1), bool), ~stops[:, :-1]], axis=1), axis=1) \
            == np.arange(1, self.n_step + 1)[None, :]
        ok = (acted | ~needed).all(axis=1) & acted[:, 0]
        wrapped = self.filled[envs] == self.slots
        return ok & (~wrapped | (logical >= self.stack - 1))  # its stack's frames are not overwritten

    def _n_step(self, envs: np.ndarray, logical: np.ndarray):
        physical, _ = self._lookahead(envs, logical)
        index = (envs[:, None], physical)
        returns, discounts, used = n_step_return(self.rewards[index], self.terminal[index], self.end[index], self.gamma)
        return returns, discounts, logical + used

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """The written slots (views, no copies), positions, open episodes and the sampling RNG."""
        upto = int(self.filled.max())
        return {
            "frames": self.frames[:, :upto], "actions": self.actions[:, :upto], "rewards": self.rewards[:, :upto],
            "first": self.first[:, :upto], "acted": self.acted[:, :upto], "terminal": self.terminal[:, :upto],
            "end": self.end[:, :upto], "position": self.position.copy(), "filled": self.filled.copy(),
            "open": self.open.copy(), "transitions": self.transitions, "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        upto = int(np.max(state["filled"]))
        if upto > self.slots or len(state["filled"]) != self.num_envs:
            raise ValueError(f"saved replay buffer ({len(state['filled'])} envs, {upto} slots) does not fit this one "
                             f"({self.num_envs} envs, {self.slots} slots)")
        for name in ("frames", "actions", "rewards", "first", "acted", "terminal", "end"):
            saved, array = np.asarray(state[name]), getattr(self, name)
            if saved.shape[2:] != array.shape[2:]:
                raise ValueError(f"saved replay field {name!r} has entries of shape {saved.shape[2:]}, "
                                 f"expected {array.shape[2:]}")
            array[:, :upto] = saved
        self.position[:] = state["position"]
        self.filled[:] = state["filled"]
        self.open[:] = state["open"]
        self.transitions = int(state["transitions"])
        self.rng.bit_generator.state = state["rng"]
