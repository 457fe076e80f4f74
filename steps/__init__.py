"""ZenML steps, one per file, grouped by stage."""

import materializers  # noqa: F401  (registers the custom materializers for the step output types)
from steps.data.ingest_recordings import ingest_recordings
from steps.data.split_windows import split_windows
from steps.data.validate_sensor_data import validate_sensor_data
from steps.data.window_recordings import window_recordings
from steps.deployment.deploy_model import deploy_model
from steps.deployment.package_model import package_model
from steps.evaluation.check_quality_gate import check_quality_gate
from steps.evaluation.evaluate_model import evaluate_model
from steps.export.build_serving_config import build_serving_config
from steps.export.export_model import export_model
from steps.inference.export_predictions import export_predictions
from steps.inference.predict_windows import predict_windows
from steps.monitoring.act_on_drift import act_on_drift
from steps.monitoring.build_drift_frames import build_drift_frames
from steps.monitoring.detect_drift import detect_drift
from steps.monitoring.load_serving_log import load_serving_log
from steps.monitoring.monitor_predictions import monitor_predictions
from steps.promotion.promote_model import promote_model
from steps.retraining.decide_retraining import decide_retraining
from steps.retraining.merge_recordings import merge_recordings
from steps.training.cross_validate_model import cross_validate_model
from steps.training.select_recipe import select_recipe
from steps.training.train_model import train_model

__all__ = [
    "act_on_drift",
    "build_drift_frames",
    "build_serving_config",
    "check_quality_gate",
    "cross_validate_model",
    "decide_retraining",
    "deploy_model",
    "detect_drift",
    "export_model",
    "export_predictions",
    "evaluate_model",
    "ingest_recordings",
    "load_serving_log",
    "merge_recordings",
    "monitor_predictions",
    "package_model",
    "predict_windows",
    "promote_model",
    "select_recipe",
    "split_windows",
    "train_model",
    "validate_sensor_data",
    "window_recordings",
]
