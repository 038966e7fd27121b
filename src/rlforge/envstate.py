"""Capture and restore an env's internal state, so a resumed run continues its episodes exactly.

Supported: MuJoCo envs (MuJoCo's full integration state), Gymnasium's classic-control envs
(their `state` and step bookkeeping) and plugin envs that offer `get_rlforge_state()` (a dict
of JSON values and NumPy arrays) and `set_rlforge_state(state)`, with the env's RNG and the
TimeLimit counter. Other envs (Box2D, Atari, ...) return None: a resume then starts fresh
episodes and says so.

A saved state is checked against the env before anything is set: an entry the env does not
have, or a value of another shape, is refused (a crafted checkpoint must not change the physics).
"""

from __future__ import annotations

import numpy as np

CLASSIC_CONTROL_ATTRIBUTES = ("state", "steps_beyond_terminated", "last_u")


def _wrappers(env):
    while env is not None:
        yield env
        env = getattr(env, "env", None)


def _is_mujoco(unwrapped) -> bool:
    return hasattr(unwrapped, "model") and hasattr(unwrapped, "data") and type(unwrapped).__module__.startswith("gymnasium.envs.mujoco")


def _is_classic_control(unwrapped) -> bool:
    return type(unwrapped).__module__.startswith("gymnasium.envs.classic_control")


def capture(env) -> dict | None:
    """The state that continues `env` exactly, or None if this kind of env is not supported."""
    unwrapped = env.unwrapped
    if _is_mujoco(unwrapped):
        import mujoco

        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        physics = np.empty(mujoco.mj_stateSize(unwrapped.model, spec))
        mujoco.mj_getState(unwrapped.model, unwrapped.data, physics, spec)
        inner = {"physics": physics}
    elif _is_classic_control(unwrapped):
        inner = {name: _plain(getattr(unwrapped, name)) for name in CLASSIC_CONTROL_ATTRIBUTES if hasattr(unwrapped, name)}
    elif callable(getattr(unwrapped, "get_rlforge_state", None)) and callable(getattr(unwrapped, "set_rlforge_state", None)):
        inner = {"own": unwrapped.get_rlforge_state()}
    else:
        return None
    elapsed = [getattr(w, "_elapsed_steps", None) for w in _wrappers(env)]
    return {"env": inner, "elapsed_steps": elapsed, "np_random": unwrapped.np_random.bit_generator.state}


class EnvStateError(ValueError):
    """A saved env state that does not fit the env it would be restored into."""


def check(env, saved) -> None:
    """Refuse a saved state that `capture(env)` could not have produced for this env."""
    current = capture(env)
    if current is None:
        raise EnvStateError(f"{env.spec.id if env.spec else type(env.unwrapped).__name__} has no restorable state")
    if not isinstance(saved, dict) or set(saved) != set(current):
        raise EnvStateError("saved env state has other entries than the env's")
    inner, expected = saved["env"], current["env"]
    if not isinstance(inner, dict) or set(inner) != set(expected):
        extra = sorted(set(inner) - set(expected)) if isinstance(inner, dict) else []
        raise EnvStateError(f"saved env state names attributes the env does not have: {extra}" if extra
                            else "saved env state lacks attributes the env has")
    for name, value in expected.items():
        if isinstance(value, np.ndarray) and np.shape(inner[name]) != value.shape:
            raise EnvStateError(f"saved env state {name!r} has shape {np.shape(inner[name])}, the env's is {value.shape}")
    if not isinstance(saved["elapsed_steps"], list) or len(saved["elapsed_steps"]) != len(current["elapsed_steps"]):
        raise EnvStateError("saved env state has another wrapper stack than the env's")
    for count in saved["elapsed_steps"]:
        if count is not None and (not isinstance(count, int) or count < 0):
            raise EnvStateError(f"saved env state has an invalid step count {count!r}")


def restore(env, saved: dict) -> None:
    check(env, saved)
    unwrapped = env.unwrapped
    inner = saved["env"]
    if "own" in inner:
        unwrapped.set_rlforge_state(inner["own"])
    elif "physics" in inner:
        import mujoco

        mujoco.mj_setState(unwrapped.model, unwrapped.data, np.asarray(inner["physics"], dtype=np.float64),
                           mujoco.mjtState.mjSTATE_INTEGRATION)
    else:
        for name, value in inner.items():
            setattr(unwrapped, name, np.array(value) if isinstance(value, (list, np.ndarray)) else value)
    for wrapper, elapsed in zip(_wrappers(env), saved["elapsed_steps"]):
        if elapsed is not None:
            wrapper._elapsed_steps = elapsed
    unwrapped.np_random.bit_generator.state = saved["np_random"]


def _plain(value):
    """Env attributes as checkpointable values (arrays stay arrays, tuples become arrays)."""
    if isinstance(value, tuple):
        return np.asarray(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
