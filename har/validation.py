"""Dataset-level checks of an ingested sensor DataFrame and the data quality report.

The DataFrame may come from `har.ingest` or straight from a user, so every
property the later steps rely on is re-checked here. Row-level issues use
`file="sensor_data"` and the line the row would have in a CSV export of the
frame (header = line 1, first row = line 2), plus the recording it belongs to.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np
import pandas as pd

from har.config import DataConfig, Schema, channel_names
from har.errors import DataValidationError, Issue
from har.types import DataQualityReport

SOURCE = "sensor_data"
META_COLUMNS = ("recording_id", "subject", "segment", "timestamp")
LABEL_COLUMN = "activity"
MIN_SUBJECTS = 3
STEP_TOLERANCE = 0.01  # relative deviation from 1 / sampling_rate_hz accepted between consecutive samples


class _Collector:
    def __init__(self) -> None:
        self.recording_codes: np.ndarray | None = None  # pd.factorize codes of recording_id per row
        self.recording_names: np.ndarray | None = None
        self.issues: List[Issue] = []

    def add(
        self,
        severity: str,
        message: str,
        *,
        column: str | None = None,
        mask: np.ndarray | None = None,
        offset: int = 0,
        recording: str | None = None,
    ) -> None:
        """`mask` is over frame positions shifted by `offset` (1 for masks over np.diff)."""
        row = None
        more = 0
        if mask is not None:
            idx = np.flatnonzero(mask)
            position = int(idx[0]) + offset
            row, more = position + 2, int(idx.size - 1)
            if recording is None and self.recording_codes is not None:
                recording = str(self.recording_names[self.recording_codes[position]])
        self.issues.append(
            Issue(
                severity=severity,
                recording=recording,
                file=SOURCE,
                column=column,
                row=row,
                message=message,
                more_rows=more,
            )
        )

    def error(self, message: str, **kwargs: Any) -> None:
        self.add("error", message, **kwargs)

    def warning(self, message: str, **kwargs: Any) -> None:
        self.add("warning", message, **kwargs)


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _check_text_column(frame: pd.DataFrame, column: str, out: _Collector, allow_empty: bool) -> bool:
    series = frame[column]
    if not _is_text(series):
        out.error(f"column has dtype {series.dtype} (expected str)", column=column)
        return False
    missing = series.isna().to_numpy()
    if missing.any():
        out.error("missing value (expected a string)", column=column, mask=missing)
        return False
    # infer_dtype is vectorised; the per-value loop below only runs when something is wrong.
    if pd.api.types.infer_dtype(series, skipna=False) != "string":
        values = series.to_numpy(dtype=object)
        not_str = np.fromiter((not isinstance(v, str) for v in values), dtype=bool, count=values.size)
        first = values[int(np.flatnonzero(not_str)[0])]
        expected = 'a string ("" where unlabelled)' if allow_empty else "a non-empty string"
        out.error(f"value {first!r} is not a string (expected {expected})", column=column, mask=not_str)
        return False
    if not allow_empty:
        empty = series.eq("").to_numpy()
        if empty.any():
            out.error("empty value (expected a non-empty string)", column=column, mask=empty)
            return False
    return True


def _channel_ranges(data: DataConfig, schema: Schema) -> Dict[str, Tuple[float, float, str]]:
    ranges: Dict[str, Tuple[float, float, str]] = {}
    for stream in data.streams:
        spec = schema.streams[stream]
        for channel in spec.channels():
            ranges[channel] = (float(spec.value_range[0]), float(spec.value_range[1]), spec.unit)
    return ranges


def build_quality_report(
    sensor_data: pd.DataFrame,
    data: DataConfig,
    schema: Schema,
    *,
    require_labels: bool = True,
) -> DataQualityReport:
    """Check an ingested DataFrame; `passed` is True when no error-severity issue was found."""
    channels = channel_names(data, schema)
    rate = float(data.sampling_rate_hz)
    frame = sensor_data
    out = _Collector()

    if not isinstance(frame, pd.DataFrame):
        out.error(f"sensor data is a {type(frame).__name__} (expected a pandas DataFrame)")
        return _report(out, {}, [])
    required = [*META_COLUMNS, *channels, LABEL_COLUMN]
    missing = [c for c in required if c not in frame.columns]
    for column in missing:
        out.error(f"missing column '{column}' (expected columns {', '.join(required)})", column=column)
    if missing:
        return _report(out, {"n_samples": int(len(frame))}, [])
    if len(frame) == 0:
        out.error("sensor data has no rows (expected resampled samples of at least one recording)")
        return _report(out, {"n_samples": 0}, [])

    ok_text = {
        "recording_id": _check_text_column(frame, "recording_id", out, allow_empty=False),
        "subject": _check_text_column(frame, "subject", out, allow_empty=False),
        LABEL_COLUMN: _check_text_column(frame, LABEL_COLUMN, out, allow_empty=True),
    }
    if not ok_text["recording_id"]:
        return _report(out, {"n_samples": int(len(frame))}, [])
    rec, names = pd.factorize(frame["recording_id"])
    out.recording_codes, out.recording_names = rec, np.asarray(names, dtype=object)

    ok_segment = pd.api.types.is_integer_dtype(frame["segment"])
    if not ok_segment:
        out.error(
            f"column has dtype {frame['segment'].dtype} (expected an integer segment id)", column="segment"
        )
    ok_time = pd.api.types.is_float_dtype(frame["timestamp"]) and frame["timestamp"].dtype == np.float64
    if not ok_time:
        out.error(
            f"column has dtype {frame['timestamp'].dtype} (expected float64 epoch seconds; float32 cannot "
            "resolve sample times)",
            column="timestamp",
        )

    ranges = _channel_ranges(data, schema)
    numeric_channels: List[str] = []
    for channel in channels:
        series = frame[channel]
        if not (pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series)):
            out.error(f"column has dtype {series.dtype} (expected float32)", column=channel)
            continue
        numeric_channels.append(channel)
        values = series.to_numpy(dtype=np.float64)
        nan = np.isnan(values)
        if nan.any():
            out.error("NaN value (expected a finite float)", column=channel, mask=nan)
        inf = np.isinf(values)
        if inf.any():
            out.error("infinite value (expected a finite float)", column=channel, mask=inf)
        low, high, unit = ranges[channel]
        outside = np.isfinite(values) & ((values < low) | (values > high))
        if outside.any():
            first = values[int(np.flatnonzero(outside)[0])]
            out.error(
                f"value {first:.6g} {unit} is outside the plausible range [{low:g}, {high:g}] {unit}",
                column=channel,
                mask=outside,
            )

    if ok_time and ok_segment:
        _check_timeline(frame, rec, rate, out)

    if ok_text["subject"]:
        per_recording = frame.groupby("recording_id", sort=True)["subject"].nunique()
        for rid in per_recording.index[per_recording.to_numpy() > 1]:
            subjects = sorted(frame.loc[frame["recording_id"] == rid, "subject"].unique())
            out.error(
                f"recording has several subjects {subjects} (expected one subject per recording)",
                recording=str(rid),
                column="subject",
            )

    activity = frame[LABEL_COLUMN] if ok_text[LABEL_COLUMN] else None
    if activity is not None:
        unknown = ~activity.isin([*data.activities, ""]).to_numpy()
        if unknown.any():
            names = sorted(set(activity[unknown]))
            out.error(
                f"unknown activity '{activity.iloc[int(np.flatnonzero(unknown)[0])]}' (expected one of: "
                f'{", ".join(data.activities)}, or "" for unlabelled; unknown names: {", ".join(names)})',
                column=LABEL_COLUMN,
                mask=unknown,
            )
        if require_labels:
            if not activity.ne("").any():
                out.error(
                    "no labelled samples (expected label intervals covering the recordings; "
                    "check labels.csv times and time zones)",
                    column=LABEL_COLUMN,
                )
            else:
                present = set(activity.unique())
                for name in data.activities:
                    if name not in present:
                        out.warning(
                            f"activity '{name}' of the config has no samples (the model cannot learn it)",
                            column=LABEL_COLUMN,
                        )

    summary, recordings = _summarise(frame, data, channels, numeric_channels, activity, ok_segment, out)
    if ok_text["subject"]:
        n_subjects = int(frame["subject"].nunique())
        if n_subjects < MIN_SUBJECTS:
            out.warning(
                f"only {n_subjects} subject(s) (expected at least {MIN_SUBJECTS} to split by subject into "
                "train/val/test)",
                column="subject",
            )
    return _report(out, summary, recordings)


def _check_timeline(frame: pd.DataFrame, rec: np.ndarray, rate: float, out: _Collector) -> None:
    t = frame["timestamp"].to_numpy(dtype=np.float64)
    seg = frame["segment"].to_numpy()
    nonfinite = ~np.isfinite(t)
    if nonfinite.any():
        out.error(
            "timestamp is NaN or infinite (expected finite epoch seconds)", column="timestamp", mask=nonfinite
        )
        return
    boundary = (rec[1:] != rec[:-1]) | (seg[1:] != seg[:-1])
    seg_codes, seg_names = pd.factorize(seg)
    keys = rec.astype(np.int64) * max(len(seg_names), 1) + seg_codes  # one int per (recording, segment)
    block_start = np.concatenate([[True], boundary])
    repeated = block_start & pd.Series(keys).duplicated().to_numpy()
    if repeated.any():
        out.error(
            "rows of this recording/segment appear in more than one block (expected rows sorted by "
            "recording_id, segment, timestamp)",
            column="segment",
            mask=repeated,
        )
        return
    step = np.diff(t)
    inside = ~boundary
    not_increasing = inside & (step <= 0)
    if not_increasing.any():
        out.error(
            "timestamp is not after the previous row's (expected strictly increasing timestamps within "
            "a recording segment)",
            column="timestamp",
            mask=not_increasing,
            offset=1,
        )
    expected = 1.0 / rate
    off_grid = inside & (step > 0) & (np.abs(step - expected) > STEP_TOLERANCE * expected)
    if off_grid.any():
        first = step[int(np.flatnonzero(off_grid)[0])]
        out.error(
            f"step of {first:.6g} s from the previous row (expected 1/sampling_rate_hz = {expected:.6g} s "
            "within a segment; start a new segment at a gap)",
            column="timestamp",
            mask=off_grid,
            offset=1,
        )


def _summarise(
    frame: pd.DataFrame,
    data: DataConfig,
    channels: List[str],
    numeric_channels: List[str],
    activity: pd.Series | None,
    ok_segment: bool,
    out: _Collector,
) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    rate = float(data.sampling_rate_hz)
    n = int(len(frame))
    labels = activity.astype(object) if activity is not None else pd.Series([""] * n, dtype=object)
    labelled = labels.ne("").to_numpy()
    stats: Dict[str, Dict[str, float]] = {}
    for channel in numeric_channels:
        values = frame[channel].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size:
            stats[channel] = {
                "mean": float(finite.mean()),
                "std": float(finite.std()),
                "min": float(finite.min()),
                "max": float(finite.max()),
            }
    seconds = {name: 0.0 for name in data.activities}
    counts = labels[labelled].value_counts()
    seconds.update({str(k): float(c) / rate for k, c in counts.items()})

    # Integer codes keep the per-recording aggregation fast on millions of rows.
    rec, rec_names = out.recording_codes, out.recording_names
    n_rec = len(rec_names)
    seg = frame["segment"].to_numpy() if ok_segment else np.zeros(n, dtype=np.int64)
    act, act_names = pd.factorize(labels)
    n_samples = np.bincount(rec, minlength=n_rec)
    n_labelled = np.bincount(rec, weights=labelled.astype(np.float64), minlength=n_rec)
    _, first_row = np.unique(rec, return_index=True)
    subjects = frame["subject"].astype(str).to_numpy()[first_row]
    seg_sizes = pd.Series(np.ones(n, dtype=np.int64)).groupby([rec, seg]).sum()
    longest = seg_sizes.groupby(level=0).max().to_numpy()
    n_segments = seg_sizes.groupby(level=0).size().to_numpy()
    per_activity = (
        pd.Series(np.ones(int(labelled.sum()), dtype=np.int64)).groupby([rec[labelled], act[labelled]]).sum()
    )
    activity_seconds: List[Dict[str, float]] = [{} for _ in range(n_rec)]
    for (r, a), count in per_activity.items():
        activity_seconds[int(r)][str(act_names[a])] = float(count) / rate

    recordings: List[Dict[str, Any]] = []
    for r in sorted(range(n_rec), key=lambda code: str(rec_names[code])):
        rid = str(rec_names[r])
        if longest[r] < data.window_size:
            out.warning(
                f"recording has no segment with at least window_size = {data.window_size} samples "
                f"(longest: {int(longest[r])}); it contributes no windows",
                recording=rid,
            )
        recordings.append(
            {
                "recording_id": rid,
                "subject": str(subjects[r]),
                "n_samples": int(n_samples[r]),
                "duration_s": float(n_samples[r]) / rate,
                "n_segments": int(n_segments[r]),
                "longest_segment_s": float(longest[r]) / rate,
                "labelled_fraction": float(n_labelled[r] / n_samples[r]),
                "activity_seconds": dict(sorted(activity_seconds[r].items())),
            }
        )
    summary = {
        "n_recordings": n_rec,
        "n_subjects": int(frame["subject"].astype(str).nunique()),
        "n_samples": n,
        "n_segments": int(seg_sizes.size),
        "duration_s": n / rate,
        "sampling_rate_hz": rate,
        "channels": list(channels),
        "activity_seconds": seconds,
        "unlabelled_seconds": float(n - int(labelled.sum())) / rate,
        "labelled_fraction": float(labelled.mean()) if n else 0.0,
        "channel_stats": stats,
    }
    return summary, recordings


def _report(out: _Collector, summary: Dict[str, Any], recordings: List[Dict[str, Any]]) -> DataQualityReport:
    n_errors = sum(issue.is_error for issue in out.issues)
    summary = dict(summary)
    summary["n_errors"] = n_errors
    summary["n_warnings"] = len(out.issues) - n_errors
    return DataQualityReport(
        passed=n_errors == 0,
        summary=summary,
        recordings=recordings,
        issues=[issue.to_dict() for issue in out.issues],
    )


def raise_for_issues(report: DataQualityReport, max_reported: int = 20) -> None:
    """Raise `DataValidationError` listing the report's error issues; do nothing if there are none."""
    errors = [Issue.from_dict(item) for item in report.issues if item.get("severity") == "error"]
    if errors:
        raise DataValidationError(errors, max_reported)
