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
    def __init__(self, run_dir: Path, tensorboard: bool = True, resume_step: int | None = None):
        """`resume_step`: continue a run from a checkpoint taken at that step, dropping rows
        written after it (by the interrupted process) from metrics.csv and TensorBoard."""
        self.run_dir = Path(run_dir)
        csv_path = self.run_dir / "metrics.csv"
        if resume_step is not None and csv_path.exists():
            _truncate_after(csv_path, resume_step)
        new_file = not csv_path.exists()
        self._csv_handle = open(csv_path, "a", newline="")
        self._csv = csv.writer(self._csv_handle)
        if new_file:
            self._csv.writerow(CSV_HEADER)
        self.listener = None  # called with (metrics, step) after each write: the engine's on_log hook
        self._writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self._writer = SummaryWriter(log_dir=str(self.run_dir), purge_step=purge)

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars({tag: value}, step)

    def scalars(self, metrics: dict, step: int) -> None:
        metrics = {tag: float(value) for tag, value in metrics.items()}
        wall_time = f"{time.time():.3f}"
        for tag, value in metrics.items():
            self._csv.writerow([step, wall_time, tag, repr(value) if math.isfinite(value) else str(value)])
            if self._writer is not None:
                self._writer.add_scalar(tag, value, step)
        if self.listener is not None:
            self.listener(metrics, step)

    def video(self, tag: str, frames, step: int, fps: int = 30) -> None:
        """An episode's frames (uint8 [T, H, W, 3]) as an animated image in TensorBoard."""
        if self._writer is None:
            return
        from tensorboard.compat.proto.summary_pb2 import Summary

        from rlforge.video import gif_bytes

        encoded, height, width = gif_bytes(frames, fps)
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=encoded)
        self._writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def image(self, tag: str, image, step: int) -> None:
        """A uint8 [H, W, 3] picture in TensorBoard."""
        if self._writer is not None:
            self._writer.add_image(tag, image, step, dataformats="HWC")

    def flush(self) -> None:
        self._csv_handle.flush()
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        self.flush()
        self._csv_handle.close()
        if self._writer is not None:
            self._writer.close()


def _truncate_after(csv_path: Path, step: int) -> None:
    """Keep the header and the rows up to `step` (rewritten atomically)."""
    with open(csv_path, newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0]] + [row for row in rows[1:] if len(row) == 4 and _step(row) <= step] if rows else [CSV_HEADER]
    temporary = csv_path.with_name(".metrics.csv.tmp")
    with open(temporary, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)
    temporary.replace(csv_path)


def _step(row: list[str]) -> int:
    try:
        return int(row[0])
    except ValueError:  # a row cut short by a killed process
        return 1 << 62
