"""Batch inference: new recordings -> the training ingest/validation/windowing -> predictions file + log."""

from zenml import get_pipeline_context, pipeline

from har.config import DataConfig, Schema
from pipelines.wiring import window_new_data
from steps import export_predictions, predict_windows


@pipeline(enable_cache=False)
def inference_pipeline(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> None:
    """Wiring only. `data_config` is the production model's own (its serving_config, resolved by run.py); labels
    are optional."""
    model = get_pipeline_context().model
    windows = window_new_data(data_dir, data_fingerprint, data_config, data_schema)
    predictions = predict_windows(model.get_artifact("trained_model"), model.get_artifact("serving_config"), windows)
    export_predictions(predictions)
