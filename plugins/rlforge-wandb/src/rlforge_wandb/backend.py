"""An rlforge run as a W&B run.

Every metric is logged against its env step as the metric `global_step` (W&B's own step must
only grow; a resumed run logs again from its checkpoint's step, which `global_step` allows).
The run's files go to WANDB_DIR, or else into the rlforge run directory.
"""

from __future__ import annotations

import os
from pathlib import Path

STEP = "global_step"
EXIT_CODES = {"finished": 0, "stopped": 130, "crashed": 1}


class WandbBackend:
    def __init__(self):
        import wandb

        self.wandb = wandb
        self.run = None

    def start(self, run, params: dict, previous: dict | None) -> dict:
        resume_id = (previous or {}).get("id")
        self.run = self.wandb.init(
            project=os.environ.get("WANDB_PROJECT", "rlforge"), id=resume_id, resume="allow" if resume_id else None,
            name=Path(run.path).name, config=params, dir=os.environ.get("WANDB_DIR") or str(run.path),
            tags=[run.algo, run.env_id], reinit="create_new")
        self.run.define_metric(STEP)
        self.run.define_metric("*", step_metric=STEP)
        return {"id": self.run.id, "project": self.run.project, "entity": self.run.entity or None}

    def log(self, step: int, metrics: dict) -> None:
        self.run.log({STEP: step, **metrics})

    def video(self, path: Path, step: int) -> None:
        self.run.log({STEP: step, "eval/video": self.wandb.Video(str(path), format="mp4")})

    def artifact(self, path: Path, name: str) -> None:
        artifact = self.wandb.Artifact(f"{name}-{self.run.id}", type=name)
        artifact.add_dir(str(path))
        self.run.log_artifact(artifact)

    def end(self, status: str) -> None:
        self.run.summary["rlforge_status"] = status
        self.run.finish(exit_code=EXIT_CODES[status])
