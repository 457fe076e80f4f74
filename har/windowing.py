"""Vectorised sliding windows and window labels.

Training, batch inference and the HTTP service all cut windows with these
functions, so a window means the same thing everywhere. There is no Python
loop over windows: window starts are computed with array arithmetic and the
windows are gathered from a strided view of the sample matrix.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import pandas as pd

from har.config import DataConfig
from har.types import WindowedDataset

UNLABELLED = -1


def segment_bounds(*keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Start/end indices of runs where all key arrays stay constant.

    Rows must already be grouped (e.g. sorted by recording then time).
    """
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.zeros(n - 1, dtype=bool)
    for key in keys:
        change |= key[1:] != key[:-1]
    cuts = np.flatnonzero(change) + 1
    starts = np.concatenate(([0], cuts)).astype(np.int64)
    ends = np.concatenate((cuts, [n])).astype(np.int64)
    return starts, ends


def window_starts(seg_starts: np.ndarray, seg_ends: np.ndarray, window: int, step: int) -> np.ndarray:
    """Global start index of every full window that fits inside one segment."""
    if window < 1 or step < 1:
        raise ValueError(f"window and step must be >= 1, got window={window}, step={step}")
    lengths = seg_ends - seg_starts
    counts = np.where(lengths >= window, (lengths - window) // step + 1, 0)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.repeat(seg_starts, counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return first + offsets * step


def sliding_windows(values: np.ndarray, starts: np.ndarray, window: int, step: int | None = None) -> np.ndarray:
    """Gather `(len(starts), window, channels)` windows from a `(n, channels)` matrix.

    Starts are split where their spacing differs from `step` (in practice: at
    segment boundaries); each run is copied from one strided view as
    contiguous blocks, with no index array and no Python loop over windows.
    """
    values = np.ascontiguousarray(values)
    if values.ndim != 2:
        raise ValueError(f"expected samples of shape (n, channels), got {values.shape}")
    n, channels = values.shape
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) and (starts.min() < 0 or starts.max() + window > n):
        raise ValueError(f"window starts out of bounds for {n} samples and window {window}")
    out = np.empty((len(starts), window, channels), dtype=values.dtype)
    if len(starts) == 0:
        return out
    gaps = np.diff(starts)
    if step is None:
        step = int(np.bincount(gaps[gaps > 0]).argmax()) if np.any(gaps > 0) else 1
    bounds = [0, *(np.flatnonzero(gaps != step) + 1).tolist(), len(starts)]
    row, col = values.strides
    for first, end in zip(bounds[:-1], bounds[1:], strict=True):  # one iteration per segment
        out[first:end] = np.lib.stride_tricks.as_strided(
            values[starts[first] :], shape=(end - first, window, channels), strides=(step * row, row, col),
            writeable=False,
        )
    return out


def window_label_counts(label_ids: np.ndarray, starts: np.ndarray, window: int, n_classes: int) -> np.ndarray:
    """`(n_windows, n_classes + 1)` sample counts per class; last column = unlabelled."""
    counts = np.empty((len(starts), n_classes + 1), dtype=np.int32)
    codes = np.where(label_ids < 0, n_classes, label_ids)
    for k in range(n_classes + 1):  # loop over classes, not windows
        cumulative = np.concatenate(([0], np.cumsum(codes == k, dtype=np.int32)))
        counts[:, k] = cumulative[starts + window] - cumulative[starts]
    return counts


def label_windows(
    label_ids: np.ndarray,
    starts: np.ndarray,
    window: int,
    n_classes: int,
    policy: str = "majority",
    min_purity: float = 0.6,
) -> np.ndarray:
    """Label per window, UNLABELLED where the policy rejects it.

    `majority`: the most frequent labelled class, if it covers at least
    `min_purity` of the window. `drop_mixed`: only windows whose samples all
    carry the same label.
    """
    counts = window_label_counts(label_ids, starts, window, n_classes)
    labelled = counts[:, :n_classes]
    best = labelled.argmax(axis=1) if n_classes else np.zeros(len(starts), dtype=np.int64)
    best_count = labelled.max(axis=1) if n_classes else np.zeros(len(starts), dtype=np.int32)
    if policy == "majority":
        keep = best_count >= np.ceil(min_purity * window)
    elif policy == "drop_mixed":
        keep = best_count == window
    else:
        raise ValueError(f"unknown label policy '{policy}' (expected 'majority' or 'drop_mixed')")
    keep &= best_count > 0
    return np.where(keep, best, UNLABELLED).astype(np.int64)


def encode_labels(activities: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """Activity strings to class ids; '' (no label) -> UNLABELLED; unknown -> error."""
    lookup = {name: i for i, name in enumerate(class_names)}
    codes, uniques = pd.factorize(np.asarray(activities, dtype=object))  # hashing, not sorting strings
    unknown = [u for u in uniques if u and u not in lookup]
    if unknown:
        raise ValueError(f"unknown activity label(s) {unknown}; expected one of {list(class_names)}")
    mapping = np.array([lookup.get(u, UNLABELLED) for u in uniques] + [UNLABELLED], dtype=np.int64)
    return mapping[codes]  # code -1 (missing value) maps to the trailing UNLABELLED


def make_windows(
    sensor_data: pd.DataFrame,
    data: DataConfig,
    channel_names: Sequence[str],
    *,
    keep_unlabelled: bool = False,
) -> WindowedDataset:
    """Cut the ingested samples into labelled windows.

    Windows never cross a recording or a gap (segment). With
    `keep_unlabelled=False` (training) windows the label policy rejects are
    dropped; with True (inference) they are kept with label -1.
    """
    missing = [c for c in ("recording_id", "subject", "segment", "timestamp", *channel_names) if c not in sensor_data]
    if missing:
        raise ValueError(f"sensor data lacks column(s) {missing}")
    recording = sensor_data["recording_id"].to_numpy()
    seg_starts, seg_ends = segment_bounds(pd.factorize(recording)[0], sensor_data["segment"].to_numpy())
    starts = window_starts(seg_starts, seg_ends, data.window_size, data.step)

    if "activity" in sensor_data:
        label_ids = encode_labels(sensor_data["activity"].to_numpy(), data.activities)
    else:
        label_ids = np.full(len(sensor_data), UNLABELLED, dtype=np.int64)
    y = label_windows(
        label_ids, starts, data.window_size, len(data.activities), data.label_policy, data.min_label_purity
    )
    if not keep_unlabelled:
        starts, y = starts[y >= 0], y[y >= 0]

    values = sensor_data[list(channel_names)].to_numpy(dtype=np.float32)
    return WindowedDataset(
        X=sliding_windows(values, starts, data.window_size, data.step),
        y=y,
        recording_ids=recording[starts].astype(str),
        subjects=sensor_data["subject"].to_numpy()[starts].astype(str),
        start_times=sensor_data["timestamp"].to_numpy(dtype=np.float64)[starts],
        class_names=list(data.activities),
        channel_names=list(channel_names),
        sample_rate_hz=float(data.sampling_rate_hz),
        step=data.step,
    )
