"""Metrics to TensorBoard and metrics.csv.

Tag scheme (CleanRL's): charts/episode_return, charts/episode_length, charts/sps,
eval/return_mean, eval/return_std, eval/length_mean, losses/<name> from the agent, and
charts/<name> for other agent statistics. metrics.csv is long-form: step,wall_time,tag,value.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

CSV_HEADER = ["step", "wall_time", "tag", "value"]


class MetricsLogger:
    def __init__(self, run_dir: Path, tensorboard: bool = True):
        self.run_dir = Path(run_dir)
        csv_path = self.run_dir / "metrics.csv"
        new_file = not csv_path.exists()
        self._csv_handle = open(csv_path, "a", newline="")
        self._csv = csv.writer(self._csv_handle)
        if new_file:
            self._csv.writerow(CSV_HEADER)
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir))

    def scalar(self, tag: str, value: float, step: int) -> None:
        value = float(value)
        self._csv.writerow([step, f"{time.time():.3f}", tag, repr(value) if math.isfinite(value) else str(value)])
        if self._writer is not None:
            self._writer.add_scalar(tag, value, step)

    def scalars(self, metrics: dict, step: int) -> None:
        for tag, value in metrics.items():
            self.scalar(tag, value, step)

    def video(self, tag: str, frames, step: int, fps: int = 30) -> None:
        """frames: uint8 [T, H, W, 3]."""
        if self._writer is not None:
            import torch

            video = torch.from_numpy(frames).permute(0, 3, 1, 2).unsqueeze(0)
            self._writer.add_video(tag, video, step, fps=fps)

    def flush(self) -> None:
        self._csv_handle.flush()
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        self.flush()
        self._csv_handle.close()
        if self._writer is not None:
            self._writer.close()
