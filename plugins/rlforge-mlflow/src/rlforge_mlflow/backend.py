"""An rlforge run as an MLflow run, through MlflowClient (no global active run, so nothing else in
the process is affected).

Metrics are buffered and sent in batches (one request per few seconds, not one per episode).
MLflow's HTTP client retries for minutes by default; a run's tracker should give up quickly
when the server is down, so the retries are cut unless the user set them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

STATUS = {"finished": "FINISHED", "stopped": "KILLED", "crashed": "FAILED"}
FLUSH_SECONDS = 5.0
BATCH = 1000  # MLflow's limit of metrics per log_batch request
PARAMS_PER_BATCH = 100  # and of params
FAST_FAILURE = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


class MLflowBackend:
    def __init__(self):
        for name, value in FAST_FAILURE.items():
            os.environ.setdefault(name, value)
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient()
        self.run_id: str | None = None
        self.pending: list = []
        self.last_flush = time.monotonic()

    def start(self, run, params: dict, previous: dict | None) -> dict:
        from mlflow.entities import Param

        if previous and previous.get("run_id"):  # a resumed rlforge run continues its MLflow run
            self.run_id = previous["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            return previous
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "rlforge")
        experiment = self.client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(name)
        tags = {"rlforge.algo": run.algo, "rlforge.env": run.env_id, "rlforge.seed": str(run.seed),
                "rlforge.run_dir": str(Path(run.path).resolve())}
        self.run_id = self.client.create_run(experiment_id, run_name=Path(run.path).name, tags=tags).info.run_id
        values = [Param(key, str(value)[:6000]) for key, value in params.items()]
        for i in range(0, len(values), PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=values[i:i + PARAMS_PER_BATCH])
        return {"run_id": self.run_id, "tracking_uri": self.client.tracking_uri, "experiment_id": experiment_id}

    def log(self, step: int, metrics: dict) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending += [Metric(key, value, now, step) for key, value in metrics.items()]
        if len(self.pending) >= BATCH or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
            self.client.log_batch(self.run_id, metrics=batch)
        self.last_flush = time.monotonic()

    def video(self, path: Path, step: int) -> None:
        self.flush()
        self.client.log_artifact(self.run_id, str(path), "videos")

    def artifact(self, path: Path, name: str) -> None:
        self.flush()
        self.client.log_artifacts(self.run_id, str(path), name)

    def end(self, status: str) -> None:
        self.flush()
        self.client.set_terminated(self.run_id, STATUS[status])
