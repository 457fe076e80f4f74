"""Drift monitoring: new recordings vs. the windows the production model was trained on."""

from zenml import get_pipeline_context, pipeline

from har.config import DataConfig, Schema
from pipelines.wiring import window_new_data
from steps import act_on_drift, build_drift_frames, detect_drift


@pipeline(enable_cache=False)
def drift_pipeline(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> None:
    """Wiring only. Reference = the production version's `train_windows`; policy from `configs/drift.yaml`."""
    model = get_pipeline_context().model
    current = window_new_data(data_dir, data_fingerprint, data_config, data_schema)
    reference, calibration, current_features = build_drift_frames(
        model.get_artifact("train_windows"), model.get_artifact("val_windows"), current,
        model.get_artifact("trained_model"), model.get_artifact("serving_config"))
    _, verdict = detect_drift(reference, calibration, current_features)
    act_on_drift(verdict)
