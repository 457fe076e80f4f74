"""Training pipeline: raw recordings -> validated windows -> tracked, evaluated, promoted model."""

from zenml import pipeline

from har.config import DataConfig, Schema
from steps import (
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


@pipeline(
    # Dynamic: on the docker stack the whole run is one container (ZenML's local Docker orchestrator runs a
    # dynamic pipeline inline), instead of ~10 s of container start, imports and exit per step; on the local
    # stack it runs in-process as before. `depends_on` lists the steps so that the run config's
    # `steps.<name>:` sections apply to them. Steps run in call order and a failing step ends the run.
    dynamic=True,
    depends_on=[ingest_recordings, validate_sensor_data, window_recordings, split_windows, fit_normalizer,
                train_model, evaluate_model, check_quality_gate, export_model, promote_model],
)
def training_pipeline(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> None:
    """Wiring only; every stage lives in `steps/`. Model and step parameters come from `configs/train.yaml`."""
    sensor_data, ingest_report = ingest_recordings(data_dir, data_fingerprint, data_config, data_schema)
    quality_report = validate_sensor_data(sensor_data, ingest_report, data_config, data_schema)
    windows = window_recordings(sensor_data, quality_report, data_config, data_schema)
    train, val, test = split_windows(windows)
    normalizer = fit_normalizer(train)
    model = train_model(train, val, normalizer)
    report = evaluate_model(model, test, normalizer)
    check_quality_gate(report)
    export_model(model, normalizer, train, test, data_config, data_schema)
    promote_model(test, report, data_config)  # after the gate and the exports' parity: they raise to stop the run
