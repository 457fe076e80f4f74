"""ZenML pipelines (wiring only)."""

from pipelines.deployment import deployment_pipeline
from pipelines.drift import drift_pipeline
from pipelines.inference import inference_pipeline
from pipelines.retraining import retraining_pipeline
from pipelines.search import search_pipeline
from pipelines.training import training_pipeline

__all__ = ["deployment_pipeline", "drift_pipeline", "inference_pipeline", "retraining_pipeline",
           "search_pipeline", "training_pipeline"]
