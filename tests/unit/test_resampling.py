import numpy as np
import pytest

from har.resampling import assign_labels, resample_streams

T0 = 1_714_557_600.0  # realistic epoch seconds: float precision matters


def sine(t: np.ndarray, freq: float = 1.0) -> np.ndarray:
    return np.sin(2 * np.pi * freq * (t - T0))


def test_identical_grid_is_reproduced_exactly():
    t = T0 + np.arange(500) / 50.0
    values = np.column_stack([sine(t), 2 * sine(t)])
    grid, out, seg = resample_streams({"a": (t, values)}, rate_hz=50.0, tolerance_s=0.05)
    np.testing.assert_allclose(grid, t, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out, values, atol=1e-6)
    assert out.dtype == np.float32 and seg.dtype == np.int32 and grid.dtype == np.float64
    assert (seg == 0).all()


def test_mixed_rates_with_jitter_reconstruct_a_known_sine():
    rng = np.random.default_rng(1)
    t_acc = T0 + np.arange(0, 1501) / 50.0 + rng.uniform(-0.004, 0.004, 1501)
    t_gyro = T0 + 0.013 + np.arange(0, 2990) / 100.0 + rng.uniform(-0.002, 0.002, 2990)
    t_acc.sort()
    t_gyro.sort()
    streams = {
        "acc": (t_acc, np.column_stack([sine(t_acc), np.cos(2 * np.pi * (t_acc - T0))])),
        "gyro": (t_gyro, sine(t_gyro, 0.5)[:, None]),
    }
    grid, out, seg = resample_streams(streams, rate_hz=50.0, tolerance_s=0.05)
    assert out.shape == (grid.size, 3)
    assert grid[0] == pytest.approx(max(t_acc[0], t_gyro[0]), abs=1e-6)  # anchored at the latest start
    assert grid[-1] <= min(t_acc[-1], t_gyro[-1]) + 1e-6
    np.testing.assert_allclose(np.diff(grid), 0.02, atol=1e-6)
    assert (seg == 0).all()
    np.testing.assert_allclose(out[:, 0], sine(grid), atol=5e-3)
    np.testing.assert_allclose(out[:, 1], np.cos(2 * np.pi * (grid - T0)), atol=5e-3)
    np.testing.assert_allclose(out[:, 2], sine(grid, 0.5), atol=5e-3)


def test_low_rate_stream_at_ten_hz():
    t = T0 + np.arange(0, 301) / 10.0 + np.random.default_rng(2).uniform(-0.01, 0.01, 301)
    grid, out, seg = resample_streams({"watch": (t, sine(t, 0.2)[:, None])}, rate_hz=10.0, tolerance_s=0.05)
    assert grid.size == 300 or grid.size == 301
    np.testing.assert_allclose(out[:, 0], sine(grid, 0.2), atol=0.01)
    assert (seg == 0).all()


def test_hole_in_one_stream_splits_segments_and_drops_points():
    t = T0 + np.arange(1000) / 50.0
    hole = (t >= T0 + 5.0) & (t < T0 + 5.5)
    streams = {"a": (t, np.ones((t.size, 1))), "b": (t[~hole], np.zeros(((~hole).sum(), 2)))}
    grid, out, seg = resample_streams(streams, rate_hz=50.0, tolerance_s=0.03)
    assert set(seg.tolist()) == {0, 1}
    assert np.all(np.diff(seg) >= 0)
    rel = grid - T0
    assert rel[seg == 0][-1] == pytest.approx(5.0, abs=1e-6)  # 4.98 + one point within 30 ms
    assert rel[seg == 1][0] == pytest.approx(5.48, abs=1e-6)
    assert not np.any((rel > 5.01) & (rel < 5.47))
    assert out.shape == (grid.size, 3)


def test_several_holes_give_consecutive_segment_ids():
    t = T0 + np.arange(3000) / 100.0
    keep = ~(((t - T0) >= 5) & ((t - T0) < 6) | ((t - T0) >= 20) & ((t - T0) < 21))
    grid, _, seg = resample_streams({"a": (t[keep], np.zeros((keep.sum(), 1)))}, 50.0, 0.02)
    assert np.unique(seg).tolist() == [0, 1, 2]
    assert seg[0] == 0 and seg[-1] == 2


def test_streams_that_do_not_overlap_give_empty_arrays():
    t = T0 + np.arange(100) / 50.0
    grid, out, seg = resample_streams(
        {"a": (t, np.zeros((100, 3))), "b": (t + 10.0, np.zeros((100, 3)))}, rate_hz=50.0, tolerance_s=0.05
    )
    assert grid.size == 0 and out.shape == (0, 6) and seg.size == 0


def test_invalid_input_is_rejected():
    t = T0 + np.arange(10) / 50.0
    with pytest.raises(ValueError, match="strictly increasing"):
        resample_streams({"a": (t[::-1], np.zeros((10, 1)))}, 50.0, 0.05)
    with pytest.raises(ValueError, match="expected timestamps"):
        resample_streams({"a": (t, np.zeros((9, 1)))}, 50.0, 0.05)
    with pytest.raises(ValueError):
        resample_streams({}, 50.0, 0.05)


def test_large_input_is_fast():
    import time

    n = 1_000_000
    t = T0 + np.arange(n) / 100.0
    start = time.perf_counter()
    grid, out, _ = resample_streams(
        {"a": (t, np.zeros((n, 3))), "b": (t + 0.003, np.zeros((n, 3)))}, 50.0, 0.05
    )
    assert grid.size == n // 2
    assert time.perf_counter() - start < 3.0


def test_assign_labels_half_open_intervals():
    grid = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 9.0])
    labels = assign_labels(grid, [2.0, 0.0], [3.0, 1.0], ["sitting", "walking"])  # unsorted on purpose
    assert labels.tolist() == ["walking", "walking", "", "", "sitting", "sitting", "", ""]


def test_assign_labels_without_intervals():
    labels = assign_labels(np.arange(4.0), [], [], [])
    assert labels.tolist() == ["", "", "", ""]
    with pytest.raises(ValueError):
        assign_labels(np.arange(4.0), [0.0], [1.0, 2.0], ["a"])


def _dense_oracle(streams, rate_hz, tolerance_s):
    """Every grid point from start to end, checked: the definition `resample_streams` must equal."""
    from har.resampling import _EPS_S, _nearest_distance

    start = max(float(t[0]) for t, _ in streams.values())
    end = min(float(t[-1]) for t, _ in streams.values())
    n_channels = sum(np.asarray(v).reshape(len(t), -1).shape[1] for t, v in streams.values())
    if end < start:
        return np.empty(0), np.empty((0, n_channels), np.float32), np.empty(0, np.int32)
    n = int(np.floor((end - start) * rate_hz + 1e-3)) + 1
    grid = start + np.arange(n, dtype=np.float64) / rate_hz
    valid = np.ones(n, dtype=bool)
    for t, _ in streams.values():
        valid &= _nearest_distance(np.asarray(t, np.float64), grid) <= tolerance_s + _EPS_S
    kept = np.flatnonzero(valid)
    grid = grid[valid]
    out = np.column_stack([np.interp(grid, t, np.asarray(v, np.float64).reshape(len(t), -1)[:, k])
                           for t, v in streams.values() for k in range(np.asarray(v).reshape(len(t), -1).shape[1])])
    segments = np.zeros(kept.size, dtype=np.int32)
    if kept.size > 1:
        segments[1:] = np.cumsum(np.diff(kept) > 1).astype(np.int32)
    return grid, out.astype(np.float32).reshape(-1, n_channels), segments


def test_resampling_equals_the_full_grid_and_ignores_the_span():
    """`resample_streams` gives exactly the full grid's output (gaps, jitter, several streams of other
    rates), while its work follows the sample count, not the time span."""
    import time

    rng = np.random.default_rng(0)
    for _ in range(200):
        rate, tolerance = rng.choice([10.0, 50.0, 100.0]), rng.choice([0.01, 0.05, 0.2])
        streams = {}
        for s in range(rng.integers(1, 4)):
            n = int(rng.integers(1, 300))
            steps = rng.choice([1 / rate, 0.5 / rate, 2 / rate]) * (1 + rng.uniform(-0.3, 0.3, n))
            gaps = rng.random(n) < 0.03
            steps[gaps] += rng.exponential(2.0, gaps.sum())
            streams[f"s{s}"] = (1.7e9 + rng.uniform(0, 0.1) + np.cumsum(steps), rng.normal(size=(n, 2)))
        for dense, sparse in zip(_dense_oracle(streams, rate, tolerance),
                                 resample_streams(streams, rate, tolerance), strict=True):
            np.testing.assert_array_equal(dense, sparse)
    t = np.concatenate([[0.0], 1e12 + np.arange(128) * 0.02])  # 129 samples over 31,000 years
    start = time.perf_counter()
    grid, values, segments = resample_streams({"s": (t, np.zeros((129, 6)))}, 50.0, 0.05)
    assert time.perf_counter() - start < 0.1 and len(grid) < 3 * 129 and segments.max() == 1
