"""MLflow tracking for rlforge (`--track mlflow`). Importing this package does not import mlflow:
the backend is named by an import string and loaded only for a run that tracks to MLflow."""

__all__: list[str] = []
