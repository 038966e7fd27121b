"""The frame-stacking replay buffer returns exactly the observations the env produced (stacks
rebuilt from single frames, across episode boundaries, after the ring wraps, with several
envs), and n-step returns that stop at termination and bootstrap at truncation."""

import numpy as np
import pytest

from rlforge.agent import Transitions
from rlforge_dqn.frame_buffer import FrameReplayBuffer, n_step_return

STACK = 4
GAMMA = 0.9


class StackedStream:
    """Fake envs whose frames are unique numbers, stacked as AtariPreprocessing stacks them (an
    episode's first observation repeats its frame). Episodes end at random by termination or by
    truncation. Each transition's action is a unique id, so a sampled transition names its source."""

    def __init__(self, num_envs, seed=0, stack=STACK):
        self.rng = np.random.default_rng(seed)
        self.num_envs, self.stack = num_envs, stack
        self.counter = 0
        self.obs = np.stack([self._first() for _ in range(num_envs)])
        self.records = {}  # action id -> (env, obs, reward, next_obs, terminated, truncated)
        self.order = [[] for _ in range(num_envs)]  # action ids per env, in time order

    def _frame(self):
        self.counter += 1
        return np.full((2, 3), self.counter, dtype=np.int32)

    def _first(self):
        return np.repeat(self._frame()[None], self.stack, axis=0)

    def step(self):
        obs = self.obs.copy()
        next_obs = np.concatenate([obs[:, 1:], np.stack([self._frame()[None] for _ in range(self.num_envs)])], axis=1)
        terminated = self.rng.random(self.num_envs) < 0.08
        truncated = ~terminated & (self.rng.random(self.num_envs) < 0.05)
        rewards = self.rng.normal(size=self.num_envs).astype(np.float32)
        actions = np.arange(len(self.records), len(self.records) + self.num_envs)
        for e in range(self.num_envs):
            self.records[int(actions[e])] = (e, obs[e], rewards[e], next_obs[e].copy(), terminated[e], truncated[e])
            self.order[e].append(int(actions[e]))
        self.obs = next_obs.copy()
        for e in np.flatnonzero(terminated | truncated):
            self.obs[e] = self._first()
        return Transitions(obs[None], actions[None], rewards[None], next_obs[None], terminated[None], truncated[None])


def expected_n_step(stream, action_id, n, gamma=GAMMA):
    """Reference n-step target pieces by walking the env's recorded transitions."""
    env = stream.records[action_id][0]
    ids = stream.order[env]
    i = ids.index(action_id)
    ret, discount = 0.0, 1.0
    for k in range(n):
        _, _, reward, next_obs, terminated, truncated = stream.records[ids[i + k]]
        ret += discount * reward
        discount *= gamma
        if terminated:
            return ret, 0.0, next_obs
        if truncated:
            return ret, discount, next_obs
    return ret, discount, next_obs


@pytest.mark.parametrize("num_envs,capacity,steps,n", [(1, 10_000, 400, 1), (2, 10_000, 400, 3), (3, 90, 500, 1),
                                                       (2, 60, 500, 4)])
def test_samples_are_exactly_the_env_transitions(num_envs, capacity, steps, n):
    stream = StackedStream(num_envs)
    buffer = FrameReplayBuffer(capacity, (STACK, 2, 3), np.int32, num_envs, STACK, GAMMA, n, seed=3)
    for _ in range(steps):
        buffer.add(stream.step())
    assert buffer.frames.shape[:2] == (num_envs, max(-(-capacity // num_envs), 2 + n + STACK))  # one frame per slot
    seen_first = seen_cut = 0
    for _ in range(20):
        batch = buffer.sample(64)
        for obs, action, ret, discount, next_obs in zip(*(batch[k].numpy() for k in
                                                         ("obs", "actions", "returns", "discounts", "next_obs"))):
            env, want_obs, _, _, _, _ = stream.records[int(action)]
            np.testing.assert_array_equal(obs, want_obs)
            want_ret, want_discount, want_next = expected_n_step(stream, int(action), n)
            np.testing.assert_array_equal(next_obs, want_next)
            assert ret == pytest.approx(want_ret, abs=1e-5)
            assert discount == pytest.approx(want_discount, abs=1e-7)
            seen_first += bool((want_obs == want_obs[-1]).all())  # an episode's first observation
            seen_cut += want_discount > GAMMA ** n + 1e-9  # bootstrapped early: truncated within n steps
    assert seen_first > 0 and (n == 1 or seen_cut > 0)
    if capacity < 100:  # wrapped: only the newest transitions remain
        newest = {a for ids in stream.order for a in ids[-(capacity // num_envs):]}
        batch = buffer.sample(256)
        assert set(batch["actions"].tolist()) <= newest


def test_one_step_discounts_stop_at_termination_and_bootstrap_at_truncation():
    obs = np.zeros((3, 1, 2), np.float32)
    obs[:, 0, 0] = [1, 2, 3]
    next_obs = obs + 10
    buffer = FrameReplayBuffer(100, (2,), np.float32, 3, 1, GAMMA, 1)
    buffer.add(Transitions(obs[None, :, 0], np.array([[0, 1, 0]]), np.array([[1.0, 2.0, 3.0]], np.float32),
                           next_obs[None, :, 0], np.array([[False, True, False]]), np.array([[False, False, True]])))
    batch = buffer.sample(200)
    by_reward = {float(r): (float(d), float(n[0])) for r, d, n in zip(batch["returns"], batch["discounts"], batch["next_obs"])}
    assert by_reward == {1.0: (pytest.approx(GAMMA), 11.0), 2.0: (0.0, 12.0), 3.0: (pytest.approx(GAMMA), 13.0)}


def test_n_step_return_by_hand():
    g = 0.5
    rewards = np.array([[1, 2, 4], [1, 2, 4], [1, 2, 4], [1, 2, 4]], np.float32)
    terminal = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0]], bool)
    end = np.array([[0, 0, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0]], bool)
    returns, discounts, used = n_step_return(rewards, terminal, end, g)
    # all three rewards; terminated after two; truncated after two (bootstrap g^2); terminated at once
    np.testing.assert_allclose(returns, [1 + 1 + 1, 1 + 1, 1 + 1, 1])
    np.testing.assert_allclose(discounts, [g ** 3, 0, g ** 2, 0])
    np.testing.assert_array_equal(used, [3, 2, 2, 1])


def test_a_life_loss_is_terminal_but_the_stack_continues():
    stream = StackedStream(1, seed=5)
    buffer = FrameReplayBuffer(1000, (STACK, 2, 3), np.int32, 1, STACK, GAMMA, 3)
    lost = None
    for t in range(60):
        batch = stream.step()
        terminal = batch.terminated.copy()
        if t == 30 and not (batch.terminated | batch.truncated).any():
            terminal[:] = True
            lost = int(batch.actions[0, 0])
        buffer.add(batch, terminal)
    assert lost is not None
    for _ in range(50):
        batch = buffer.sample(64)
        for action, discount, obs in zip(batch["actions"].tolist(), batch["discounts"].tolist(), batch["obs"].numpy()):
            np.testing.assert_array_equal(obs, stream.records[action][1])
            if action == lost:
                assert discount == 0.0
                return
    pytest.fail("the life-loss transition was never sampled")


def test_stacks_that_do_not_follow_one_another_are_refused():
    buffer = FrameReplayBuffer(100, (STACK, 2, 3), np.int32, 1, STACK, GAMMA, 1)
    zero_padded = np.zeros((1, 1, STACK, 2, 3), np.int32)
    zero_padded[..., -1, :, :] = 7
    following = np.concatenate([zero_padded[:, :, 1:], np.full((1, 1, 1, 2, 3), 8, np.int32)], axis=2)
    with pytest.raises(ValueError, match="do not follow one another"):
        buffer.add(Transitions(zero_padded, np.zeros((1, 1), int), np.zeros((1, 1), np.float32), following,
                               np.zeros((1, 1), bool), np.zeros((1, 1), bool)))


def test_an_episode_cut_by_restarted_envs_ends_by_truncation():
    """After a resume with fresh episodes, the old episode's newest transition is cut (bootstrapped)."""
    stream = StackedStream(1, seed=2)
    buffer = FrameReplayBuffer(1000, (STACK, 2, 3), np.int32, 1, STACK, GAMMA, 1)
    for _ in range(5):
        batch = stream.step()
        buffer.add(batch)
    assert not (batch.terminated | batch.truncated).any(), "pick a seed whose 5th step continues the episode"
    last = int(batch.actions[0, 0])
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in buffer.state_dict().items()}
    restored = FrameReplayBuffer(1000, (STACK, 2, 3), np.int32, 1, STACK, GAMMA, 1)
    restored.load_state_dict(state)
    stream.obs[0] = stream._first()  # the env restarted
    restored.add(stream.step())
    batch = restored.sample(500)
    rows = [i for i, a in enumerate(batch["actions"].tolist()) if a == last]
    assert rows
    assert batch["discounts"][rows[0]].item() == pytest.approx(GAMMA)
    np.testing.assert_array_equal(batch["next_obs"][rows[0]].numpy(), stream.records[last][3])


def test_state_dict_round_trip_continues_identically():
    stream = StackedStream(2, seed=4)
    a = FrameReplayBuffer(200, (STACK, 2, 3), np.int32, 2, STACK, GAMMA, 2, seed=9)
    for _ in range(150):
        a.add(stream.step())
    b = FrameReplayBuffer(200, (STACK, 2, 3), np.int32, 2, STACK, GAMMA, 2, seed=0)
    b.load_state_dict({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in a.state_dict().items()})
    batch = stream.step()
    a.add(batch)
    b.add(batch)
    for x, y in zip(a.sample(32).values(), b.sample(32).values()):
        assert (x == y).all()
    assert len(a) == len(b)


def test_the_single_stream_paths_write_and_draw_what_the_general_ones_do():
    """One env of single-frame observations takes scalar-index paths; they must leave every
    array as the general paths do and draw the same batches, through ring wraps, episode ends
    and an env restart that cuts an episode."""
    stream = StackedStream(1, seed=5, stack=1)
    fast = FrameReplayBuffer(50, (1, 2, 3), np.int32, 1, 1, GAMMA, 1, seed=7)
    general = FrameReplayBuffer(50, (1, 2, 3), np.int32, 1, 1, GAMMA, 1, seed=7)
    general.single_stream = False
    assert fast.single_stream
    cuts = 0
    for step in range(300):  # the 50-slot ring wraps several times
        restart = step in (120, 200) and bool(fast.open[0])
        if restart:
            stream.obs[0] = stream._first()  # the env restarted mid-episode
            cut_action = int(batch.actions[0, 0])
        batch = stream.step()
        fast.add(batch)
        general.add(batch)
        for name in ("frames", "actions", "rewards", "first", "acted", "terminal", "end", "position", "filled", "open"):
            np.testing.assert_array_equal(getattr(fast, name), getattr(general, name), err_msg=name)
        assert len(fast) == len(general)
        for x, y in zip(fast.sample(16).values(), general.sample(16).values()):
            assert (x == y).all()
        if restart:  # the cut transition now ends its episode
            cuts += int(fast.end[0][fast.actions[0] == cut_action].all())
    assert cuts == 2 and fast.first[0].sum() > 2
