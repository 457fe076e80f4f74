"""Batch inference: new recordings -> the training ingest/validation/windowing -> predictions file + log."""

from zenml import get_pipeline_context, pipeline

from har.config import DataConfig, Schema
from steps import export_predictions, ingest_recordings, predict_windows, validate_sensor_data, window_recordings


@pipeline(enable_cache=False)
def inference_pipeline(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> None:
    """Wiring only. `data_config` is the production model's own (resolved by run.py); labels are optional."""
    model = get_pipeline_context().model
    sensor_data = ingest_recordings(data_dir, data_fingerprint, data_config, data_schema, require_labels=False)
    report = validate_sensor_data(sensor_data, data_config, data_schema, require_labels=False)
    windows = window_recordings(sensor_data, report, data_config, data_schema, keep_unlabelled=True)
    predictions = predict_windows(model.get_artifact("trained_model"), model.get_artifact("normalizer"), windows)
    export_predictions(predictions)
