"""Features, Evidently drift verdicts, calibration, shifts and the prediction log (no ZenML)."""

import sqlite3

import numpy as np
import pandas as pd
import pytest

from har.drift import (
    PREDICTION_COLUMN,
    SUBJECT_COLUMN,
    DriftConfig,
    calibrate_thresholds,
    run_drift_report,
    verdict_from_report,
)
from har.features import FEATURES, window_features
from har.prediction_log import append_predictions, count_predictions
from har.shifts import SHIFTS, gain, swap_axes, undeclared_rate

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


def test_window_features_values():
    t = np.arange(128) / 50.0
    X = np.zeros((2, 128, 6), np.float32)
    X[0, :, 0] = 1.0 + 0.5 * np.sin(2 * np.pi * 2.0 * t)  # 2 Hz around 1 g
    X[1, :, 2] = 1.0
    frame = window_features(X, CHANNELS, 50.0)
    assert len(frame.columns) == len(CHANNELS) * len(FEATURES) + 4
    assert frame.loc[0, "acc_x_mean"] == pytest.approx(1.0, abs=0.01)
    assert frame.loc[0, "acc_x_dominant_hz"] == pytest.approx(2.0, abs=0.4)
    assert frame.loc[1, "acc_magnitude_mean"] == pytest.approx(1.0)
    assert frame.loc[1, "acc_z_jerk"] == 0.0
    with pytest.raises(ValueError, match="expected windows"):
        window_features(X[:, :, :3], CHANNELS, 50.0)


def _frames(rng, n, scale=1.0):
    X = rng.normal(0.0, 0.3, (n, 64, 6)).astype(np.float32)
    X[:, :, 0] += 1.0
    frame = window_features(X * scale, CHANNELS, 50.0)
    frame[PREDICTION_COLUMN] = rng.choice(["walking", "sitting"], n)
    return frame


def test_evidently_verdict_separates_same_from_shifted_distributions():
    rng = np.random.default_rng(0)
    reference, same, shifted = _frames(rng, 600), _frames(rng, 200), _frames(rng, 200, scale=1.3)
    config = DriftConfig(calibrate=False, feature_threshold=0.25, drift_share=0.3)
    quiet = verdict_from_report(run_drift_report(reference, same, config).as_dict(), config, reference, same)
    loud = verdict_from_report(run_drift_report(reference, shifted, config).as_dict(), config, reference, shifted)
    assert not quiet.drift_detected and quiet.drift_share < 0.1
    assert loud.drift_detected and "acc_magnitude_mean" in loud.drifted_features
    assert set(loud.feature_scores) == {c for c in reference.columns if c != PREDICTION_COLUMN}
    assert "features drifted" in loud.summary()


def test_calibration_raises_thresholds_to_what_new_subjects_score():
    rng = np.random.default_rng(1)
    reference = _frames(rng, 600)
    calibration = pd.concat([_frames(rng, 100, scale=s).assign(**{SUBJECT_COLUMN: f"v{i}"})
                             for i, s in enumerate((0.95, 1.05))], ignore_index=True)
    config = DriftConfig(feature_threshold=0.01, calibration_margin=1.5)
    thresholds = calibrate_thresholds(reference, calibration, config)
    assert set(thresholds) == {c for c in reference.columns if c != PREDICTION_COLUMN}
    assert all(value >= 0.01 for value in thresholds.values())
    assert max(thresholds.values()) > 0.01  # something was raised by the calibration subjects
    assert calibrate_thresholds(reference, calibration, DriftConfig(calibrate=False)) == {}
    assert calibrate_thresholds(reference, calibration, DriftConfig(feature_stattest="ks")) == {}


def _sensor_frame(n=500):
    t = 1_700_000_000 + np.arange(n) / 50.0
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"recording_id": "r", "subject": "s", "segment": 0, "timestamp": t})
    for column in CHANNELS:
        frame[column] = np.sin(2 * np.pi * 2.0 * (t - t[0])) + rng.normal(0, 0.01, n)
    frame["acc_x"] += 1.0
    return frame


def test_shifts_change_what_they_claim():
    frame = _sensor_frame()
    assert (gain(frame)["acc_y"] / frame["acc_y"]).round(6).eq(1.3).all()
    swapped = swap_axes(frame)
    assert np.array_equal(swapped["acc_x"], frame["acc_y"]) and np.array_equal(swapped["gyro_y"], frame["gyro_x"])
    faster = undeclared_rate(frame)
    assert len(faster) < len(frame)  # 40 Hz worth of signal stamped at 50 Hz: the same time holds less signal
    spectrum = np.abs(np.fft.rfft(faster["acc_y"].to_numpy() - faster["acc_y"].mean()))
    freqs = np.fft.rfftfreq(len(faster), 1 / 50.0)
    assert freqs[spectrum.argmax()] == pytest.approx(2.5, abs=0.15)  # 2 Hz x 50/40
    for name, shift in SHIFTS.items():
        out = shift(frame)
        assert list(out.columns) == list(frame.columns), name
        assert not out[CHANNELS].isna().any().any(), name


def test_prediction_log_appends_each_window_once(tmp_path):
    predictions = pd.DataFrame({
        "recording_id": ["a", "a", "b"], "subject": "s", "window_start_s": [1.0, 2.28, 1.0],
        "label": ["walking", "sitting", "walking"], "p_walking": [0.9, 0.2, 0.8], "p_sitting": [0.1, 0.8, 0.2],
        "model_version": "3", "true_label": ["walking", "", ""],
    })
    db = tmp_path / "log" / "predictions.sqlite"
    assert append_predictions(db, predictions, "m", "run1") == (3, 0)
    assert append_predictions(db, predictions, "m", "run2") == (0, 3)
    assert append_predictions(db, predictions.assign(model_version="4"), "m", "run3") == (3, 0)
    assert count_predictions(db) == 6
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT probabilities, true_label, pipeline_run FROM predictions "
                                 "WHERE recording_id='a' AND window_start_s=1.0 AND model_version='3'").fetchone()
    assert row[0] == '{"walking": 0.9, "sitting": 0.1}' and row[1] == "walking" and row[2] == "run1"


def test_drift_frame_adds_tempo_per_predicted_activity_and_skips_empty_columns():
    from har.drift import comparable_features, drift_frame
    from har.types import WindowedDataset

    rng = np.random.default_rng(3)
    n = 6
    windows = WindowedDataset(
        X=rng.normal(size=(n, 64, 6)).astype(np.float32), y=np.zeros(n, np.int64),
        recording_ids=np.array(["r"] * n), subjects=np.array(["s"] * n), start_times=np.arange(n, dtype=float),
        class_names=["walking", "sitting"], channel_names=CHANNELS, sample_rate_hz=50.0, step=32)
    frame = drift_frame(windows, ["walking"] * 4 + ["sitting"] * 2)
    walking = frame["tempo_hz@walking"]
    assert walking.notna().sum() == 4 and frame["tempo_hz@sitting"].notna().sum() == 2
    assert (walking.dropna() == frame["acc_magnitude_dominant_hz"][:4]).all()
    only_walking = drift_frame(windows, ["walking"] * n)
    features = comparable_features(frame, only_walking)
    assert "tempo_hz@walking" in features and "tempo_hz@sitting" not in features
    assert PREDICTION_COLUMN not in features
