"""Recording evaluation episodes: RGB frames from the env's renderer, written as MP4
(imageio with its bundled ffmpeg) and, smaller, as an animated GIF for TensorBoard."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from rlforge.envs import make_env


def record_episode(policy, env_id: str, env_spec=None, max_episode_steps: int | None = None, seed: int = 0,
                   deterministic: bool = True, env_kwargs: dict | None = None) -> tuple[np.ndarray, float, int, int]:
    """(frames uint8 [T+1, H, W, 3], episode return, episode length, fps) of one episode."""
    from gymnasium.error import DependencyNotInstalled

    from rlforge.errors import RLForgeError

    env = make_env(env_id, env_spec, max_episode_steps, render_mode="rgb_array", env_kwargs=env_kwargs)
    try:
        obs, _ = env.reset(seed=seed)
        try:
            first = env.render()
        except DependencyNotInstalled as exc:
            raise RLForgeError(f"cannot render {env_id}: {str(exc).splitlines()[0]}") from None
        if first is None:
            raise RLForgeError(f"{env_id} renders no RGB frames, so it cannot be filmed")
        frames, total, length = [first], 0.0, 0
        done = False
        while not done:
            batch = np.asarray(obs, dtype=np.float32 if np.issubdtype(np.asarray(obs).dtype, np.floating) else None)[None]
            obs, reward, terminated, truncated, _ = env.step(policy.act(batch, deterministic=deterministic)[0])
            frames.append(env.render())
            total += float(reward)
            length += 1
            done = terminated or truncated
        fps = int(env.metadata.get("render_fps") or 30)
    finally:
        env.close()
    return np.stack(frames), total, length, fps


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> Path:
    """An H.264 MP4 playable in browsers and players (an odd frame size is padded to even)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = _pad_to_multiple(frames, 2)  # yuv420p needs even sizes
    with imageio.get_writer(path, fps=fps, codec="libx264", quality=7, pixelformat="yuv420p",
                            macro_block_size=2, ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame)
    return path


def write_png(path: Path, image: np.ndarray) -> Path:
    """One uint8 [H, W, 3] picture as a PNG file (written whole, then renamed into place)."""
    import imageio.v3 as iio

    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    iio.imwrite(temporary, image, extension=".png")
    temporary.replace(path)
    return path


def gif_bytes(frames: np.ndarray, fps: int, max_side: int = 240, max_frames: int = 300) -> tuple[bytes, int, int]:
    """A small animated GIF of `frames` (downsampled in space and time) and its (height, width)."""
    import imageio.v3 as iio

    spatial = max(1, int(np.ceil(max(frames.shape[1:3]) / max_side)))
    temporal = max(1, int(np.ceil(len(frames) / max_frames)))
    small = frames[::temporal, ::spatial, ::spatial]
    buffer = io.BytesIO()
    iio.imwrite(buffer, small, extension=".gif", duration=1000.0 * temporal / fps, loop=0)
    return buffer.getvalue(), small.shape[1], small.shape[2]


def _pad_to_multiple(frames: np.ndarray, multiple: int) -> np.ndarray:
    height, width = frames.shape[1:3]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
    return frames
