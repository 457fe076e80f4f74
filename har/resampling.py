"""Merge sensor streams onto one uniform time grid and attach labels (numpy only).

Streams may have different rates and jitter (e.g. 50 Hz accelerometer and
100 Hz gyroscope, or 10 Hz watch data). Each stream is linearly interpolated
onto a common grid; a grid point is kept only if every stream has a real
sample close to it, so interpolation never bridges a hole in the data. The
dropped points split the result into segments, which windowing must not cross.
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

# Absorbs float rounding of epoch-second timestamps (~2e-7 s resolution near 1.7e9).
_EPS_S = 1e-6


def _check_stream(name: str, t: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if t.ndim != 1 or values.ndim != 2 or values.shape[0] != t.shape[0]:
        raise ValueError(
            f"stream '{name}': expected timestamps (n,) and values (n, k), got {t.shape} and {values.shape}"
        )
    if t.size == 0:
        raise ValueError(f"stream '{name}' has no samples")
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"stream '{name}': timestamps must be finite and strictly increasing")
    return t, values


def _nearest_distance(t: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Distance from each grid point to the nearest sample in sorted `t`."""
    idx = np.searchsorted(t, grid)
    right = t[np.minimum(idx, t.size - 1)]
    left = t[np.maximum(idx - 1, 0)]
    return np.minimum(np.abs(grid - left), np.abs(right - grid))


def resample_streams(
    streams: Dict[str, Tuple[np.ndarray, np.ndarray]],
    rate_hz: float,
    tolerance_s: float,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate all streams onto a common grid at `rate_hz`.

    The grid runs from the latest stream start to the earliest stream end,
    anchored at that start with step `1 / rate_hz`. Returns
    `(grid_t float64 (m,), values float32 (m, sum k) in dict order, segment_ids int32 (m,))`
    containing only valid grid points (every stream has a raw sample within
    `tolerance_s`); consecutive valid points share a segment id (0, 1, 2, ...).
    If the streams do not overlap, all three arrays are empty.
    """
    return _resample(streams, rate_hz, tolerance_s)


def assign_labels(
    grid_t: np.ndarray,
    starts: Sequence[float] | np.ndarray,
    ends: Sequence[float] | np.ndarray,
    activities: Sequence[str] | np.ndarray,
) -> np.ndarray:
    """Activity per grid time for intervals `[start, end)`; "" where no interval covers it.

    Intervals are expected not to overlap (ingestion rejects overlaps); if they
    do, a time gets the interval with the latest start among those started.
    """
    grid_t = np.asarray(grid_t, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    names = np.asarray(activities, dtype=str)
    if not (starts.shape == ends.shape == names.shape) or starts.ndim != 1:
        raise ValueError("starts, ends and activities must be 1-D and of equal length")
    if starts.size == 0:
        return np.full(grid_t.shape, "", dtype="<U1")
    order = np.argsort(starts, kind="stable")
    starts, ends, names = starts[order], ends[order], names[order]
    idx = np.searchsorted(starts, grid_t, side="right") - 1
    safe = np.maximum(idx, 0)
    covered = (idx >= 0) & (grid_t < ends[safe])
    return np.where(covered, names[safe], "")


def _resample(
    streams: Dict[str, Tuple[np.ndarray, np.ndarray]],
    rate_hz: float,
    tolerance_s: float,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid points within `tolerance_s` of a sample of the shortest stream, and only those.

    A valid point needs every stream close by, so it is among them: work and
    memory grow with the sample count, never with the time span (a grid from
    start to end would be gigabytes for a few samples that span days; the
    HTTP stream endpoint gets such input). The points' times are computed with
    the same float operations as a full grid `start + i / rate_hz`.
    """
    if not streams:
        raise ValueError("resample_streams needs at least one stream")
    if rate_hz <= 0 or tolerance_s <= 0:
        raise ValueError(f"rate_hz and tolerance_s must be positive, got {rate_hz} and {tolerance_s}")
    checked = {name: _check_stream(name, t, v) for name, (t, v) in streams.items()}
    n_channels = sum(v.shape[1] for _, v in checked.values())
    start = max(float(t[0]) for t, _ in checked.values())
    end = min(float(t[-1]) for t, _ in checked.values())
    if end < start:
        return (np.empty(0, dtype=np.float64), np.empty((0, n_channels), dtype=np.float32),
                np.empty(0, dtype=np.int32))
    # Epoch-second timestamps carry ~1e-7 s of float error, i.e. up to ~1e-5 of a sample at 50 Hz:
    # tolerate a thousandth of a sample so an on-grid stream keeps its last sample.
    n = int(np.floor((end - start) * rate_hz + 1e-3)) + 1  # the full grid's size, never allocated

    # Grid indices near each sample of the shortest stream (one more on each side absorbs rounding),
    # merged into runs; both bounds are non-decreasing because t is sorted.
    anchor = min((t for t, _ in checked.values()), key=len)
    lo = np.clip(np.floor((anchor - tolerance_s - _EPS_S - start) * rate_hz) - 1, 0, n - 1).astype(np.int64)
    hi = np.clip(np.ceil((anchor + tolerance_s + _EPS_S - start) * rate_hz) + 1, 0, n - 1).astype(np.int64)
    new_run = np.ones(lo.size, dtype=bool)
    new_run[1:] = lo[1:] > hi[:-1] + 1
    first = np.flatnonzero(new_run)
    run_lo = lo[first]
    run_hi = np.maximum.reduceat(hi, first)
    lengths = run_hi - run_lo + 1
    offsets = np.repeat(run_lo - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    index = np.arange(int(lengths.sum()), dtype=np.int64) + offsets

    grid = start + index.astype(np.float64) / rate_hz  # the same float operations as resample_streams
    valid = np.ones(grid.size, dtype=bool)
    for t, _ in checked.values():
        valid &= _nearest_distance(t, grid) <= tolerance_s + _EPS_S
    grid, kept = grid[valid], index[valid]

    out = np.empty((grid.size, n_channels), dtype=np.float32)
    col = 0
    for t, values in checked.values():
        for k in range(values.shape[1]):
            out[:, col] = np.interp(grid, t, values[:, k])
            col += 1
    segments = np.zeros(kept.size, dtype=np.int32)
    if kept.size > 1:
        segments[1:] = np.cumsum(np.diff(kept) > 1, dtype=np.int64).astype(np.int32)
    return grid, out, segments
