import json

import numpy as np
import pandas as pd
import pytest

from har.config import DataConfig, channel_names
from har.errors import DataValidationError, Issue
from har.ingest import discover_recordings, ingest_recordings


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


# --------------------------------------------------------------------------- happy path


def test_clean_recordings_give_resampled_labelled_frame(h, make_recording, data_dir, data_config, schema):
    make_recording("s02_r1")
    make_recording("s01_r1")
    frame, facts = ingest_recordings(data_dir, data_config, schema)

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

    json.dumps(facts)  # JSON-serialisable
    assert [f["recording_id"] for f in facts] == ["s01_r1", "s02_r1"]
    assert facts[0]["n_rows"] == {"accelerometer": 1501, "gyroscope": 1501}
    assert facts[0]["median_rate_hz"]["accelerometer"] == pytest.approx(50.0)
    assert facts[0]["duration_s"] == pytest.approx(30.0)
    assert facts[0]["n_segments"] == 1 and facts[0]["warnings"] == []


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
    frame, facts = ingest_recordings(data_dir, data_config, schema)
    t = frame["timestamp"].to_numpy() - frame["timestamp"].iloc[0]
    np.testing.assert_allclose(frame[["acc_x", "acc_y", "acc_z"]].to_numpy(), h.acc_signal(t), atol=1e-5)
    np.testing.assert_allclose(frame[["gyro_x", "gyro_y", "gyro_z"]].to_numpy(), h.gyro_signal(t), atol=1e-5)
    assert facts[0]["units"] == {"accelerometer": "m/s^2", "gyroscope": "deg/s"}
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
    frame, facts = ingest_recordings(data_dir, data_config, schema)
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
    frame, facts = ingest_recordings(data_dir, data, schema)
    assert [c for c in frame.columns if c.startswith(("acc", "gyro"))] == ["acc_x", "acc_y", "acc_z"]
    assert list(facts[0]["n_rows"]) == ["accelerometer"]


def test_labels_optional_for_inference(make_recording, data_dir, data_config, schema):
    make_recording("r1", labels=None)
    frame, facts = ingest_recordings(data_dir, data_config, schema, require_labels=False)
    assert set(frame["activity"]) == {""}
    assert facts[0]["n_label_intervals"] is None


def test_invalid_labels_are_only_warnings_for_inference(h, make_recording, data_dir, data_config, schema):
    folder = make_recording("r1")
    h.set_cell(folder / "labels.csv", 2, "activity", "jogging")
    frame, facts = ingest_recordings(data_dir, data_config, schema, require_labels=False)
    assert set(frame["activity"]) == {""}
    assert any("jogging" in w["message"] for w in facts[0]["warnings"])


def test_mixed_rates_with_jitter_reconstruct_the_signal(h, make_recording, data_dir, data_config, schema):
    make_recording("r1", rates={"accelerometer": 50, "gyroscope": 100}, jitter_s=0.003)
    frame, facts = ingest_recordings(data_dir, data_config, schema)
    assert facts[0]["median_rate_hz"]["gyroscope"] == pytest.approx(100, rel=0.02)
    assert set(frame["segment"]) == {0}
    assert len(frame) >= 1495
    t = frame["timestamp"].to_numpy() - 1_714_557_600.0
    np.testing.assert_allclose(np.diff(frame["timestamp"]), 0.02, atol=1e-6)
    np.testing.assert_allclose(frame[["acc_x", "acc_y", "acc_z"]].to_numpy(), h.acc_signal(t), atol=0.01)
    np.testing.assert_allclose(frame[["gyro_x", "gyro_y", "gyro_z"]].to_numpy(), h.gyro_signal(t), atol=0.01)


def test_ten_hz_config_works(make_recording, data_dir, schema):
    make_recording("r1", rates={"accelerometer": 10, "gyroscope": 10}, jitter_s=0.01)
    data = DataConfig(sampling_rate_hz=10, window_size=20, merge_tolerance_ms=60)
    frame, facts = ingest_recordings(data_dir, data, schema)
    assert len(frame) == 301 and set(frame["segment"]) == {0}
    np.testing.assert_allclose(np.diff(frame["timestamp"]), 0.1, atol=1e-6)
    assert facts[0]["median_rate_hz"]["accelerometer"] == pytest.approx(10, rel=0.05)


def test_gap_above_tolerance_splits_segments(make_recording, data_dir, data_config, schema):
    make_recording("r1", drop={"gyroscope": [(10.0, 10.3)]})
    frame, facts = ingest_recordings(data_dir, data_config, schema)
    assert facts[0]["n_segments"] == 2
    assert frame["segment"].tolist() == sorted(frame["segment"].tolist())
    t = frame["timestamp"].to_numpy() - 1_714_557_600.0
    first, second = t[frame["segment"] == 0], t[frame["segment"] == 1]
    # last gyro sample before the hole is at 9.98 s, first after it at 10.30 s; the grid only reaches
    # merge_tolerance_ms (50 ms) into the hole from either side.
    assert first[-1] == pytest.approx(10.02, abs=1e-6) and second[0] == pytest.approx(10.26, abs=1e-6)


def test_gap_above_max_gap_is_an_error(make_recording, data_dir, data_config, schema):
    make_recording("r1", drop={"accelerometer": [(10.0, 12.5)]})
    issue = only(ingest_errors(data_dir, data_config, schema))
    assert (issue.file, issue.column) == ("accelerometer.csv", "timestamp")
    assert issue.row == 10 * 50 + 2  # first row after the gap (t = 12.5 s is row index 500)
    assert "gap of 2.520 s" in issue.message and "max_gap_s = 1" in issue.message


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
    _, facts = ingest_recordings(data_dir, data_config, schema)
    (warning,) = facts[0]["warnings"]
    assert (
        warning["severity"] == "warning"
        and warning["row"] == 3
        and "outside the recording" in warning["message"]
    )


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


def test_too_short_and_too_slow_streams(make_recording, data_dir, data_config, schema):
    make_recording("short", duration_s=5)
    make_recording("slow", rates={"accelerometer": 20})
    issues = ingest_errors(data_dir, data_config, schema)
    by_recording = {i.recording: i for i in issues}
    assert set(by_recording) == {"short", "slow"}
    assert "5.00 s long" in by_recording["short"].message
    assert by_recording["slow"].file == "accelerometer.csv" and "20.00 Hz" in by_recording["slow"].message


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


def test_si_accelerometer_without_declared_unit_is_flagged(make_recording, data_dir, data_config, schema):
    folder = make_recording("r1", meta={"units": {"accelerometer": "m/s^2"}})
    (folder / "meta.json").unlink()  # the file is in m/s^2 but nobody says so
    _, facts = ingest_recordings(data_dir, data_config, schema)
    (warning,) = facts[0]["warnings"]
    assert warning["file"] == "accelerometer.csv" and "is the file in m/s^2" in warning["message"]


def test_issue_round_trip_and_formatting():
    issue = Issue.warning("odd", recording="r", file="f.csv", column="x", row=3, more_rows=1)
    assert Issue.from_dict(json.loads(json.dumps(issue.to_dict()))) == issue
    assert str(issue) == "warning: recording 'r', file f.csv, column 'x', line 3 (and 1 more row): odd"
    assert str(Issue.error("plain")) == "plain"
    err = DataValidationError([Issue.error("a"), Issue.error("b")], max_reported=1)
    assert str(err) == "2 problem(s) in the input data:\n  - a\n  ... and 1 more"
    assert isinstance(err, ValueError)
