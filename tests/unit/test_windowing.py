import numpy as np
import pandas as pd
import pytest

from har.config import DataConfig
from har.windowing import (
    UNLABELLED,
    encode_labels,
    label_windows,
    make_windows,
    segment_bounds,
    sliding_windows,
    window_starts,
)


def test_window_starts_respect_segments_and_step():
    starts = window_starts(np.array([0, 10, 13]), np.array([10, 13, 30]), window=4, step=2)
    # segment [0,10): 0,2,4,6 ; [10,13): too short ; [13,30): 13,15,...,25
    assert starts.tolist() == [0, 2, 4, 6, 13, 15, 17, 19, 21, 23, 25]


def test_window_starts_empty_and_invalid():
    assert window_starts(np.array([0]), np.array([3]), window=4, step=1).size == 0
    with pytest.raises(ValueError):
        window_starts(np.array([0]), np.array([3]), window=0, step=1)


def test_sliding_windows_match_naive_copy():
    values = np.arange(40, dtype=np.float32).reshape(20, 2)
    starts = np.array([0, 3, 16])
    windows = sliding_windows(values, starts, 4)
    assert windows.shape == (3, 4, 2) and windows.flags["C_CONTIGUOUS"]
    for i, s in enumerate(starts):
        np.testing.assert_array_equal(windows[i], values[s : s + 4])
    windows[0, 0, 0] = -1  # a copy, not a view of the input
    assert values[0, 0] == 0


def test_sliding_windows_rejects_out_of_bounds():
    with pytest.raises(ValueError, match="out of bounds"):
        sliding_windows(np.zeros((10, 3), np.float32), np.array([7]), 4)


def test_segment_bounds_split_on_any_key():
    rec = np.array(["a", "a", "a", "b", "b"])
    seg = np.array([0, 0, 1, 0, 0])
    starts, ends = segment_bounds(rec, seg)
    assert starts.tolist() == [0, 2, 3] and ends.tolist() == [2, 3, 5]


def test_majority_and_drop_mixed_policies():
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, -1, -1, -1, -1])
    starts = np.array([0, 2, 4, 8])
    assert label_windows(labels, starts, 4, 2, "majority", 0.6).tolist() == [0, 1, 1, UNLABELLED]
    # window at 2 is [0,1,1,1] -> majority 1 (0.75) but mixed
    assert label_windows(labels, starts, 4, 2, "drop_mixed").tolist() == [UNLABELLED, UNLABELLED, 1, UNLABELLED]
    # 50/50 window fails a 0.6 purity requirement
    assert label_windows(np.array([0, 0, 1, 1]), np.array([0]), 4, 2, "majority", 0.6).tolist() == [UNLABELLED]
    with pytest.raises(ValueError, match="unknown label policy"):
        label_windows(labels, starts, 4, 2, "vote")


def test_encode_labels_rejects_unknown():
    assert encode_labels(np.array(["b", "", "a"]), ["a", "b"]).tolist() == [1, UNLABELLED, 0]
    with pytest.raises(ValueError, match="jogging"):
        encode_labels(np.array(["a", "jogging"]), ["a", "b"])


def _frame(n_per_recording=(50, 30), rate=10.0):
    parts = []
    for r, n in enumerate(n_per_recording):
        t = 1000.0 + np.arange(n) / rate
        parts.append(pd.DataFrame({
            "recording_id": f"rec{r}", "subject": f"s{r}", "segment": np.where(np.arange(n) < n // 2, 0, 1),
            "timestamp": t, "acc_x": np.arange(n, dtype=np.float32) + 100 * r, "acc_y": 0.0, "acc_z": 1.0,
            "activity": np.where(np.arange(n) < 10, "", "walking"),
        }))
    return pd.concat(parts, ignore_index=True)


def test_make_windows_never_crosses_recordings_or_gaps():
    cfg = DataConfig(sampling_rate_hz=10, streams=["accelerometer"], activities=["walking", "sitting"],
                     window_size=8, overlap=0.5)
    ds = make_windows(_frame(), cfg, ["acc_x", "acc_y", "acc_z"])
    assert ds.X.shape[1:] == (8, 3)
    # each window's acc_x is a run of consecutive integers from one recording
    diffs = np.diff(ds.X[:, :, 0], axis=1)
    assert np.all(diffs == 1)
    assert set(ds.recording_ids) == {"rec0", "rec1"}
    assert np.all(ds.y == 0)
    np.testing.assert_allclose(ds.start_times, 1000.0 + (ds.X[:, 0, 0] % 100) / 10.0)


def test_make_windows_keep_unlabelled_for_inference():
    cfg = DataConfig(sampling_rate_hz=10, streams=["accelerometer"], activities=["walking"], window_size=8,
                     overlap=0.0)
    frame = _frame().drop(columns="activity")
    ds = make_windows(frame, cfg, ["acc_x", "acc_y", "acc_z"], keep_unlabelled=True)
    assert ds.n_windows > 0 and np.all(ds.y == UNLABELLED)
    assert make_windows(frame, cfg, ["acc_x", "acc_y", "acc_z"]).n_windows == 0


def test_make_windows_missing_column():
    cfg = DataConfig(streams=["accelerometer"], activities=["walking"], window_size=8)
    with pytest.raises(ValueError, match="gyro_x"):
        make_windows(_frame(), cfg, ["acc_x", "gyro_x"])
