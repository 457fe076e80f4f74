"""Label-free monitors on inputs whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from har.monitors import (
    CHANGE_RATE,
    LOW_CONFIDENCE,
    MIX_SHIFT,
    MonitorResult,
    MonitorsConfig,
    Predictions,
    activity_mix_shift,
    low_confidence_share,
    prediction_change_rate,
    run_monitors,
)

CLASSES = ["walking", "sitting", "standing"]


def one_hot(labels, confidence=0.9):
    p = np.full((len(labels), 3), (1 - confidence) / 2)
    p[np.arange(len(labels)), labels] = confidence
    return p


def test_low_confidence_share():
    p = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.5, 0.5, 0.0], [0.6, 0.2, 0.2]])
    assert low_confidence_share(p, 0.6) == 0.5  # 0.4 and 0.5 are below; 0.6 is not
    assert low_confidence_share(np.zeros((0, 3)), 0.6) == 0.0
    with pytest.raises(ValueError, match="windows, classes"):
        low_confidence_share(np.zeros(3), 0.6)


def test_prediction_change_rate_counts_pairs_within_a_stream_in_order():
    labels = np.array(["a", "b", "a", "a", "c", "c"])
    streams = np.array(["s1", "s1", "s1", "s2", "s2", "s2"])
    order = np.array([2, 1, 3, 1, 2, 3])  # s1 in time order: b, a, a -> 1 change of 2 pairs; s2: a, c, c -> 1 of 2
    assert prediction_change_rate(labels, streams, order) == 0.5
    # windows of no stream form no pair; the boundary between streams is not a change
    assert prediction_change_rate(np.array(["a", "b"]), np.array(["", ""]), np.array([0, 1])) == 0.0
    assert prediction_change_rate(np.array(["a", "b"]), np.array(["x", "y"]), np.array([0, 1])) == 0.0


def test_activity_mix_shift_is_total_variation():
    assert activity_mix_shift(["walking"] * 10, {"walking": 1.0}, CLASSES) == 0.0
    assert activity_mix_shift(["sitting"] * 10, {"walking": 1.0}, CLASSES) == 1.0
    shift = activity_mix_shift(["walking"] * 5 + ["sitting"] * 5, {"walking": 2, "sitting": 1, "standing": 1}, CLASSES)
    assert shift == pytest.approx(0.25)  # |0.5-0.5| + |0.5-0.25| + |0-0.25| = 0.5, halved
    with pytest.raises(ValueError, match="no positive share"):
        activity_mix_shift(["walking"], {"running": 1.0}, CLASSES)


def stream(labels, confidence=0.9, name="s"):
    labels = np.asarray(labels)
    return Predictions(one_hot(labels, confidence), np.full(len(labels), name), np.arange(len(labels), dtype=float))


def test_run_monitors_quiet_on_data_like_the_reference():
    reference = stream([0] * 40 + [1] * 40 + [2] * 40)
    current = stream([0] * 30 + [1] * 30 + [2] * 30)
    results = run_monitors(current, reference, CLASSES, {"walking": 1, "sitting": 1, "standing": 1}, MonitorsConfig())
    assert [r.name for r in results] == [LOW_CONFIDENCE, CHANGE_RATE, MIX_SHIFT]
    assert not any(r.alert for r in results)
    assert all(isinstance(r, MonitorResult) and r.explanation for r in results)


def test_run_monitors_alert_on_an_unsure_flickering_model_and_a_new_mix():
    reference = stream([0] * 40 + [1] * 40 + [2] * 40)
    current = stream([0, 1] * 50, confidence=0.45)  # flickers between two classes, unsure
    results = {r.name: r for r in run_monitors(current, reference, CLASSES, {"walking": 1, "sitting": 1,
                                                                              "standing": 1}, MonitorsConfig())}
    assert results[LOW_CONFIDENCE].alert and results[LOW_CONFIDENCE].value == 1.0
    assert results[LOW_CONFIDENCE].reference_value == 0.0 and results[LOW_CONFIDENCE].threshold == pytest.approx(0.15)
    assert results[CHANGE_RATE].alert and results[CHANGE_RATE].value == 1.0
    assert results[CHANGE_RATE].reference_value == pytest.approx(2 / 119)
    assert results[MIX_SHIFT].value == pytest.approx(1 / 3) and not results[MIX_SHIFT].alert  # 0.33 <= 0.35
    config = MonitorsConfig(mix_shift_max=0.3, min_windows=1000)
    few = run_monitors(current, reference, CLASSES, {"walking": 1, "sitting": 1, "standing": 1}, config)
    assert not any(r.alert for r in few) and "fewer than min_windows" in few[0].explanation


def test_monitor_result_round_trip_and_config_validation():
    result = MonitorResult(MIX_SHIFT, 0.5, 0.1, 0.35, True, "x")
    assert MonitorResult.from_dict(result.to_dict()) == result
    with pytest.raises(ValidationError, match="unknown monitor"):
        MonitorsConfig(count_as_drift=["low_confidence"])
    with pytest.raises(ValidationError):
        MonitorsConfig(confidence_treshold=0.5)


def test_drift_config_monitors_are_validated(tmp_path):
    import yaml

    from har.outcomes import ConfigError
    from pipelines import drift_pipeline
    from pipelines.run_config import validate_run_config

    path = tmp_path / "drift.yaml"
    source = Path(__file__).resolve().parents[2] / "configs" / "drift.yaml"
    config = validate_run_config(source, drift_pipeline)
    assert MonitorsConfig.model_validate(config["steps"]["monitor_predictions"]["parameters"]["monitors"])
    config["steps"]["monitor_predictions"]["parameters"]["monitors"]["mix_shift_maximum"] = 0.3
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="mix_shift_maximum"):
        validate_run_config(path, drift_pipeline)
