"""Capture and restore an env's internal state, so a resumed run continues its episodes exactly.

Supported: MuJoCo envs (MuJoCo's full integration state) and Gymnasium's classic-control envs
(their `state` and step bookkeeping), with the env's RNG and the TimeLimit counter. Other envs
(Box2D, Atari, ...) return None: a resume then starts fresh episodes and says so.
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
    else:
        return None
    elapsed = [getattr(w, "_elapsed_steps", None) for w in _wrappers(env)]
    return {"env": inner, "elapsed_steps": elapsed, "np_random": unwrapped.np_random.bit_generator.state}


def restore(env, saved: dict) -> None:
    unwrapped = env.unwrapped
    inner = saved["env"]
    if "physics" in inner:
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
