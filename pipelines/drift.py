"""Drift monitoring: new recordings, or the serving log of a time range, vs. what the production model was
trained on."""

from zenml import get_pipeline_context, pipeline

from har.config import DataConfig, Schema
from pipelines.wiring import window_new_data
from steps import act_on_drift, build_drift_frames, detect_drift, load_serving_log, monitor_predictions


@pipeline(enable_cache=False)
def drift_pipeline(data_dir: str | None = None, data_fingerprint: str | None = None,
                   data_config: DataConfig | None = None, data_schema: Schema | None = None,
                   serving_log_dir: str | None = None, since: str | None = None, until: str | None = None) -> None:
    """Wiring only. Current data: the recordings in `data_dir`, or the serving log in `serving_log_dir` for
    [since, until) (ISO-8601). Reference = the production version's `train_windows`; calibration = its
    `test_windows` (people the final model never trained on); thresholds and policy from `configs/drift.yaml`."""
    model = get_pipeline_context().model
    serving_config = model.get_artifact("serving_config")
    if serving_log_dir:
        current, served_probabilities, source = load_serving_log(serving_log_dir, serving_config, since, until)
    else:
        current, served_probabilities, source = (
            window_new_data(data_dir, data_fingerprint, data_config, data_schema), None, f"folder {data_dir}")
    reference, calibration, current_features = build_drift_frames(
        model.get_artifact("train_windows"), model.get_artifact("test_windows"), current,
        model.get_artifact("trained_model"), serving_config)
    monitors = monitor_predictions(model.get_artifact("train_windows"), model.get_artifact("test_windows"), current,
                                   model.get_artifact("trained_model"), serving_config, source,
                                   served_probabilities)
    _, verdict = detect_drift(reference, calibration, current_features, monitors)
    act_on_drift(verdict)
