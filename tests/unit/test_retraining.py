"""Retraining data and decision: the production recordings plus new ones, and when a retraining run goes on."""

from __future__ import annotations

import pandas as pd
import pytest

from har.errors import DataValidationError
from har.retraining import merge_recordings, retraining_decision
from har.types import DataQualityReport


def _table(*recordings: str) -> pd.DataFrame:
    return pd.DataFrame({"recording_id": [r for r in recordings for _ in range(3)],
                         "subject": [r.split("_")[0] for r in recordings for _ in range(3)],
                         "acc_x": 0.0, "activity": "walking"})


def _report(*recordings: str, skipped_s: float = 0.0) -> DataQualityReport:
    return DataQualityReport(passed=True, summary={"n_recordings_found": len(recordings), "skipped_s": skipped_s},
                             recordings=[{"recording_id": r} for r in recordings])


def test_merge_keeps_every_recording_and_adds_up_the_report():
    merged, report = merge_recordings(_table("s01_r1", "s02_r1"), _report("s01_r1", "s02_r1", skipped_s=1.5),
                                      _table("s06_r1"), _report("s06_r1", skipped_s=0.5))
    assert sorted(merged["recording_id"].unique()) == ["s01_r1", "s02_r1", "s06_r1"] and len(merged) == 9
    assert report.summary["n_recordings_found"] == 3 and report.summary["skipped_s"] == 2.0
    assert (report.summary["n_recordings_production"], report.summary["n_recordings_new"]) == (2, 1)
    assert [r["recording_id"] for r in report.recordings] == ["s01_r1", "s02_r1", "s06_r1"]


def test_a_recording_already_in_the_training_data_is_refused_by_name():
    with pytest.raises(DataValidationError, match="s02_r1.*already"):
        merge_recordings(_table("s01_r1", "s02_r1"), _report("s01_r1", "s02_r1"), _table("s02_r1"),
                         _report("s02_r1"))


def test_other_columns_are_refused():
    with pytest.raises(DataValidationError, match="same dataset profile"):
        merge_recordings(_table("s01_r1"), _report("s01_r1"), _table("s06_r1").drop(columns="acc_x"),
                         _report("s06_r1"))


@pytest.mark.parametrize("drift, require, recordings, expected, reason", [
    (True, True, 2, True, "drift detected"),
    (False, True, 2, False, "found no drift"),
    (None, True, 2, False, "no drift verdict"),
    (None, False, 2, True, "require_drift is off"),
    (True, True, 0, False, "no new labelled recordings"),
])
def test_decision(drift, require, recordings, expected, reason):
    retrain, why = retraining_decision(drift, "2 of 58 features drifted", require, recordings)
    assert retrain is expected and reason in why
