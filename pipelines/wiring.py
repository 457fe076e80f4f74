"""Shared wiring: new recordings through the training pipeline's ingest, validation and windowing steps."""

from typing import Any

from har.config import DataConfig, Schema
from steps import ingest_recordings, validate_sensor_data, window_recordings


def window_new_data(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> Any:
    """Call inside a pipeline: labels optional, unlabelled windows kept. Returns the `windows` output."""
    sensor_data, ingest_report = ingest_recordings(
        data_dir, data_fingerprint, data_config, data_schema, require_labels=False
    )
    report = validate_sensor_data(sensor_data, ingest_report, data_config, data_schema, require_labels=False)
    return window_recordings(sensor_data, report, data_config, data_schema, keep_unlabelled=True)
