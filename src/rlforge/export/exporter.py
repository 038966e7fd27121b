"""From a checkpoint to a checked export file (what `rlforge export` runs).

The checkpoint is loaded the safe way (`load_checkpoint_engine`: tensors, arrays and JSON,
never a pickle). The file is written under a temporary name, read back with its own runtime
(onnxruntime, torch.jit.load) and compared with the policy's deterministic actions on sampled
observations; only a file that agrees is renamed into place, so a failed export leaves
nothing behind and replaces nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError
from rlforge.export.files import FORMATS, SUFFIXES, Runner, to_bytes

CHECK_OBSERVATIONS = 1000
TOLERANCE = 1e-5  # absolute and relative, per action component


def pick_format(fmt: str | None, out: Path) -> str:
    """--format, else the one the file name's suffix says."""
    if fmt:
        return fmt
    if out.suffix.lower() in SUFFIXES:
        return SUFFIXES[out.suffix.lower()]
    raise RLForgeError(f"cannot tell the format from {out.name!r}: pass --format {'|'.join(FORMATS)} "
                       f"(or name the file *.onnx or *.pt)")


def check_destination(out: Path, force: bool) -> None:
    if out.is_dir():
        raise RLForgeError(f"--out {str(out)!r} is a folder; name a file")
    if (out.exists() or out.is_symlink()) and not force:
        raise RLForgeError(f"{str(out)!r} already exists; not overwriting it (pass --force to replace it)")


def sample_observations(space, count: int, seed: int = 0) -> np.ndarray:
    """`count` observations drawn from `space` (seeded), in the dtype the env adapter hands a
    policy (float32 for float spaces)."""
    space.seed(seed)
    obs = np.stack([space.sample() for _ in range(count)])
    return obs.astype(np.float32) if np.issubdtype(obs.dtype, np.floating) else obs


def describe_space(space) -> dict:
    from rlforge.envs import space_kind

    kind = space_kind(space)
    if kind == "discrete":
        return {"kind": kind, "n": int(space.n), "start": int(space.start)}
    return {"kind": kind, "shape": list(space.shape), "low": space.low.reshape(-1).tolist(),
            "high": space.high.reshape(-1).tolist()}


def file_metadata(engine, checkpoint_metadata: dict) -> dict:
    import rlforge

    run = engine.config.run
    return {"rlforge_version": rlforge.__version__, "algo": engine.spec.name, "env_id": engine.config.env,
            "env_kwargs": run.env_kwargs or {}, "max_episode_steps": run.max_episode_steps,
            "step": int(checkpoint_metadata["counters"]["step"]),
            "observation_shape": list(engine.env.observation_space.shape),
            "action_space": describe_space(engine.env.action_space)}


def disagreement(expected: np.ndarray, actual: np.ndarray) -> str | None:
    """None where the actions agree (to TOLERANCE; exactly for integer actions), else what differs."""
    if expected.shape != actual.shape:
        return f"actions of shape {actual.shape[1:]} instead of {expected.shape[1:]}"
    if np.issubdtype(expected.dtype, np.integer):
        wrong = int((expected != actual).sum())
        return f"{wrong} of {len(expected)} actions differ" if wrong else None
    if np.allclose(actual, expected, rtol=TOLERANCE, atol=TOLERANCE):
        return None
    return f"the actions differ by up to {float(np.abs(actual - expected).max()):.3g}"


def export_policy(path: str, fmt: str | None, out: str, force: bool = False) -> dict:
    """Export the policy of a run directory's latest checkpoint (or a checkpoint folder) to `out`;
    returns what was written, with the largest difference seen in the check."""
    from rlforge.training import load_checkpoint_engine

    out_path = Path(out)
    check_destination(out_path, force)
    fmt = pick_format(fmt, out_path)
    engine, folder, metadata = load_checkpoint_engine(path)
    try:
        policy = engine.agent.policy
        module = policy.export_module()
        if module is None:
            raise RLForgeError(f"{engine.spec.name} cannot be exported: its policy ({type(policy).__name__}) "
                               "has no network from observations to actions (no export_module)")
        obs = sample_observations(engine.env.observation_space, CHECK_OBSERVATIONS)
        expected = np.asarray(policy.act(obs, deterministic=True))
        info = file_metadata(engine, metadata)
    finally:
        engine.close()
    written = _write_checked(out_path, to_bytes(module, fmt, _example(obs), info), obs, expected, fmt, info["algo"])
    largest = 0.0 if np.issubdtype(expected.dtype, np.integer) else float(np.abs(written - expected).max())
    return {"file": str(out_path), "format": fmt, "checkpoint": str(folder), "algo": info["algo"],
            "env": info["env_id"], "step": info["step"], "observations_checked": len(obs), "max_difference": largest}


def _example(obs: np.ndarray):
    import torch

    return torch.as_tensor(obs[:2], dtype=torch.float32)


def _write_checked(out: Path, data: bytes, obs, expected, fmt: str, algo: str) -> np.ndarray:
    """Write `data` beside `out`, check it against `expected`, rename it into place; the actions
    the written file gave."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        temporary.write_bytes(data)
        actions = Runner(temporary, fmt)(obs)
        problem = disagreement(expected, actions)
        if problem:
            raise RLForgeError(f"the exported {fmt} file does not act as {algo}'s policy ({problem} on "
                               f"{len(obs)} observations); nothing written")
        os.replace(temporary, out)
        return actions
    except OSError as exc:
        raise RLForgeError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
