"""Shared wiring: the pieces several pipelines are made of (call them inside a pipeline)."""

from typing import Any, Dict

from har.config import DataConfig, Schema
from steps import (
    build_serving_config,
    check_quality_gate,
    evaluate_model,
    export_model,
    fit_normalizer,
    ingest_recordings,
    promote_model,
    split_windows,
    train_model,
    validate_sensor_data,
    window_recordings,
)

# The steps of `train_and_promote`, for dynamic pipelines' `depends_on` (their run-config sections then apply).
TRAINING_STEPS = [validate_sensor_data, window_recordings, split_windows, fit_normalizer, train_model, evaluate_model,
                  check_quality_gate, export_model, build_serving_config, promote_model]


def window_new_data(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> Any:
    """New recordings through the training pipeline's ingest, validation and windowing steps.

    Labels optional, unlabelled windows kept. Returns the `windows` output.
    """
    sensor_data, ingest_report = ingest_recordings(
        data_dir, data_fingerprint, data_config, data_schema, require_labels=False
    )
    report = validate_sensor_data(sensor_data, ingest_report, data_config, data_schema, require_labels=False)
    return window_recordings(sensor_data, report, data_config, data_schema, keep_unlabelled=True)


def train_and_promote(sensor_data: Any, ingest_report: Any, data_config: DataConfig, data_schema: Schema) -> Dict:
    """Ingested recordings -> validated windows -> trained, evaluated, exported, promoted model version.

    Returns the outputs a deployment needs (`trained_model`, `serving_config`, `onnx_model`) and the
    `promotion_decision`.
    """
    quality_report = validate_sensor_data(sensor_data, ingest_report, data_config, data_schema)
    windows = window_recordings(sensor_data, quality_report, data_config, data_schema)
    train, val, test = split_windows(windows)
    normalizer = fit_normalizer(train)
    model = train_model(train, val, normalizer)
    report = evaluate_model(model, test, normalizer)
    check_quality_gate(report)
    _, _, onnx_model, _ = export_model(model, normalizer, train, test, data_config, data_schema)
    serving_config = build_serving_config(test, normalizer, data_config, data_schema, onnx_model)
    decision, _ = promote_model(test, report, data_config)  # after the gate and the exports' parity: they raise
    return {"trained_model": model, "serving_config": serving_config, "onnx_model": onnx_model,
            "promotion_decision": decision}
