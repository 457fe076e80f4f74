"""Drift detection with Evidently's stat tests on per-window features and predicted activities.

`drift_metrics` says what to compute (Evidently legacy metrics, the API ZenML's
Evidently integration runs); `verdict_from_report` turns Evidently's result
into a `DriftVerdict`. The pipeline runs the metrics through the stack's
Evidently data validator; the benchmark calls `run_drift_report` directly with
the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from har.monitors import MonitorResult

PREDICTION_COLUMN = "predicted_activity"
SUBJECT_COLUMN = "subject"
# Evidently tests whose score is a p-value (drift when *below* the threshold): not calibrated upwards.
P_VALUE_TESTS = ("ks", "chisquare", "z", "t_test", "mannw", "anderson", "cramer_von_mises", "fisher_exact",
                 "g_test", "epps_singleton")


class DriftConfig(BaseModel):
    """Thresholds and tests (`steps.detect_drift.parameters.drift`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature_stattest: str = Field("psi", description="Evidently stat test for the numeric features (psi, ks, ...).")
    feature_threshold: float = Field(0.25, gt=0, description="Drift if the test's score passes this (psi: > 0.25); "
                                     "the floor of the calibrated per-feature thresholds.")
    calibrate: bool = Field(True, description="Raise each feature's threshold to what held-out validation "
                                              "subjects score against the reference (new people are not drift).")
    calibration_margin: float = Field(1.25, ge=1.0, description="Calibrated threshold = margin x the highest "
                                                                "validation-subject score.")
    drift_share: float = Field(0.03, gt=0, le=1, description="Dataset drift if this share of features drifts "
                               "(calibrated thresholds make single drifted features rare on new people).")
    prediction_stattest: str = Field("psi", description="Evidently stat test for the predicted-activity column.")
    prediction_threshold: float = Field(0.25, gt=0)
    prediction_drift_is_drift: bool = Field(
        False, description="Count prediction drift alone as drift. Off by default: a batch of a few people "
                           "has its own activity mix, so the predicted mix moves without any sensor change.")


@dataclass
class DriftVerdict:
    """What the drift step concluded, with the evidence behind it."""

    drift_detected: bool
    drift_share: float
    n_features: int
    drifted_features: List[str]
    prediction_drift: bool
    prediction_drift_score: float | None
    thresholds: Dict[str, Any]
    feature_scores: Dict[str, float] = field(default_factory=dict)
    feature_thresholds: Dict[str, float] = field(default_factory=dict)
    n_reference: int = 0
    n_current: int = 0
    reference_prediction_share: Dict[str, float] = field(default_factory=dict)
    current_prediction_share: Dict[str, float] = field(default_factory=dict)
    # Label-free monitors (har.monitors) and what was checked: "folder <path>" or "serving log <dir> ...".
    monitors: List[MonitorResult] = field(default_factory=list)
    source: str = ""
    # Evidence behind the monitors' plots (har.monitors.monitor_evidence): confidence histograms, activity mixes.
    monitor_evidence: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.monitors = [m if isinstance(m, MonitorResult) else MonitorResult.from_dict(m) for m in self.monitors]

    @property
    def monitor_alerts(self) -> List[str]:
        return [m.name for m in self.monitors if m.alert]

    def summary(self) -> str:
        top = ", ".join(self.drifted_features[:8]) + (" ..." if len(self.drifted_features) > 8 else "")
        monitors = "; monitor alerts: " + (", ".join(self.monitor_alerts) or "none") if self.monitors else ""
        return (f"{'DRIFT' if self.drift_detected else 'no drift'}: {len(self.drifted_features)}/{self.n_features} "
                f"features drifted (share {self.drift_share:.2f}, threshold {self.thresholds['drift_share']}); "
                f"prediction drift {self.prediction_drift} (score {self.prediction_drift_score}); "
                f"drifted: {top or '-'}{monitors}")


def drift_frame(windows: Any, predicted: Any) -> pd.DataFrame:
    """Per-window features, the predicted activity, and the gait tempo per predicted activity.

    `tempo_hz@<activity>` is the accelerometer magnitude's dominant frequency
    of the windows predicted as that activity (NaN elsewhere; Evidently's tests
    skip NaN). Within one activity people vary far less in tempo than across
    activities, so a clock that runs fast or slow (data at an undeclared rate)
    shows up there while the pooled frequency features barely move.
    """
    import numpy as np

    from har.features import window_features

    frame = window_features(windows.X, windows.channel_names, windows.sample_rate_hz)
    labels = np.asarray(predicted)
    frame[PREDICTION_COLUMN] = labels
    if "acc_magnitude_dominant_hz" in frame:
        for activity in windows.class_names:
            frame[f"tempo_hz@{activity}"] = frame["acc_magnitude_dominant_hz"].where(labels == activity)
    return frame


def drift_metrics(config: DriftConfig, feature_columns: List[str],
                  thresholds: Dict[str, float] | None = None) -> List[Any]:
    """Evidently legacy metric objects for the drift check (per-feature thresholds if calibrated)."""
    from evidently.legacy.metrics import ColumnDriftMetric, DataDriftTable

    return [
        DataDriftTable(columns=feature_columns, stattest=config.feature_stattest,
                       stattest_threshold=config.feature_threshold,
                       per_column_stattest_threshold={k: v for k, v in (thresholds or {}).items()
                                                      if k in feature_columns} or None),
        ColumnDriftMetric(column_name=PREDICTION_COLUMN, stattest=config.prediction_stattest,
                          stattest_threshold=config.prediction_threshold),
    ]


def column_mapping(feature_columns: List[str]) -> Any:
    from evidently.legacy.pipeline.column_mapping import ColumnMapping

    return ColumnMapping(numerical_features=feature_columns, categorical_features=[PREDICTION_COLUMN],
                         target=None, prediction=None)


def run_drift_report(reference: pd.DataFrame, current: pd.DataFrame, config: DriftConfig,
                     thresholds: Dict[str, float] | None = None) -> Any:
    """The Evidently report itself (used outside ZenML: calibration, benchmark)."""
    from evidently.legacy.report import Report

    features = comparable_features(reference, current)
    report = Report(metrics=drift_metrics(config, features, thresholds))
    report.run(reference_data=reference, current_data=current, column_mapping=column_mapping(features))
    return report


def feature_columns(frame: pd.DataFrame) -> List[str]:
    return [c for c in frame.columns if c not in (PREDICTION_COLUMN, SUBJECT_COLUMN)]


def comparable_features(reference: pd.DataFrame, current: pd.DataFrame) -> List[str]:
    """Feature columns with values on both sides (a per-activity tempo column is empty when nobody in
    the batch was predicted to do that activity; Evidently refuses empty columns)."""
    return [c for c in feature_columns(reference)
            if c in current and reference[c].notna().any() and current[c].notna().any()]


def feature_scores(report_dict: Dict[str, Any]) -> Dict[str, float]:
    table = next(m["result"] for m in report_dict["metrics"] if m["metric"] == "DataDriftTable")
    return {name: float(column["drift_score"]) for name, column in table["drift_by_columns"].items()}


def calibrate_thresholds(reference: pd.DataFrame, calibration: pd.DataFrame, config: DriftConfig) -> Dict[str, float]:
    """Per-feature thresholds no held-out subject reaches: each validation subject (people the model
    never trained on, with the same sensors) is scored against the reference with the configured
    Evidently test, and the threshold is `margin` x the highest score (at least `feature_threshold`).

    Higher-is-drift tests (psi, wasserstein, jensenshannon, ...) only; p-value tests are left as configured.
    """
    if not config.calibrate or config.feature_stattest in P_VALUE_TESTS:
        return {}
    highest: Dict[str, float] = {}
    for _, subject_frame in calibration.groupby(SUBJECT_COLUMN):
        frame = subject_frame.drop(columns=[SUBJECT_COLUMN])
        scores = feature_scores(run_drift_report(reference, frame, config).as_dict())
        for name, score in scores.items():
            highest[name] = max(highest.get(name, 0.0), score)
    return {name: max(config.feature_threshold, config.calibration_margin * score) for name, score in highest.items()}


def verdict_from_report(report_dict: Dict[str, Any], config: DriftConfig, reference: pd.DataFrame,
                        current: pd.DataFrame, feature_thresholds: Dict[str, float] | None = None) -> DriftVerdict:
    """Read Evidently's per-column results; the decision rule is the configured drift share."""
    table = next(m["result"] for m in report_dict["metrics"] if m["metric"] == "DataDriftTable")
    prediction = next(m["result"] for m in report_dict["metrics"] if m["metric"] == "ColumnDriftMetric")
    columns = table["drift_by_columns"]
    drifted = sorted(name for name, column in columns.items() if column["drift_detected"])
    share = len(drifted) / max(len(columns), 1)
    return DriftVerdict(
        drift_detected=share >= config.drift_share
        or (config.prediction_drift_is_drift and bool(prediction["drift_detected"])),
        drift_share=share,
        n_features=len(columns),
        drifted_features=drifted,
        prediction_drift=bool(prediction["drift_detected"]),
        prediction_drift_score=_float(prediction.get("drift_score")),
        thresholds=config.model_dump(),
        feature_scores={name: _float(column["drift_score"]) for name, column in columns.items()},
        feature_thresholds=dict(feature_thresholds or {}),
        n_reference=len(reference),
        n_current=len(current),
        reference_prediction_share=_shares(reference[PREDICTION_COLUMN]),
        current_prediction_share=_shares(current[PREDICTION_COLUMN]),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _shares(column: pd.Series) -> Dict[str, float]:
    return {str(k): float(v) for k, v in column.value_counts(normalize=True).sort_index().items()}



def with_monitors(verdict: DriftVerdict, report: Dict[str, Any]) -> DriftVerdict:
    """The verdict with the label-free monitors of `har.monitors.monitor_report`; an alert of a monitor in
    `count_as_drift` makes it drift."""
    import dataclasses

    return dataclasses.replace(
        verdict, drift_detected=verdict.drift_detected or bool(report["drift"]),
        monitors=[MonitorResult.from_dict(r) for r in report["results"]], source=str(report["source"]),
        monitor_evidence=dict(report["evidence"]), thresholds={**verdict.thresholds, "monitors": report["config"]})
