import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import har.ingest
from har.config import DataConfig, Schema, channel_names
from har.errors import DataValidationError, Issue
from har.ingest import discover_recordings, ingest_recordings
from har.types import DataQualityReport
from har.windowing import make_windows

T0 = 1_714_557_600.0  # the recordings' start (conftest START_MS) in epoch seconds


def ingest_errors(data_dir, data, schema, **kwargs) -> list[Issue]:
    with pytest.raises(DataValidationError) as info:
        ingest_recordings(data_dir, data, schema, **kwargs)
    issues = info.value.issues
    assert issues and all(issue.is_error for issue in issues)
    assert str(info.value).startswith(f"{len(issues)} problem(s) in the input data:")
    return issues


def only(issues: list[Issue]) -> Issue:
    assert len(issues) == 1, [str(i) for i in issues]
    return issues[0]


def schema_with(schema: Schema, **changes) -> Schema:
    """A copy of `schema` with nested keys replaced, e.g. streams={"accelerometer": {"input_unit": "g"}}."""

    def merge(base: dict, update: dict) -> dict:
        out = dict(base)
        for key, value in update.items():
            out[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        return out

    return Schema.model_validate(merge(schema.model_dump(), changes))


def rewrite(path: Path, columns: dict, rename: dict | None = None) -> None:
    """Apply `columns[name](text series) -> series` to a CSV's columns, then rename columns."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for name, change in columns.items():
        frame[name] = change(frame[name])
    frame.rename(columns=rename or {}).to_csv(path, index=False)


# --------------------------------------------------------------------------- happy path


def test_clean_recordings_give_resampled_labelled_frame(h, make_recording, data_dir, data_config, schema):
    make_recording("s02_r1")
    make_recording("s01_r1")
    frame, report = ingest_recordings(data_dir, data_config, schema)
    facts = report.recordings

    channels = channel_names(data_config, schema)
    assert list(frame.columns) == ["recording_id", "subject", "segment", "timestamp", *channels, "activity"]
    assert frame["segment"].dtype == np.int32 and frame["timestamp"].dtype == np.float64
    assert all(frame[c].dtype == np.float32 for c in channels)
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0
    assert frame["recording_id"].unique().tolist() == ["s01_r1", "s02_r1"]
    assert len(frame) == 2 * 1501
    one = frame[frame["recording_id"] == "s01_r1"]
    np.testing.assert_allclose(np.diff(one["timestamp"]), 0.02, atol=1e-6)
    assert set(one["segment"]) == {0}
    assert one["subject"].iloc[0] == "s01_r1"
    counts = one["activity"].value_counts().to_dict()
    assert counts == {
        "walking": 750,
        "sitting": 750,
        "": 1,
    }  # [start, end): the final sample at 30 s is uncovered
    t = one["timestamp"].to_numpy() - one["timestamp"].iloc[0]
    np.testing.assert_allclose(one[["acc_x", "acc_y", "acc_z"]].to_numpy(), h.acc_signal(t), atol=1e-5)

    assert DataQualityReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert report.passed and report.issues == [] and report.skipped == []
    assert [f["recording_id"] for f in facts] == ["s01_r1", "s02_r1"]
    assert facts[0]["n_rows"] == {"accelerometer": 1501, "gyroscope": 1501}
    assert facts[0]["median_rate_hz"]["accelerometer"] == pytest.approx(50.0)
    assert facts[0]["duration_s"] == pytest.approx(30.02)  # 1501 samples x 20 ms
    assert facts[0]["n_segments"] == 1 and facts[0]["n_warnings"] == 0


def test_iso_and_epoch_ms_timestamps_give_the_same_result(h, tmp_path, data_config, schema):
    h.write_recording(tmp_path / "ms", "r1", time_format="ms")
    h.write_recording(tmp_path / "iso", "r1", time_format="iso")
    assert "T" in h.get_cell(tmp_path / "iso" / "r1" / "accelerometer.csv", 2, "timestamp")
    a, _ = ingest_recordings(tmp_path / "ms", data_config, schema)
    b, _ = ingest_recordings(tmp_path / "iso", data_config, schema)
    np.testing.assert_allclose(a["timestamp"], b["timestamp"], rtol=0, atol=1e-6)
    assert a.drop(columns="timestamp").equals(b.drop(columns="timestamp"))


def test_iso_with_offsets_and_naive_times_are_utc(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1", time_format="iso")
    for name in ("accelerometer.csv", "gyroscope.csv"):
        lines = h.read_lines(folder / name)
        # naive (UTC) for the first half, +02:00 offset for the second: same instants.
        for i in range(1, len(lines)):
            stamp, rest = lines[i].split(",", 1)
            stamp = stamp.rstrip("Z")
            if i > len(lines) // 2:
                hour = int(stamp[11:13]) + 2
                stamp = f"{stamp[:11]}{hour:02d}{stamp[13:]}+02:00"
            lines[i] = f"{stamp},{rest}"
        h.write_lines(folder / name, lines)
    frame, _ = ingest_recordings(data_dir, data_config, schema)
    np.testing.assert_allclose(np.diff(frame["timestamp"]), 0.02, atol=1e-6)
    assert frame["timestamp"].iloc[0] == pytest.approx(1_714_557_600.0)


def test_unit_conversion_from_si_units(h, make_recording, data_dir, data_config, schema):
    folder = make_recording(
        "r1", meta={"subject": "alice", "units": {"accelerometer": "m/s^2", "gyroscope": "deg/s"}}
    )
    assert (
        abs(float(h.get_cell(folder / "accelerometer.csv", 2, "z")) - 9.80665) < 1e-3
    )  # the file really is m/s^2
    frame, report = ingest_recordings(data_dir, data_config, schema)
    t = frame["timestamp"].to_numpy() - frame["timestamp"].iloc[0]
    np.testing.assert_allclose(frame[["acc_x", "acc_y", "acc_z"]].to_numpy(), h.acc_signal(t), atol=1e-5)
    np.testing.assert_allclose(frame[["gyro_x", "gyro_y", "gyro_z"]].to_numpy(), h.gyro_signal(t), atol=1e-5)
    assert report.recordings[0]["units"] == {"accelerometer": "m/s^2", "gyroscope": "deg/s"}
    assert frame["subject"].unique().tolist() == ["alice"]


def test_unknown_unit_in_meta_is_an_error(make_recording, data_dir, data_config, schema):
    make_recording("r1", meta={"units": {"accelerometer": "mg"}})
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.recording, issue.file, issue.column) == ("r1", "meta.json", "units.accelerometer")
    assert "'mg'" in str(issue) or '"mg"' in str(issue)
    assert "g, m/s^2" in issue.message


def test_subject_defaults_to_recording_id_and_meta_fields_are_used(
    make_recording, data_dir, data_config, schema
):
    make_recording("r1")
    make_recording("r2", meta={"subject": 7, "device": "pixel"})
    frame, report = ingest_recordings(data_dir, data_config, schema)
    facts = report.recordings
    assert frame.groupby("recording_id")["subject"].first().to_dict() == {"r1": "r1", "r2": "7"}
    assert facts[1]["device"] == "pixel" and facts[0]["device"] is None


def test_invalid_meta_json_names_the_line(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    (folder / "meta.json").write_text('{\n  "subject": "a",\n  "device": \n}\n')
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.file == "meta.json" and issue.row == 4 and "not valid JSON" in issue.message


def test_gyroscope_is_optional_when_config_uses_accelerometer_only(make_recording, data_dir, schema):
    folder = make_recording("r1", streams=("accelerometer",))
    (folder / "gyroscope.csv").write_text("garbage;\n")  # not a configured stream: ignored
    data = DataConfig(streams=["accelerometer"])
    frame, report = ingest_recordings(data_dir, data, schema)
    assert [c for c in frame.columns if c.startswith(("acc", "gyro"))] == ["acc_x", "acc_y", "acc_z"]
    assert list(report.recordings[0]["n_rows"]) == ["accelerometer"]


def test_labels_optional_for_inference(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=None)
    frame, report = ingest_recordings(data_dir, data_config, schema, require_labels=False)
    assert set(frame["activity"]) == {""}
    assert report.recordings[0]["n_label_intervals"] is None


def test_invalid_labels_are_only_warnings_for_inference(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    h.set_cell(folder / "labels.csv", 2, "activity", "jogging")
    frame, report = ingest_recordings(data_dir, data_config, schema, require_labels=False)
    assert set(frame["activity"]) == {""}
    (warning,) = report.issues
    assert warning.severity == "warning" and warning.file == "labels.csv" and "jogging" in warning.message


def test_mixed_rates_with_jitter_reconstruct_the_signal(h, make_recording, data_dir, data_config, schema):
    make_recording("r1", rates={"accelerometer": 50, "gyroscope": 100}, jitter_s=0.003)
    frame, report = ingest_recordings(data_dir, data_config, schema)
    assert report.recordings[0]["median_rate_hz"]["gyroscope"] == pytest.approx(100, rel=0.02)
    assert set(frame["segment"]) == {0}
    assert len(frame) >= 1495
    t = frame["timestamp"].to_numpy() - 1_714_557_600.0
    np.testing.assert_allclose(np.diff(frame["timestamp"]), 0.02, atol=1e-6)
    np.testing.assert_allclose(frame[["acc_x", "acc_y", "acc_z"]].to_numpy(), h.acc_signal(t), atol=0.01)
    np.testing.assert_allclose(frame[["gyro_x", "gyro_y", "gyro_z"]].to_numpy(), h.gyro_signal(t), atol=0.01)


def test_ten_hz_config_works(make_recording, data_dir, schema):
    make_recording("r1", rates={"accelerometer": 10, "gyroscope": 10}, jitter_s=0.01)
    data = DataConfig(sampling_rate_hz=10, window_size=20, merge_tolerance_ms=60)
    frame, report = ingest_recordings(data_dir, data, schema)
    assert len(frame) == 301 and set(frame["segment"]) == {0}
    np.testing.assert_allclose(np.diff(frame["timestamp"]), 0.1, atol=1e-6)
    assert report.recordings[0]["median_rate_hz"]["accelerometer"] == pytest.approx(10, rel=0.05)


def test_gap_above_tolerance_splits_segments(make_recording, data_dir, data_config, schema):
    make_recording("r1", drop={"gyroscope": [(10.0, 10.3)]})
    frame, report = ingest_recordings(data_dir, data_config, schema)
    assert report.recordings[0]["n_segments"] == 2 and report.issues == []  # under max_gap_s: no warning
    assert frame["segment"].tolist() == sorted(frame["segment"].tolist())
    t = frame["timestamp"].to_numpy() - 1_714_557_600.0
    first, second = t[frame["segment"] == 0], t[frame["segment"] == 1]
    # last gyro sample before the hole is at 9.98 s, first after it at 10.30 s; the grid only reaches
    # merge_tolerance_ms (50 ms) into the hole from either side.
    assert first[-1] == pytest.approx(10.02, abs=1e-6) and second[0] == pytest.approx(10.26, abs=1e-6)


def test_gap_above_max_gap_is_a_warning_and_splits_the_recording(make_recording, data_dir, data_config, schema):
    make_recording("r1", drop={"accelerometer": [(10.0, 12.5)]})
    frame, report = ingest_recordings(data_dir, data_config, schema)
    (warning,) = report.issues
    assert warning.severity == "warning"
    assert (warning.recording, warning.file, warning.column) == ("r1", "accelerometer.csv", "timestamp")
    assert warning.row == 10 * 50 + 2  # first row after the gap (t = 12.5 s is row index 500)
    assert "gap of 2.520 s" in warning.message and "max_gap_s = 1" in warning.message
    assert "2024-05-01T10:00:09.980000+00:00" in warning.message  # the time, not only the line
    assert "2024-05-01T10:00:12.500000+00:00" in warning.message
    assert "split into segments" in warning.message

    assert report.recordings[0]["n_segments"] == 2 and report.skipped == []
    t = frame["timestamp"].to_numpy() - T0
    first, second = t[frame["segment"] == 0], t[frame["segment"] == 1]
    assert first[-1] == pytest.approx(9.98, abs=1e-6) and second[0] == pytest.approx(12.5, abs=1e-6)
    assert not ((t > 9.98 + 1e-6) & (t < 12.5 - 1e-6)).any()  # nothing interpolated inside the gap

    windows = make_windows(frame, data_config, channel_names(data_config, schema))
    assert windows.n_windows > 0
    window_s = (data_config.window_size - 1) / data_config.sampling_rate_hz
    starts = windows.start_times - T0
    assert not ((starts < 12.5 - 1e-6) & (starts + window_s > 9.98 + 1e-6)).any(), "a window spans the gap"


def test_gap_splits_even_with_a_merge_tolerance_wider_than_the_gap(make_recording, data_dir, schema):
    make_recording("r1", drop={"accelerometer": [(10.0, 11.5)]})
    data = DataConfig(merge_tolerance_ms=2000)  # the resampler alone would bridge the 1.52 s hole
    frame, report = ingest_recordings(data_dir, data, schema)
    assert report.recordings[0]["n_segments"] == 2 and "gap of 1.520 s" in report.issues[0].message
    t = frame["timestamp"].to_numpy() - T0
    assert not ((t > 9.98 + 1e-6) & (t < 11.5 - 1e-6)).any()


def test_segment_shorter_than_a_window_is_skipped(make_recording, data_dir, data_config, schema):
    # gaps at 10-12 s and 13-16 s leave a 1 s segment (50 samples < window_size 128) in between
    make_recording("r1", drop={"accelerometer": [(10.0, 12.0), (13.0, 16.0)]})
    frame, report = ingest_recordings(data_dir, data_config, schema)
    gap = next(i for i in report.issues if "gap of" in i.message)
    assert gap.row == 10 * 50 + 2 and gap.more_rows == 1 and "2 such gaps" in gap.message
    short = next(i for i in report.issues if "shorter than one window" in i.message)
    assert short.severity == "warning" and short.recording == "r1" and short.file is None
    assert "1.00 s in total" in short.message and "segment 1" in short.message
    (skipped,) = report.skipped
    assert (skipped.recording, skipped.segment, skipped.seconds) == ("r1", 1, pytest.approx(1.0))
    assert "window_size = 128 samples" in skipped.reason
    assert sorted(set(frame["segment"])) == [0, 2]  # segment ids name the same segments as the report
    t = frame["timestamp"].to_numpy() - T0
    assert not ((t > 9.99) & (t < 15.99)).any()
    assert report.recordings[0]["skipped_s"] == pytest.approx(1.0)
    assert report.summary["n_segments_skipped"] == 1 and report.summary["n_recordings_skipped"] == 0


# --------------------------------------------------------------------------- one test per bad input class


def test_missing_file(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    (folder / "gyroscope.csv").unlink()
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.recording, issue.file) == ("r1", "gyroscope.csv")
    assert "missing" in issue.message and "timestamp,x,y,z" in issue.message


def test_missing_labels_when_required(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=None)
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.file == "labels.csv" and "missing" in issue.message


def test_missing_column(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    lines = [line.rsplit(",", 1)[0] for line in h.read_lines(folder / "accelerometer.csv")]
    h.write_lines(folder / "accelerometer.csv", lines)
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.file, issue.column, issue.row) == ("accelerometer.csv", "z", 1)
    assert str(issue) == (
        "recording 'r1', file accelerometer.csv, column 'z', line 1: missing column 'z' "
        "(expected columns timestamp,x,y,z, found timestamp,x,y)"
    )


def test_misnamed_and_extra_columns(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    lines = h.read_lines(folder / "accelerometer.csv")
    lines[0] = "timestamp,X,y,z,temp"
    lines[1:] = [f"{line},20.0" for line in lines[1:]]
    h.write_lines(folder / "accelerometer.csv", lines)
    issues = ingest_errors(data_dir, data_config, schema)
    messages = [i.message for i in issues]
    assert any("'X' should be named 'x'" in m for m in messages)
    assert any("unexpected column 'temp'" in m for m in messages)


def test_nan_and_empty_cells(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    for line in (17, 30, 31):
        h.set_cell(folder / "accelerometer.csv", line, "y", "NaN")
    h.set_cell(folder / "gyroscope.csv", 5, "x", "")
    issues = ingest_errors(data_dir, data_config, schema)
    assert len(issues) == 2
    acc = next(i for i in issues if i.file == "accelerometer.csv")
    assert str(acc) == (
        "recording 'r1', file accelerometer.csv, column 'y', line 17 (and 2 more rows): "
        "missing value 'NaN' (expected a finite float)"
    )
    gyro = next(i for i in issues if i.file == "gyroscope.csv")
    assert (gyro.column, gyro.row) == ("x", 5) and "empty cell" in gyro.message


def test_non_numeric_and_infinite_values(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("s01_r1")
    h.set_cell(folder / "accelerometer.csv", 17, "x", "abc")
    h.set_cell(folder / "accelerometer.csv", 18, "z", "inf")
    issues = ingest_errors(data_dir, data_config, schema)
    assert str(issues[0]) == (
        "recording 's01_r1', file accelerometer.csv, column 'x', line 17: value 'abc' is not a number "
        "(expected a float)"
    )
    assert (issues[1].column, issues[1].row) == ("z", 18) and "infinite" in issues[1].message


def test_timestamps_going_backwards(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    path = folder / "accelerometer.csv"
    lines = h.read_lines(path)
    lines[40], lines[41] = lines[41], lines[40]  # swap lines 41 and 42
    h.write_lines(path, lines)
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.file, issue.column, issue.row) == ("accelerometer.csv", "timestamp", 42)
    assert "goes backwards" in issue.message and "duplicate" not in issue.message


def test_duplicate_timestamps(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    path = folder / "gyroscope.csv"
    h.set_cell(path, 51, "timestamp", h.get_cell(path, 50, "timestamp"))
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.file, issue.column, issue.row) == ("gyroscope.csv", "timestamp", 51)
    assert issue.message.startswith("duplicate timestamp") and "backwards" not in issue.message


def test_out_of_range_values_after_unit_conversion(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1", meta={"units": {"accelerometer": "m/s^2"}})
    h.set_cell(folder / "accelerometer.csv", 100, "x", "200.0")  # 200 m/s^2 = 20.4 g > 16 g
    h.set_cell(folder / "gyroscope.csv", 7, "z", "-40")
    issues = ingest_errors(data_dir, data_config, schema)
    acc = next(i for i in issues if i.file == "accelerometer.csv")
    assert (acc.column, acc.row) == ("x", 100)
    assert "200 m/s^2 (= 20.3943 g) is outside the plausible range [-16, 16] g" in acc.message
    gyro = next(i for i in issues if i.file == "gyroscope.csv")
    assert (gyro.column, gyro.row) == ("z", 7) and "rad/s" in gyro.message


def test_unknown_label(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1", labels=[("walking", 0, 10), ("jogging", 10, 20), ("cycling", 20, 30)])
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.file, issue.column, issue.row, issue.more_rows) == ("labels.csv", "activity", 3, 1)
    assert "unknown activity 'jogging'" in issue.message
    assert ", ".join(data_config.activities) in issue.message and "cycling" in issue.message
    assert folder.exists()


def test_label_interval_problems(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=[("walking", 0, 10), ("sitting", 8, 20), ("standing", 25, 25)])
    issues = ingest_errors(data_dir, data_config, schema)
    assert len(issues) == 1 and issues[0].row == 4 and "not after start" in issues[0].message
    make_recording("r1", labels=[("walking", 0, 10), ("sitting", 8, 20), ("standing", 20, 25)])
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.row == 3 and "overlaps the interval on line 2" in issue.message


def test_label_outside_recording_is_a_warning(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=[("walking", 0, 30), ("running", 3600, 3700)])
    _, report = ingest_recordings(data_dir, data_config, schema)
    (warning,) = report.issues
    assert (warning.severity, warning.file, warning.row) == ("warning", "labels.csv", 3)
    assert "outside the recording" in warning.message


@pytest.mark.parametrize("content", ["", "timestamp,x,y,z\n"], ids=["zero-bytes", "header-only"])
def test_empty_file(make_recording, data_dir, data_config, schema, content):
    folder = make_recording("r1")
    (folder / "accelerometer.csv").write_text(content)
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.file == "accelerometer.csv"
    assert ("0 bytes" if not content else "no data rows") in issue.message


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_wrong_delimiter(h, make_recording, data_dir, data_config, schema, delimiter):
    folder = make_recording("r1")
    path = folder / "accelerometer.csv"
    h.write_lines(path, [line.replace(",", delimiter) for line in h.read_lines(path)])
    issue = only(ingest_errors(data_dir, data_config, schema))
    shown = delimiter.replace("\t", "\\t").join(["timestamp", "x", "y", "z"])
    assert (issue.file, issue.row) == ("accelerometer.csv", 1)
    assert (
        f"expected comma-separated columns timestamp,x,y,z, found a single column '{shown}' — wrong delimiter"
        in issue.message
    )


def test_row_with_too_many_fields(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    h.set_cell(folder / "accelerometer.csv", 9, "x", "0,5")  # decimal comma
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.row == 9 and "5 fields, expected 4" in issue.message


def test_unparseable_and_mixed_timestamps(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    h.set_cell(folder / "accelerometer.csv", 12, "timestamp", "yesterday")
    h.set_cell(folder / "gyroscope.csv", 20, "timestamp", "2024-05-01T10:00:00.360Z")
    issues = ingest_errors(data_dir, data_config, schema)
    acc = next(i for i in issues if i.file == "accelerometer.csv")
    assert (acc.column, acc.row) == ("timestamp", 12) and "'yesterday' cannot be parsed" in acc.message
    gyro = next(i for i in issues if i.file == "gyroscope.csv")
    assert gyro.row == 20 and "ISO-8601 text but line 2 is numeric epoch milliseconds" in gyro.message


def test_too_slow_stream_is_an_error(make_recording, data_dir, data_config, schema):
    make_recording("fine")
    make_recording("slow", rates={"accelerometer": 20})
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.recording, issue.file) == ("slow", "accelerometer.csv") and "20.00 Hz" in issue.message


def test_too_short_recording_is_skipped_with_a_warning(make_recording, data_dir, data_config, schema):
    make_recording("long")
    make_recording("short", duration_s=5, labels=[("walking", 0, 5)])
    frame, report = ingest_recordings(data_dir, data_config, schema)
    assert frame["recording_id"].unique().tolist() == ["long"]
    assert [r["recording_id"] for r in report.recordings] == ["long"]
    warnings = [i for i in report.issues if i.recording == "short"]
    assert {i.file for i in warnings} == {"accelerometer.csv", "gyroscope.csv"}
    assert all(i.severity == "warning" and "5.02 s long" in i.message for i in warnings)  # 251 samples x 20 ms
    assert all("recording.min_duration_s = 10 s" in i.message and "skipped" in i.message for i in warnings)
    (skipped,) = report.skipped
    assert (skipped.recording, skipped.segment, skipped.seconds) == ("short", None, pytest.approx(5.02))
    assert report.summary["n_recordings_skipped"] == 1 and report.summary["n_recordings_found"] == 2


def test_duration_counts_samples_times_period(make_recording, data_dir, data_config, schema):
    make_recording("ten", duration_s=9.98, labels=[("walking", 0, 10)])  # 500 samples at 50 Hz = 10.0 s
    frame, report = ingest_recordings(data_dir, data_config, schema)
    assert len(frame) == 500 and report.skipped == [] and report.issues == []
    assert report.recordings[0]["duration_s"] == pytest.approx(10.0)
    make_recording("almost", duration_s=9.96, labels=[("walking", 0, 10)])  # 499 samples = 9.98 s
    _, report = ingest_recordings(data_dir, data_config, schema)
    assert [s.recording for s in report.skipped] == ["almost"]


def test_every_recording_skipped_is_an_error_that_says_why(make_recording, data_dir, data_config, schema):
    make_recording("a", duration_s=5)
    make_recording("b", duration_s=3)
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert "every recording was skipped (2 of 2)" in issue.message
    assert "'a': shorter than recording.min_duration_s = 10 s" in issue.message and "'b'" in issue.message


def test_errors_of_all_recordings_are_reported(h, make_recording, data_dir, data_config, schema):
    a = make_recording("a")
    b = make_recording("b")
    make_recording("c")
    (a / "gyroscope.csv").unlink()
    h.set_cell(b / "labels.csv", 3, "activity", "dancing")
    h.set_cell(b / "accelerometer.csv", 44, "x", "oops")
    with pytest.raises(DataValidationError) as info:
        ingest_recordings(data_dir, data_config, schema)
    issues = info.value.issues
    assert [(i.recording, i.file) for i in issues] == [
        ("a", "gyroscope.csv"),
        ("b", "accelerometer.csv"),
        ("b", "labels.csv"),
    ]
    text = str(info.value)
    assert text.startswith("3 problem(s) in the input data:")
    assert "recording 'b', file accelerometer.csv, column 'x', line 44" in text
    assert "recording 'b', file labels.csv, column 'activity', line 3" in text


def test_error_message_is_capped(make_recording, data_dir, data_config, schema):
    for i in range(25):
        folder = make_recording(f"r{i:02d}")
        (folder / "labels.csv").unlink()
    with pytest.raises(DataValidationError) as info:
        ingest_recordings(data_dir, data_config, schema)
    assert len(info.value.issues) == 25
    assert str(info.value).endswith(f"... and {25 - schema.max_issues_reported} more")


def test_discover_recordings_errors(tmp_path):
    with pytest.raises(DataValidationError, match="does not exist"):
        discover_recordings(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataValidationError, match="is a file"):
        discover_recordings(tmp_path / "file.txt")
    (tmp_path / "accelerometer.csv").write_text("timestamp,x,y,z\n")
    with pytest.raises(DataValidationError, match="no recordings.*accelerometer.csv directly"):
        discover_recordings(tmp_path)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    assert [p.name for p in discover_recordings(tmp_path)] == ["a", "b"]


def test_epoch_seconds_instead_of_milliseconds_is_explained(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    path = folder / "accelerometer.csv"
    lines = h.read_lines(path)
    lines[1:] = [f"{int(line.split(',', 1)[0]) / 1000:.3f},{line.split(',', 1)[1]}" for line in lines[1:]]
    h.write_lines(path, lines)
    issues = ingest_errors(data_dir, data_config, schema)
    assert all(i.file == "accelerometer.csv" for i in issues)
    assert any("these look like seconds" in i.message for i in issues)


def test_streams_that_do_not_overlap_are_an_error(make_recording, data_dir, data_config, schema):
    make_recording("r1", offsets_s={"gyroscope": 40.0})
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.recording == "r1" and issue.file is None and "do not overlap" in issue.message


def test_si_accelerometer_without_declared_unit_is_an_error(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1", meta={"units": {"accelerometer": "m/s^2"}})
    (folder / "meta.json").unlink()  # the file is in m/s^2 but nobody says so
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.recording, issue.file, issue.row) == ("r1", "accelerometer.csv", None)
    assert issue.message.startswith("median acceleration magnitude is 10.6 g when read as g")
    assert "it looks like m/s^2" in issue.message
    assert '"units": {"accelerometer": "m/s^2"}' in issue.message
    assert "schema.streams.accelerometer.input_unit" in issue.message


def test_g_data_declared_as_si_is_an_error(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")  # written in g
    (folder / "meta.json").write_text(json.dumps({"units": {"accelerometer": "m/s^2"}}))
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.file == "accelerometer.csv" and "read as m/s^2" in issue.message
    assert "it looks like g" in issue.message and '"units": {"accelerometer": "g"}' in issue.message


def test_linear_acceleration_skips_the_unit_check(make_recording, data_dir, schema):
    folder = make_recording("r1", meta={"units": {"accelerometer": "m/s^2"}})
    (folder / "meta.json").write_text("{}")
    frame, report = ingest_recordings(data_dir, DataConfig(linear_acceleration=True), schema)
    assert report.issues == [] and frame["acc_z"].max() > 9.0  # taken as written: the user said so


def test_issue_round_trip_and_formatting():
    issue = Issue.warning("odd", recording="r", file="f.csv", column="x", row=3, more_rows=1)
    assert Issue.from_dict(json.loads(json.dumps(issue.to_dict()))) == issue
    assert str(issue) == "warning: recording 'r', file f.csv, column 'x', line 3 (and 1 more row): odd"
    assert str(Issue.error("plain")) == "plain"
    err = DataValidationError([Issue.error("a"), Issue.error("b")], max_reported=1)
    assert str(err) == "2 problem(s) in the input data:\n  - a\n  ... and 1 more"
    assert isinstance(err, ValueError)


# --------------------------------------------------------------------------- the dataset profile's schema fields


EPOCH_MS_TO = {
    "s": lambda ms: (ms.astype(np.int64) / 1000).map(lambda v: f"{v:.3f}"),
    "us": lambda ms: (ms.astype(np.int64) * 1000).astype(str),
    "ns": lambda ms: (ms.astype(np.int64) * 1_000_000).astype(str),
}


@pytest.mark.parametrize("unit", ["s", "us", "ns"])
def test_numeric_timestamps_in_the_schema_unit(h, tmp_path, data_config, schema, unit):
    h.write_recording(tmp_path / "ms", "r1")
    folder = h.write_recording(tmp_path / unit, "r1")
    for name in ("accelerometer.csv", "gyroscope.csv"):
        rewrite(folder / name, {"timestamp": EPOCH_MS_TO[unit]})
    rewrite(folder / "labels.csv", {"start": EPOCH_MS_TO[unit], "end": EPOCH_MS_TO[unit]})
    expected, _ = ingest_recordings(tmp_path / "ms", data_config, schema)
    frame, report = ingest_recordings(tmp_path / unit, data_config, schema_with(schema, timestamp_unit=unit))
    assert report.issues == []
    np.testing.assert_allclose(frame["timestamp"], expected["timestamp"], rtol=0, atol=1e-6)
    assert frame.drop(columns="timestamp").equals(expected.drop(columns="timestamp"))


def test_timestamp_unit_hint_names_the_unit_the_data_looks_like(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    for name in ("accelerometer.csv", "gyroscope.csv"):
        rewrite(folder / name, {"timestamp": EPOCH_MS_TO["us"]})
    issues = ingest_errors(data_dir, data_config, schema)  # declared ms, written in us: 20 "s" per sample
    assert {i.file for i in issues} == {"accelerometer.csv", "gyroscope.csv"}
    assert all("0.05 Hz" in i.message and "these look like microseconds" in i.message for i in issues)
    assert all("set timestamp_unit: us" in i.message and "multiply them by 0.001" in i.message for i in issues)

    issues = ingest_errors(data_dir, data_config, schema_with(schema, timestamp_unit="s"))  # us read as s
    assert all("these look like microseconds" in i.message for i in issues)


def write_combined(folder: Path) -> None:
    """Merge a recording's accelerometer.csv and gyroscope.csv into imu.csv (time,ax,ay,az,gx,gy,gz,temp)."""
    acc = pd.read_csv(folder / "accelerometer.csv", dtype=str)
    gyro = pd.read_csv(folder / "gyroscope.csv", dtype=str)
    imu = pd.DataFrame({"time": acc["timestamp"], "ax": acc["x"], "ay": acc["y"], "az": acc["z"],
                        "gx": gyro["x"], "gy": gyro["y"], "gz": gyro["z"], "temp": "21.5"})
    imu.to_csv(folder / "imu.csv", index=False)
    (folder / "accelerometer.csv").unlink()
    (folder / "gyroscope.csv").unlink()


COMBINED = {
    "timestamp_column": "time",
    "streams": {
        "accelerometer": {"file": "imu.csv", "columns": ["time", "ax", "ay", "az"]},
        "gyroscope": {"file": "imu.csv", "columns": ["time", "gx", "gy", "gz"]},
    },
    "ignore_columns": ["temp"],
}


def test_combined_file_with_renamed_columns_is_read_once(h, tmp_path, data_config, schema, monkeypatch):
    h.write_recording(tmp_path / "separate", "r1")
    write_combined(h.write_recording(tmp_path / "combined", "r1"))
    expected, _ = ingest_recordings(tmp_path / "separate", data_config, schema)
    calls = []
    read = har.ingest._read_stream_file
    monkeypatch.setattr(
        har.ingest, "_read_stream_file", lambda folder, file, *args: calls.append(file) or read(folder, file, *args)
    )
    combined = schema_with(schema, **COMBINED)
    assert combined.file_columns("imu.csv") == ["time", "ax", "ay", "az", "gx", "gy", "gz"]
    frame, report = ingest_recordings(tmp_path / "combined", data_config, combined)
    assert calls == ["imu.csv"]  # one read per recording for both streams
    assert report.issues == [] and report.recordings[0]["n_rows"] == {"accelerometer": 1501, "gyroscope": 1501}
    pd.testing.assert_frame_equal(frame, expected)


def test_combined_file_errors_name_the_file_column_once(h, tmp_path, data_config, schema):
    folder = h.write_recording(tmp_path, "r1")
    write_combined(folder)
    h.set_cell(folder / "imu.csv", 30, "gy", "abc")
    h.set_cell(folder / "imu.csv", 51, "time", h.get_cell(folder / "imu.csv", 50, "time"))
    issues = ingest_errors(tmp_path, data_config, schema_with(schema, **COMBINED))
    assert [(i.file, i.column, i.row) for i in issues] == [("imu.csv", "gy", 30), ("imu.csv", "time", 51)]
    assert "duplicate timestamp" in issues[1].message  # the shared timeline is checked once


def test_ignore_columns_allows_listed_extra_columns_only(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    lines = h.read_lines(folder / "accelerometer.csv")
    h.write_lines(folder / "accelerometer.csv", [lines[0] + ",temp,note"] + [f"{line},20.5,ok" for line in lines[1:]])
    issue = only(ingest_errors(data_dir, data_config, schema_with(schema, ignore_columns=["temp"])))
    assert (issue.file, issue.column, issue.row) == ("accelerometer.csv", "note", 1)
    assert "unexpected column 'note'" in issue.message and "ignore_columns" in issue.message
    frame, report = ingest_recordings(data_dir, data_config, schema_with(schema, ignore_columns=["temp", "note"]))
    assert report.issues == [] and "temp" not in frame.columns


def test_renamed_label_columns(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    rewrite(folder / "labels.csv", {}, rename={"start": "from", "end": "to", "activity": "label"})
    renamed = schema_with(schema, labels={"columns": ["from", "to", "label"]})
    frame, _ = ingest_recordings(data_dir, data_config, renamed)
    assert set(frame["activity"]) == {"walking", "sitting", ""}
    issues = ingest_errors(data_dir, data_config, schema)
    assert {i.file for i in issues} == {"labels.csv"} and "missing column 'start'" in issues[0].message


def test_activity_names_and_ignore_activities(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=[("walk", 0, 10), ("null", 10, 12), ("sitting", 12, 30), ("transition", 5, 6)])
    profile = schema_with(
        schema, labels={"activity_names": {"walk": "walking"}, "ignore_activities": ["null", "transition"]}
    )
    frame, report = ingest_recordings(data_dir, data_config, profile)
    t = frame["timestamp"].to_numpy() - T0
    activity = frame["activity"].to_numpy()
    assert set(activity[t < 10 - 1e-6]) == {"walking"}  # the ignored interval inside it may overlap
    assert set(activity[(t > 10 + 1e-6) & (t < 12 - 1e-6)]) == {""}  # ignored: unlabelled
    assert set(activity[(t > 12 + 1e-6) & (t < 30 - 1e-6)]) == {"sitting"}
    assert report.recordings[0]["n_label_intervals"] == 2 and report.recordings[0]["n_ignored_label_intervals"] == 2

    make_recording("r1", labels=[("walk", 0, 10), ("jog", 10, 20)])
    issue = only(ingest_errors(data_dir, data_config, profile))
    assert (issue.column, issue.row) == ("activity", 3) and "unknown activity 'jog'" in issue.message
    assert "walk (-> walking)" in issue.message and "null, transition" in issue.message
    assert ", ".join(data_config.activities) in issue.message


def test_activity_name_mapped_to_an_unknown_activity(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=[("walk", 0, 30)])
    issue = only(ingest_errors(data_dir, data_config, schema_with(schema, labels={"activity_names": {"walk": "Walk"}})))
    assert "unknown activity 'walk'" in issue.message and "renames it to 'Walk'" in issue.message


def test_input_unit_is_the_default_and_meta_json_overrides_it(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("si", meta={"units": {"accelerometer": "m/s^2", "gyroscope": "deg/s"}})
    (folder / "meta.json").unlink()  # written in the profile's input units, nothing declared per recording
    make_recording("g", meta={"units": {"accelerometer": "g", "gyroscope": "rad/s"}})
    profile = schema_with(
        schema, streams={"accelerometer": {"input_unit": "m/s^2"}, "gyroscope": {"input_unit": "deg/s"}}
    )
    frame, report = ingest_recordings(data_dir, data_config, profile)
    assert report.issues == []
    assert {r["recording_id"]: r["units"] for r in report.recordings} == {
        "g": {"accelerometer": "g", "gyroscope": "rad/s"},
        "si": {"accelerometer": "m/s^2", "gyroscope": "deg/s"},
    }
    for rid in ("g", "si"):
        one = frame[frame["recording_id"] == rid]
        t = one["timestamp"].to_numpy() - T0
        np.testing.assert_allclose(one[["acc_x", "acc_y", "acc_z"]].to_numpy(), h.acc_signal(t), atol=1e-5)
        np.testing.assert_allclose(one[["gyro_x", "gyro_y", "gyro_z"]].to_numpy(), h.gyro_signal(t), atol=1e-5)

    (data_dir / "g" / "meta.json").unlink()  # now g data is read in the profile's m/s^2
    issue = only(ingest_errors(data_dir, data_config, profile))
    assert (issue.recording, issue.file) == ("g", "accelerometer.csv")
    assert "read as m/s^2" in issue.message and "it looks like g" in issue.message


def test_progress_is_reported_per_recording(make_recording, data_dir, data_config, schema):
    for rid in ("a", "b", "c"):
        make_recording(rid)
    seen = []
    ingest_recordings(data_dir, data_config, schema, progress=lambda done, total, rid: seen.append((done, total, rid)))
    assert seen == [(1, 3, "a"), (2, 3, "b"), (3, 3, "c")]


def test_recording_whose_segments_are_all_shorter_than_a_window(make_recording, data_dir, schema):
    make_recording("r1", drop={"accelerometer": [(10.0, 12.0), (20.0, 22.0)]})
    data = DataConfig(window_size=1024)  # 20.48 s: no segment (10 s, 8 s, 8 s) holds one window
    issue = only(ingest_errors(data_dir, data, schema))
    assert "every recording was skipped (1 of 1)" in issue.message
    assert "'r1' segment 0: shorter than one window (window_size = 1024 samples" in issue.message


# --------------------------------------------------------------------------- damaged files


def test_non_utf8_labels_are_reported_at_the_line_of_the_bad_byte(make_recording, data_dir, data_config, schema):
    folder = make_recording()
    labels = (folder / "labels.csv").read_bytes().splitlines(keepends=True)
    labels[2] = labels[2].replace(b"sitting", "sïtting".encode("latin-1"))
    (folder / "labels.csv").write_bytes(b"".join(labels))
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.file == "labels.csv" and issue.row == 3 and "not UTF-8" in issue.message and "ef" in issue.message


def test_non_utf8_stream_is_reported_at_its_line(make_recording, data_dir, data_config, schema):
    folder = make_recording()
    lines = (folder / "accelerometer.csv").read_bytes().splitlines(keepends=True)
    lines[40] = lines[40].replace(b",", b"\xff,", 1)
    (folder / "accelerometer.csv").write_bytes(b"".join(lines))
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert issue.file == "accelerometer.csv" and issue.row == 41 and "not UTF-8" in issue.message


def test_a_file_cut_off_in_its_last_number_is_reported_and_the_row_left_out(
    make_recording, data_dir, data_config, schema
):
    folder = make_recording()
    path = folder / "accelerometer.csv"
    text = path.read_text()
    n_lines = text.count("\n")
    path.write_text(text.rstrip("\n")[:-2])  # "...,0.98123" -> "...,0.981": still parses as a number
    frame, report = ingest_recordings(data_dir, data_config, schema)
    cut = [issue for issue in report.issues if "cut off" in issue.message]
    assert len(cut) == 1 and cut[0].severity == "warning"
    assert cut[0].file == "accelerometer.csv" and cut[0].row == n_lines
    assert len(frame) > 0


def test_a_complete_file_without_final_line_break_loses_only_that_row(make_recording, data_dir, data_config, schema):
    folder = make_recording()
    path = folder / "labels.csv"
    path.write_text(path.read_text().rstrip("\n"))
    _, report = ingest_recordings(data_dir, data_config, schema)
    assert any(issue.file == "labels.csv" and "cut off" in issue.message for issue in report.warnings)
