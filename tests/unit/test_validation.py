import json

import numpy as np
import pandas as pd
import pytest

from har.config import DataConfig, channel_names
from har.errors import DataValidationError
from har.ingest import ingest_recordings
from har.types import DataQualityReport
from har.validation import build_quality_report, merge_reports, raise_for_issues

T0 = 1_714_557_600.0


def make_frame(data: DataConfig, schema, n_recordings: int = 3, seconds: float = 20.0) -> pd.DataFrame:
    """A valid ingested frame: one subject per recording, first half walking, second half sitting."""
    rate = data.sampling_rate_hz
    n = int(seconds * rate)
    parts = []
    for r in range(n_recordings):
        t = T0 + 100.0 * r + np.arange(n) / rate
        part = {
            "recording_id": f"rec{r}",
            "subject": f"subj{r}",
            "segment": np.zeros(n, dtype=np.int32),
            "timestamp": t,
        }
        for k, channel in enumerate(channel_names(data, schema)):
            part[channel] = (0.5 * np.sin(2 * np.pi * (t - T0) + k)).astype(np.float32)
        part["activity"] = np.where(np.arange(n) < n // 2, "walking", "sitting").astype(object)
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def errors_of(report):
    return report.errors


def warnings_of(report):
    return report.warnings


def test_clean_data_passes_with_a_json_serialisable_summary(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    report = build_quality_report(frame, data, schema)
    assert report.passed and report.issues == []
    assert DataQualityReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    s = report.summary
    assert (s["n_recordings"], s["n_subjects"], s["n_samples"]) == (3, 3, 3000)
    assert s["duration_s"] == pytest.approx(60.0)
    assert s["activity_seconds"] == {"walking": 30.0, "sitting": 30.0}
    assert s["labelled_fraction"] == 1.0
    assert set(s["channel_stats"]) == set(channel_names(data, schema))
    assert s["channel_stats"]["acc_x"]["max"] <= 0.5 + 1e-6
    row = report.recordings[0]
    assert row["recording_id"] == "rec0" and row["subject"] == "subj0" and row["n_segments"] == 1
    assert row["activity_seconds"] == {"sitting": 10.0, "walking": 10.0}
    raise_for_issues(report, 20)  # no errors: nothing raised


def test_ingested_recordings_pass(make_recording, data_dir, data_config, schema):
    for i in range(3):
        make_recording(f"s{i}", labels=[("walking", 0, 10), ("running", 10, 20), ("sitting", 20, 30)])
    frame, _ = ingest_recordings(data_dir, data_config, schema)
    report = build_quality_report(frame, data_config, schema)
    assert report.passed, report.issues
    missing = {w.message.split("'")[1] for w in warnings_of(report)}
    assert missing == {"standing", "walking_upstairs", "walking_downstairs"}


def test_nan_in_a_channel_fails_with_named_row(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    frame.loc[[1005, 1010], "gyro_y"] = np.nan
    report = build_quality_report(frame, data, schema)
    assert not report.passed
    (issue,) = errors_of(report)
    assert (issue.recording, issue.column, issue.row, issue.more_rows) == (
        "rec1",
        "gyro_y",
        1007,
        1,
    )
    with pytest.raises(DataValidationError) as info:
        raise_for_issues(report, 20)
    assert "recording 'rec1', file sensor_data, column 'gyro_y', line 1007 (and 1 more row): NaN" in str(
        info.value
    )


def test_unknown_activity_fails(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    frame.loc[2500:2509, "activity"] = "jogging"
    report = build_quality_report(frame, data, schema)
    (issue,) = errors_of(report)
    assert (issue.recording, issue.column, issue.row, issue.more_rows) == (
        "rec2",
        "activity",
        2502,
        9,
    )
    assert "unknown activity 'jogging'" in issue.message


def test_out_of_range_fails(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    frame.loc[17, "acc_z"] = 30.0
    report = build_quality_report(frame, data, schema)
    (issue,) = errors_of(report)
    assert (issue.recording, issue.column, issue.row) == ("rec0", "acc_z", 19)
    assert "outside the plausible range [-16, 16] g" in issue.message


def test_missing_column_and_bad_dtypes(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    report = build_quality_report(frame.drop(columns="gyro_x"), data, schema)
    assert not report.passed and errors_of(report)[0].column == "gyro_x"
    frame["timestamp"] = frame["timestamp"].astype(np.float32)
    frame["acc_x"] = frame["acc_x"].astype(str)
    columns = {i.column for i in errors_of(build_quality_report(frame, data, schema))}
    assert columns == {"timestamp", "acc_x"}


def test_timeline_checks(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    frame.loc[50, "timestamp"] += 0.005  # off the 50 Hz grid
    frame.loc[1200, "timestamp"] = frame.loc[1199, "timestamp"]  # not increasing
    frame.loc[2100, "timestamp"] -= 1.0  # backwards
    issues = errors_of(build_quality_report(frame, data, schema))
    assert [(i.row, i.recording) for i in issues] == [(1202, "rec1"), (2102, "rec2"), (52, "rec0")]
    assert issues[0].message.startswith("duplicate timestamp '2024-05-01T10:01:43.980000+00:00'")
    assert "goes backwards" in issues[1].message
    assert "expected 1/sampling_rate_hz = 0.02 s" in issues[2].message


def test_segments_may_jump_but_rows_must_be_grouped(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema, n_recordings=3)
    frame.loc[500:999, "segment"] = 1
    frame.loc[500:999, "timestamp"] += 3.0  # a hole between segments is fine
    assert build_quality_report(frame, data, schema).passed
    shuffled = pd.concat([frame.iloc[:500], frame.iloc[1000:1500], frame.iloc[500:1000], frame.iloc[1500:]])
    report = build_quality_report(shuffled.reset_index(drop=True), data, schema)
    assert any("more than one block" in i.message for i in errors_of(report))


def test_labels_subjects_and_short_recordings(schema):
    data = DataConfig(activities=["walking", "sitting", "running"], window_size=128)
    frame = make_frame(data, schema, n_recordings=2)
    frame = frame[~((frame["recording_id"] == "rec1") & (frame.index > 1100))].reset_index(drop=True)
    report = build_quality_report(frame, data, schema)
    assert report.passed
    messages = [w.message for w in warnings_of(report)]
    assert any("'running'" in m for m in messages)
    assert any(m.startswith("only 2 subject(s)") for m in messages)
    short = [w for w in warnings_of(report) if "window_size" in w.message]
    assert [w.recording for w in short] == ["rec1"] and "contribute no windows" in short[0].message
    (skipped,) = report.skipped  # rec1 keeps 101 samples < 128: the same rule and entry as in ingestion
    assert (skipped.recording, skipped.segment, skipped.seconds) == ("rec1", 0, pytest.approx(101 / 50))

    frame["activity"] = ""
    report = build_quality_report(frame, data, schema)
    assert any("no labelled samples" in i.message for i in errors_of(report))
    assert build_quality_report(frame, data, schema, require_labels=False).passed


def test_recording_with_two_subjects_fails(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    frame.loc[10:20, "subject"] = "someone_else"
    (issue,) = errors_of(build_quality_report(frame, data, schema))
    assert issue.recording == "rec0" and issue.column == "subject"


def test_empty_frame_fails(schema):
    data = DataConfig(activities=["walking", "sitting"])
    report = build_quality_report(make_frame(data, schema).iloc[:0], data, schema)
    assert not report.passed and "no rows" in report.issues[0].message


def test_one_report_merges_ingestion_findings(make_recording, data_dir, data_config, schema):
    for i in range(3):
        make_recording(f"s{i}", labels=[("walking", 0, 10), ("running", 10, 20), ("sitting", 20, 30)])
    make_recording("gappy", drop={"accelerometer": [(10.0, 12.0), (13.0, 16.0)]})
    make_recording("short", duration_s=5)
    frame, ingest_report = ingest_recordings(data_dir, data_config, schema)
    checked = build_quality_report(frame, data_config, schema)
    assert checked.skipped == []  # ingestion already dropped the short segment: nothing left to find
    report = merge_reports(ingest_report, checked)
    assert report.passed
    assert report.issues == [*ingest_report.issues, *checked.issues]
    assert {(i.recording, i.file) for i in report.warnings} >= {
        ("gappy", "accelerometer.csv"),  # the gap
        ("gappy", None),  # the segment shorter than a window
        ("short", "accelerometer.csv"),
        ("short", "gyroscope.csv"),
    }
    assert [(s.recording, s.segment) for s in report.skipped] == [("gappy", 1), ("short", None)]
    gappy = next(r for r in report.recordings if r["recording_id"] == "gappy")
    assert gappy["n_segments"] == 2 and gappy["n_gaps"] == 2 and gappy["units"]["accelerometer"] == "g"
    assert gappy["duration_s"] == pytest.approx(checked.recordings[0]["duration_s"])
    assert report.summary["n_recordings"] == 4 and report.summary["n_recordings_found"] == 5
    assert report.summary["n_recordings_skipped"] == 1
    assert DataQualityReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report

    failed = merge_reports(ingest_report, build_quality_report(frame.drop(columns="acc_x"), data_config, schema))
    assert not failed.passed and failed.recordings == ingest_report.recordings
    with pytest.raises(DataValidationError, match="missing column 'acc_x'"):
        raise_for_issues(failed)


def test_unknown_activity_message_lists_what_is_accepted(schema):
    data = DataConfig(activities=["walking", "sitting"])
    frame = make_frame(data, schema)
    frame.loc[5, "activity"] = "jogging"
    frame.loc[7, "activity"] = "cycling"
    (issue,) = errors_of(build_quality_report(frame, data, schema))
    assert issue.message == (
        "unknown activity 'jogging' (expected one of: walking, sitting; or \"\" for unlabelled); "
        "all unknown names: cycling, jogging"
    )
    assert (issue.row, issue.more_rows) == (7, 1)
