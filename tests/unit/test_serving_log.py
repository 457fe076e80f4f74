"""The serving log: real files written by the real writer, read back by the monitoring side."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from har.outcomes import BadInput
from har.serving_log import (
    ServingLogSettings,
    ServingLogWriter,
    default_log_dir,
    enforce_limits,
    read_serving_log,
    segment_files,
)

CLASSES = ["walking", "sitting", "standing"]
CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


def windows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 16, 6)).astype(np.float32)


def probabilities(n: int, seed: int = 0) -> np.ndarray:
    p = np.random.default_rng(seed).random((n, 3)).astype(np.float32)
    return p / p.sum(axis=1, keepdims=True)


def writer(tmp_path: Path, **settings) -> ServingLogWriter:
    return ServingLogWriter(ServingLogSettings(enabled=True, dir=str(tmp_path / "log"), **settings),
                            "har-test", "7", CLASSES, CHANNELS)


def test_round_trip_with_real_files(tmp_path):
    log = writer(tmp_path, segment_records=8)
    x1, p1 = windows(5, 1), probabilities(5, 1)
    x2, p2 = windows(6, 2), probabilities(6, 2)
    starts = 1_700_000_000_000.0 + 2560.0 * np.arange(6)
    assert log.record("/predict", x1, p1)
    assert log.record("/predict_stream", x2, p2, stream_id="watch-1", window_start_ms=starts)
    log.close()
    assert log.written == 11 and log.dropped == 0
    files = segment_files(tmp_path / "log")
    assert files and all(f.name.startswith("seg-") and f.suffix == ".npz" for f in files)
    records = read_serving_log(tmp_path / "log")
    assert records.n_windows == 11 and records.n_streams == 2
    assert records.class_names == CLASSES and records.channel_names == CHANNELS
    assert records.model_versions == ["7"] and records.model_name == "har-test"
    stream = records.stream_id == "watch-1"
    np.testing.assert_array_equal(records.windows[stream], x2)  # sorted by start time, as sent
    np.testing.assert_allclose(records.probabilities[stream], p2)
    np.testing.assert_array_equal(records.window_start_ms[stream], starts)
    assert set(records.endpoint) == {"/predict", "/predict_stream"}
    assert np.isnan(records.window_start_ms[~stream]).all()
    assert "11 windows, 2 streams, model versions 7" in records.describe()
    with np.load(files[0], allow_pickle=False) as content:  # pickle-free
        assert {"received_at", "stream_id", "probabilities", "windows", "model_version", "endpoint",
                "class_names", "channel_names", "window_start_ms"} <= set(content.files)


def test_without_windows_only_predictions_are_logged(tmp_path):
    log = writer(tmp_path, include_windows=False)
    log.record("/predict", windows(4), probabilities(4))
    log.close()
    with np.load(segment_files(tmp_path / "log")[0], allow_pickle=False) as content:
        assert content["windows"].size == 0
    records = read_serving_log(tmp_path / "log")
    assert records.windows is None and records.probabilities.shape == (4, 3)


def test_sampling_logs_a_share_of_requests(tmp_path):
    log = writer(tmp_path, sample_rate=0.25)
    log._random.seed(3)
    kept = sum(log.record("/predict", windows(1), probabilities(1)) for _ in range(2000))
    log.close()
    assert 400 < kept < 600 and log.sampled_out == 2000 - kept
    assert read_serving_log(tmp_path / "log").n_windows == kept


def test_full_queue_drops_and_counts_without_blocking(tmp_path):
    from har.serving_log import _Segment

    log = writer(tmp_path, segment_records=10, flush_seconds=3600)
    with log._lock:  # as if the writer thread were stuck on a slow disk: every write-behind slot taken
        stuck = [_Segment(10) for _ in range(log.max_full_segments)]
        log._full.extend(stuck)
    for _ in range(5):  # the segment being filled still takes 10 windows
        assert log.record("/predict", windows(2), probabilities(2))
    started = time.perf_counter()
    for _ in range(1000):
        assert not log.record("/predict", windows(2), probabilities(2))
    assert time.perf_counter() - started < 1.0
    assert log.dropped == 2000
    with log._lock:
        log._full.clear()
    log.close()
    assert read_serving_log(tmp_path / "log").n_windows == 10


def test_record_is_cheap_on_the_request_path(tmp_path):
    log = writer(tmp_path, segment_records=4096)
    x, p = windows(64), probabilities(64)
    started = time.perf_counter()
    for _ in range(200):
        log.record("/predict", x, p)
    per_call = (time.perf_counter() - started) / 200
    log.close()
    assert per_call < 0.002, per_call  # a queue append, no copy and no I/O
    assert log.written + log.dropped == 200 * 64


def test_max_bytes_deletes_the_oldest_segments(tmp_path):
    folder = tmp_path / "log"
    log = ServingLogWriter(ServingLogSettings(enabled=True, dir=str(folder), segment_records=64,
                                              max_bytes=1024 * 1024), "har-test", "7", CLASSES, CHANNELS)
    big = np.random.default_rng(0).normal(size=(64, 128, 6)).astype(np.float32)  # ~200 KB per segment
    for _ in range(12):
        log.record("/predict", big, probabilities(64))
        assert log.flush()
    log.close()
    files = segment_files(folder)
    assert sum(f.stat().st_size for f in files) <= 1024 * 1024
    assert 2 <= len(files) < 12 and log.segments_written == 12
    assert files[-1].name.endswith(f"-{12:06d}.npz")  # the newest are kept


def test_retention_deletes_old_segments(tmp_path):
    log = writer(tmp_path)
    log.record("/predict", windows(3), probabilities(3))
    log.close()
    folder = tmp_path / "log"
    (old,) = segment_files(folder)
    eight_days = time.time() - 8 * 86400
    os.utime(old, (eight_days, eight_days))
    assert enforce_limits(folder, 10**9, retention_days=7.0) == [old]
    assert segment_files(folder) == []


def test_leftover_temp_and_corrupt_files_are_skipped(tmp_path, caplog):
    log = writer(tmp_path)
    log.record("/predict", windows(3), probabilities(3))
    log.close()
    folder = tmp_path / "log"
    (folder / ".tmp-seg-20990101T000000.000000-1-000001.npz").write_bytes(b"half a file")
    (folder / "seg-20200101T000000.000000-1-000001.npz").write_bytes(b"PK\x03\x04 truncated")
    records = read_serving_log(folder)
    assert records.n_windows == 3 and records.skipped_files == 1
    assert "skipped unreadable segment" in caplog.text


def test_time_range_filter(tmp_path):
    log = writer(tmp_path)
    log.record("/predict", windows(2), probabilities(2))
    assert log.flush()
    middle = datetime.now(UTC)
    time.sleep(0.02)
    log.record("/predict", windows(3), probabilities(3))
    log.close()
    folder = tmp_path / "log"
    assert read_serving_log(folder, until=middle).n_windows == 2
    assert read_serving_log(folder, since=middle).n_windows == 3
    assert read_serving_log(folder, since=middle - timedelta(hours=1)).n_windows == 5
    with pytest.raises(BadInput, match=r"no record in .*widen --since/--until"):
        read_serving_log(folder, since=middle + timedelta(hours=1))


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(BadInput, match=r"does not exist .*serving_log.enabled"):
        read_serving_log(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match=r"holds no segment files"):
        read_serving_log(tmp_path / "empty")


@pytest.mark.parametrize("field, value, message", [
    ("sample_rate", 0.0, "sample_rate"), ("sample_rate", 1.5, "sample_rate"), ("dir", "relative/path", "dir"),
    ("max_bytes", 10, "max_bytes"), ("retention_days", 0, "retention_days"), ("enabled", "yes", "enabled"),
    ("segment_records", 0, "segment_records"), ("flush_seconds", -1, "flush_seconds"),
])
def test_settings_are_validated(field, value, message):
    with pytest.raises(ValueError, match=rf"serving_log\.{message}"):
        ServingLogSettings(**{field: value})


def test_settings_from_dict():
    assert ServingLogSettings.from_dict(None) == ServingLogSettings() and not ServingLogSettings().enabled
    settings = ServingLogSettings.from_dict({"enabled": True, "sample_rate": 0.5})
    assert settings.sample_rate == 0.5 and ServingLogSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown setting.*sample_rat"):
        ServingLogSettings.from_dict({"sample_rat": 0.5})


def test_default_dir_is_inside_the_zenml_store(monkeypatch, tmp_path):
    from zenml.config.global_config import GlobalConfiguration

    assert default_log_dir("har-x") == Path(GlobalConfiguration().local_stores_path) / "serving_log" / "har-x"


def test_the_deploy_config_has_the_log_off_and_valid():
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "deploy.yaml").read_text())
    settings = ServingLogSettings.from_dict(config["steps"]["package_model"]["parameters"]["serving_log"])
    assert settings.enabled is False  # personal data: opt-in


def test_parse_moment_iso_and_relative():
    from har.serving_log import parse_moment

    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_moment("1h", now) == datetime(2026, 5, 1, 11, 0, tzinfo=UTC)
    assert parse_moment("30m", now) == datetime(2026, 5, 1, 11, 30, tzinfo=UTC)
    assert parse_moment("2d", now) == datetime(2026, 4, 29, 12, 0, tzinfo=UTC)
    assert parse_moment("2026-05-01T10:00:00Z") == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_moment("2026-05-01T12:00:00+02:00") == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert parse_moment("2026-05-01T10:00") == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)  # naive: UTC
    with pytest.raises(ValueError, match="not a time.*30m, 1h"):
        parse_moment("yesterday")


def test_counts_are_reported_from_the_writer_thread_not_the_request_path(tmp_path):
    import threading

    reports, threads = [], set()

    def report(outcome: str, n: int) -> None:
        reports.append((outcome, n))
        threads.add(threading.current_thread().name)

    log = ServingLogWriter(ServingLogSettings(enabled=True, dir=str(tmp_path / "log"), sample_rate=0.5),
                           "har-test", "7", CLASSES, CHANNELS, report=report)
    for i in range(200):
        log.record("/predict", windows(2, i), probabilities(2, i))
    assert reports == []  # nothing reported while recording
    assert log.flush(10)
    log.close()
    totals = {outcome: sum(n for o, n in reports if o == outcome) for outcome in ("logged", "sampled_out")}
    assert totals["logged"] == log.written and totals["sampled_out"] == log.sampled_out
    assert totals["logged"] + totals["sampled_out"] == 400
    assert threads == {"har-serving-log"}


def test_a_request_larger_than_a_segment_is_split_across_segments(tmp_path):
    log = writer(tmp_path, segment_records=10)
    assert log.record("/predict_stream", windows(25), probabilities(25), "watch-1",
                      np.arange(25, dtype=np.float64) * 1280.0)
    assert log.flush(10)
    log.close()
    records = read_serving_log(tmp_path / "log")
    assert records.n_windows == 25 and len(segment_files(tmp_path / "log")) == 3
    np.testing.assert_array_equal(np.sort(records.window_start_ms), np.arange(25) * 1280.0)
    assert set(records.stream_id) == {"watch-1"}
