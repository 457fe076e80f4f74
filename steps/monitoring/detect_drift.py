"""Evidently data drift (per-feature tests) and prediction drift through the stack's data validator."""

from typing import Annotated, Any, Dict, Tuple

import pandas as pd
from zenml import log_metadata, step
from zenml.integrations.evidently.data_validators import EvidentlyDataValidator
from zenml.logger import get_logger
from zenml.types import HTMLString

from har.drift import (
    DriftConfig,
    DriftVerdict,
    calibrate_thresholds,
    column_mapping,
    comparable_features,
    drift_metrics,
    verdict_from_report,
    with_monitors,
)

logger = get_logger(__name__)


@step
def detect_drift(
    reference_features: pd.DataFrame,
    calibration_features: pd.DataFrame,
    current_features: pd.DataFrame,
    monitor_report: Dict[str, Any] | None = None,
    drift: DriftConfig = DriftConfig(),
) -> Tuple[Annotated[HTMLString, "drift_report"], Annotated[DriftVerdict, "drift_verdict"]]:
    """Run Evidently's drift tests (configured stat tests, e.g. PSI or K-S) and decide.

    Args:
        reference_features: Features of the training windows.
        calibration_features: Features of the held-out test subjects (calibrate per-feature thresholds).
        current_features: Features of the new windows.
        monitor_report: The label-free monitors (`monitor_predictions`); an alert of a monitor listed in its
            `count_as_drift` makes the verdict drift.
        drift: Stat tests and thresholds.

    Returns:
        Evidently's HTML report (a dashboard visualization) and the verdict.
    """
    from zenml.integrations.evidently.metrics import EvidentlyMetricConfig

    features = comparable_features(reference_features, current_features)
    thresholds = calibrate_thresholds(reference_features, calibration_features, drift)
    validator = EvidentlyDataValidator.get_active_data_validator()
    metrics = drift_metrics(drift, features, thresholds)
    configs = [EvidentlyMetricConfig.metric(type(m).__name__, **_parameters(m)) for m in metrics]
    report = validator.data_profiling(dataset=reference_features, comparison_dataset=current_features,
                                      profile_list=configs, column_mapping=column_mapping(features))
    verdict = verdict_from_report(report.as_dict(), drift, reference_features, current_features, thresholds)
    if monitor_report is not None:
        verdict = with_monitors(verdict, monitor_report)
    logger.info(verdict.summary())
    log_metadata(metadata={"drift_detected": verdict.drift_detected, "drift_share": verdict.drift_share,
                           "n_drifted_features": len(verdict.drifted_features),
                           "monitor_alerts": ", ".join(verdict.monitor_alerts), "source": verdict.source},
                 infer_artifact=False)
    return HTMLString(report.get_html()), verdict


def _parameters(metric) -> dict:
    """The constructor arguments of an Evidently metric object, for ZenML's declarative config."""
    names = ("columns", "column_name", "stattest", "stattest_threshold", "per_column_stattest_threshold")
    return {n: getattr(metric, n) for n in names if getattr(metric, n, None) is not None}
