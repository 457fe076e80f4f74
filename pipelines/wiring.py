"""Shared wiring: the pieces several pipelines are made of (call them inside a pipeline)."""

import time
from typing import Any, Dict, List

from zenml.logger import get_logger

from har.config import DataConfig, Schema
from har.search import SearchSpace
from har.training import Recipe
from steps import (
    build_serving_config,
    check_quality_gate,
    cross_validate_model,
    evaluate_model,
    export_model,
    ingest_recordings,
    promote_model,
    select_recipe,
    split_windows,
    train_model,
    validate_sensor_data,
    window_recordings,
)

logger = get_logger(__name__)

# The steps of `train_and_promote`, for dynamic pipelines' `depends_on` (their run-config sections then apply).
TRAINING_STEPS = [validate_sensor_data, window_recordings, split_windows, cross_validate_model, check_quality_gate,
                  train_model, evaluate_model, export_model, build_serving_config, promote_model]


def window_new_data(data_dir: str, data_fingerprint: str, data_config: DataConfig, data_schema: Schema) -> Any:
    """New recordings through the training pipeline's ingest, validation and windowing steps.

    Labels optional, unlabelled windows kept. Returns the `windows` output.
    """
    sensor_data, ingest_report = ingest_recordings(
        data_dir, data_fingerprint, data_config, data_schema, require_labels=False
    )
    report = validate_sensor_data(sensor_data, ingest_report, data_config, data_schema, require_labels=False)
    return window_recordings(sensor_data, report, data_config, data_schema, keep_unlabelled=True)


def search_trials(train: Any, val: Any, search: SearchSpace, champion: Recipe | None) -> Any:
    """One `cross_validate_model` step per trial (same folds), within the budget; then `select_recipe`.

    Call from a dynamic pipeline: the budget's clock is read between trials. Returns the chosen `cv_report`.
    """
    reports: List[Any] = []
    names: List[str] = []
    started = time.monotonic()
    for name, recipe in search.trials(champion):
        minutes = (time.monotonic() - started) / 60
        if reports and minutes >= search.budget.max_minutes:
            logger.info("Search budget of %.1f min spent after %d trials; no new trial starts", minutes, len(reports))
            break
        reports.append(cross_validate_model(train, val, recipe=recipe, trial=name, id=f"cross_validate_{name}"))
        names.append(name)
    chosen, _ = select_recipe(reports, trial_names=names, prefer_exportable_within=search.prefer_exportable_within)
    return chosen


def train_and_promote(sensor_data: Any, ingest_report: Any, data_config: DataConfig, data_schema: Schema,
                      search: SearchSpace | None = None, champion: Recipe | None = None) -> Dict:
    """Ingested recordings -> validated windows -> cross-validated recipe (or the search's best) -> gate ->
    final model on all training subjects -> held-out test -> exports -> serving contract -> promotion.

    Returns the outputs a deployment needs (`trained_model`, `serving_config`, `onnx_model`) and the
    `promotion_decision`.
    """
    quality_report = validate_sensor_data(sensor_data, ingest_report, data_config, data_schema)
    windows = window_recordings(sensor_data, quality_report, data_config, data_schema)
    train, val, test = split_windows(windows)
    cv_report = cross_validate_model(train, val) if search is None else search_trials(train, val, search, champion)
    check_quality_gate(cv_report)  # before the final fit: a recipe that fails costs no more training
    model, normalizer = train_model(train, val, cv_report)
    report = evaluate_model(model, test, normalizer)
    _, _, onnx_model, _ = export_model(model, normalizer, train, test, data_config, data_schema)
    serving_config = build_serving_config(model, test, normalizer, data_config, data_schema, onnx_model)
    decision, _ = promote_model(cv_report, report, data_config)  # after the gate and the exports' parity: they raise
    return {"trained_model": model, "serving_config": serving_config, "onnx_model": onnx_model,
            "promotion_decision": decision}
