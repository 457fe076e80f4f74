"""The drift verdict's materializer with the label-free monitors: round trip, metadata, the dashboard HTML."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from zenml.enums import VisualizationType

from har.drift import DriftVerdict, with_monitors
from har.monitors import MonitorResult, MonitorsConfig, Predictions, monitor_report
from materializers.drift_verdict_materializer import DATA_FILE, DriftVerdictMaterializer

CLASSES = ["walking", "sitting", "standing"]


def predictions(labels, confidence):
    p = np.full((len(labels), 3), (1 - confidence) / 2)
    p[np.arange(len(labels)), labels] = confidence
    return Predictions(p, np.full(len(labels), "s"), np.arange(len(labels), dtype=float))


def make_verdict() -> DriftVerdict:
    base = DriftVerdict(drift_detected=False, drift_share=0.0, n_features=2, drifted_features=[],
                        prediction_drift=False, prediction_drift_score=0.1,
                        thresholds={"drift_share": 0.03, "feature_stattest": "psi"},
                        feature_scores={"acc_x_mean": 0.01, "acc_y_mean": 0.02}, n_reference=90, n_current=100,
                        reference_prediction_share={"walking": 0.5, "sitting": 0.5},
                        current_prediction_share={"walking": 0.5, "sitting": 0.5})
    report = monitor_report(predictions([0, 1] * 50, 0.45), predictions([0] * 30 + [1] * 30 + [2] * 30, 0.9),
                            CLASSES, {"walking": 1, "sitting": 1, "standing": 1}, MonitorsConfig(),
                            "serving log /tmp/log 2026-01-01T00:00:00Z..now, 100 windows, 1 streams, model versions 3")
    return with_monitors(base, report)


def test_monitors_make_the_verdict_drift_and_round_trip(store, uri):
    verdict = make_verdict()
    assert verdict.drift_detected and verdict.monitor_alerts == ["low_confidence_share", "prediction_change_rate"]
    assert all(isinstance(m, MonitorResult) for m in verdict.monitors)
    materializer = DriftVerdictMaterializer(uri=uri, artifact_store=store)
    materializer.save(verdict)
    assert DriftVerdictMaterializer(uri=uri, artifact_store=store).load(DriftVerdict) == verdict
    metadata = materializer.extract_metadata(verdict)
    assert metadata["monitor_alerts"] == "low_confidence_share, prediction_change_rate"
    assert metadata["monitor_low_confidence_share"] == 1.0 and metadata["source"].startswith("serving log")


def test_a_version_1_verdict_without_monitors_still_loads(store, uri):
    verdict = make_verdict()
    content = {"format_version": 1, "type": "DriftVerdict",
               **{k: v for k, v in json.loads(json.dumps(verdict.__dict__, default=lambda o: o.to_dict())).items()
                  if k not in ("monitors", "source", "monitor_evidence")}}
    (Path(uri) / DATA_FILE).write_text(json.dumps(content))
    loaded = DriftVerdictMaterializer(uri=uri, artifact_store=store).load(DriftVerdict)
    assert loaded.monitors == [] and loaded.source == ""


def test_corrupted_verdict_is_refused(store, uri):
    (Path(uri) / DATA_FILE).write_text('{"format_version": 2, "type": "DriftVerdict", "drift_detected": true}')
    with pytest.raises(ValueError, match="missing field"):
        DriftVerdictMaterializer(uri=uri, artifact_store=store).load(DriftVerdict)


def test_visualization_shows_the_monitors_with_inline_plots(store, uri):
    verdict = make_verdict()
    visualizations = DriftVerdictMaterializer(uri=uri, artifact_store=store).save_visualizations(verdict)
    ((path, kind),) = visualizations.items()
    assert kind == VisualizationType.HTML and Path(path).parent == Path(uri)
    page = Path(path).read_text()
    assert "Label-free monitors" in page and "serving log /tmp/log" in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    assert [alt for alt, _ in images] == ["monitors vs. thresholds", "predicted activity mix", "confidence histogram"]
    for _, data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    for monitor in verdict.monitors:
        assert monitor.name in page


def test_visualization_without_monitors_has_no_plots(store, uri):
    verdict = DriftVerdict(drift_detected=False, drift_share=0.0, n_features=0, drifted_features=[],
                           prediction_drift=False, prediction_drift_score=None, thresholds={"drift_share": 0.03})
    (path,) = DriftVerdictMaterializer(uri=uri, artifact_store=store).save_visualizations(verdict)
    assert "<img" not in Path(path).read_text()
