"""The `mlflow` tracker: rlforge.tracking.TrackerPlugin's lifecycle hooks over the MLflow backend."""

from rlforge.tracking import TrackerPlugin

tracker = TrackerPlugin("mlflow", "MLflow tracking server (MLFLOW_TRACKING_URI; experiment MLFLOW_EXPERIMENT_NAME)",
                        "rlforge_mlflow.backend:MLflowBackend")
