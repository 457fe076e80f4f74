"""The data rules shared by ingestion and validation, and the data quality report.

Each rule lives here once: `check_value_range`, `check_activities`,
`check_increasing` and `report_short_segments` are called by `har.ingest` on
the raw files (naming file lines) and by `build_quality_report` on the
assembled DataFrame, which may come from `har.ingest` or straight from a user,
so every property the later steps rely on is checked again. Row-level issues of
the DataFrame use `file="sensor_data"` and the line the row would have in a CSV
export of the frame (header = line 1, first row = line 2), plus the recording
it belongs to.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np
import pandas as pd

from har.config import DataConfig, Schema, StreamSchema, channel_names
from har.errors import DataValidationError, IssueCollector
from har.types import DataQualityReport, SkippedData

SOURCE = "sensor_data"
META_COLUMNS = ("recording_id", "subject", "segment", "timestamp")
LABEL_COLUMN = "activity"
MIN_SUBJECTS = 3
STEP_TOLERANCE = 0.01  # relative deviation from 1 / sampling_rate_hz accepted between consecutive samples


def format_number(value: float) -> str:
    return f"{value:.6g}"


def format_time(seconds: float) -> str:
    """ISO-8601 UTC, to the microsecond (float epoch seconds carry ~1e-7 s of rounding noise)."""
    try:
        return pd.Timestamp(round(float(seconds) * 1e6), unit="us", tz="UTC").isoformat()
    except (OverflowError, ValueError):  # far outside 1677-2262: timestamps in the wrong unit
        return f"epoch {float(seconds):.6g} s"


# --------------------------------------------------------------------------- shared rules


def check_value_range(
    values: np.ndarray,
    spec: StreamSchema,
    out: IssueCollector,
    column: str,
    *,
    raw_values: np.ndarray | None = None,
    raw_unit: str | None = None,
    hint: str = "",
) -> bool:
    """Values (in the canonical unit) inside the stream's plausible range; one error naming the first outlier."""
    low, high = (float(v) for v in spec.value_range)
    outside = np.isfinite(values) & ((values < low) | (values > high))
    if not outside.any():
        return True
    i = int(np.flatnonzero(outside)[0])
    shown = f"{format_number(values[i])} {spec.unit}"
    if raw_values is not None and raw_unit is not None and raw_unit != spec.unit:
        shown = f"{format_number(raw_values[i])} {raw_unit} (= {shown})"
    out.error(
        f"value {shown} is outside the plausible range [{format_number(low)}, {format_number(high)}] "
        f"{spec.unit}{hint}",
        column=column,
        mask=outside,
    )
    return False


def accepted_activities(
    activities: Sequence[str],
    renames: Mapping[str, str] | None = None,
    ignored: Sequence[str] = (),
    allow_empty: bool = False,
) -> str:
    """What an activity cell may hold, as a user reads it in an error message."""
    text = "one of: " + ", ".join(activities)
    valid = {old: new for old, new in (renames or {}).items() if new in activities}
    if valid:
        text += "; or a label renamed by labels.activity_names: " + ", ".join(
            f"{old} (-> {new})" for old, new in valid.items()
        )
    if ignored:
        text += "; or a label counted as unlabelled (labels.ignore_activities): " + ", ".join(ignored)
    if allow_empty:
        text += '; or "" for unlabelled'
    return text


def check_activities(
    activity: pd.Series,
    activities: Sequence[str],
    out: IssueCollector,
    column: str,
    *,
    renames: Mapping[str, str] | None = None,
    ignored: Sequence[str] = (),
    allow_empty: bool = False,
) -> bool:
    """Every label is a known activity, a renamed one, an ignored one (or "" where allowed)."""
    renames = dict(renames or {})
    expected = accepted_activities(activities, renames, ignored, allow_empty)
    ok = True
    empty = activity.eq("").to_numpy()
    if not allow_empty and empty.any():
        out.error(f"empty activity (expected {expected})", column=column, mask=empty)
        ok = False
    known = set(activities) | {old for old, new in renames.items() if new in activities} | set(ignored)
    unknown = ~activity.isin(known).to_numpy() & ~empty
    if unknown.any():
        names = sorted(set(activity[unknown]))
        first = str(activity.iloc[int(np.flatnonzero(unknown)[0])])
        renamed = (
            f" (labels.activity_names renames it to '{renames[first]}', which is not in data_config.activities)"
            if first in renames
            else ""
        )
        others = f"; all unknown names: {', '.join(names)}" if len(names) > 1 else ""
        out.error(
            f"unknown activity '{first}'{renamed} (expected {expected}){others}", column=column, mask=unknown
        )
        ok = False
    return ok


def check_increasing(
    t: np.ndarray,
    out: IssueCollector,
    column: str,
    *,
    shown: Sequence[str] | None = None,
    inside: np.ndarray | None = None,
) -> bool:
    """Strictly increasing times (where `inside`, a mask over np.diff(t), is True); False if not.

    `shown` is the text of each timestamp as the user wrote it (else the time is formatted).
    """
    step = np.diff(t)
    where = np.ones(step.size, dtype=bool) if inside is None else inside

    def text(i: int) -> str:
        return str(shown[i]).strip() if shown is not None else format_time(float(t[i]))

    ok = True
    duplicate = where & (step == 0)
    if duplicate.any():
        i = int(np.flatnonzero(duplicate)[0]) + 1
        out.error(
            f"duplicate timestamp '{text(i)}' (same as the previous line; expected strictly increasing "
            "timestamps)",
            column=column,
            mask=duplicate,
            offset=1,
        )
        ok = False
    backwards = where & (step < 0)
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0]) + 1
        out.error(
            f"timestamp '{text(i)}' goes backwards (earlier than '{text(i - 1)}' on the previous line; "
            "expected strictly increasing timestamps — is the file sorted?)",
            column=column,
            mask=backwards,
            offset=1,
        )
        ok = False
    return ok


def report_short_segments(
    recording: str,
    segment_ids: np.ndarray,
    lengths: np.ndarray,
    start_times: np.ndarray,
    data: DataConfig,
    out: IssueCollector,
) -> List[SkippedData]:
    """Segments with fewer than window_size samples give no window: one warning per recording, one entry each."""
    short = np.asarray(lengths) < data.window_size
    if not short.any():
        return []
    rate = float(data.sampling_rate_hz)
    window_s = data.window_size / rate
    reason = f"shorter than one window (window_size = {data.window_size} samples = {window_s:g} s)"
    skipped = [
        SkippedData(recording=recording, reason=reason, seconds=float(n) / rate, segment=int(k))
        for k, n in zip(np.asarray(segment_ids)[short], np.asarray(lengths)[short], strict=True)
    ]
    first = int(np.flatnonzero(short)[0])
    total = sum(item.seconds for item in skipped)
    out.warning(
        f"{len(skipped)} segment(s) {reason} contribute no windows and are skipped: {total:.2f} s in total "
        f"(first: segment {int(segment_ids[first])} at {format_time(float(start_times[first]))}, "
        f"{lengths[first] / rate:.2f} s)",
        recording=recording,
    )
    return skipped


# --------------------------------------------------------------------------- the DataFrame


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _check_text_column(frame: pd.DataFrame, column: str, out: IssueCollector, allow_empty: bool) -> bool:
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


def _stream_of_channel(data: DataConfig, schema: Schema) -> Dict[str, StreamSchema]:
    return {channel: schema.streams[stream] for stream in data.streams for channel in schema.streams[stream].channels()}


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
    out = IssueCollector(file=SOURCE)

    if not isinstance(frame, pd.DataFrame):
        out.error(f"sensor data is a {type(frame).__name__} (expected a pandas DataFrame)")
        return _report(out, {}, [], [])
    required = [*META_COLUMNS, *channels, LABEL_COLUMN]
    missing = [c for c in required if c not in frame.columns]
    for column in missing:
        out.error(f"missing column '{column}' (expected columns {', '.join(required)})", column=column)
    if missing:
        return _report(out, {"n_samples": int(len(frame))}, [], [])
    if len(frame) == 0:
        out.error("sensor data has no rows (expected resampled samples of at least one recording)")
        return _report(out, {"n_samples": 0}, [], [])

    ok_text = {
        "recording_id": _check_text_column(frame, "recording_id", out, allow_empty=False),
        "subject": _check_text_column(frame, "subject", out, allow_empty=False),
        LABEL_COLUMN: _check_text_column(frame, LABEL_COLUMN, out, allow_empty=True),
    }
    if not ok_text["recording_id"]:
        return _report(out, {"n_samples": int(len(frame))}, [], [])
    rec, rec_names = pd.factorize(frame["recording_id"])
    rec_names = np.asarray(rec_names, dtype=object)
    out.recording_at = lambda position: str(rec_names[rec[position]])

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

    specs = _stream_of_channel(data, schema)
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
        check_value_range(values, specs[channel], out, channel)

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
        check_activities(activity, data.activities, out, LABEL_COLUMN, allow_empty=True)
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

    summary, recordings, skipped = _summarise(
        frame, data, channels, numeric_channels, activity, ok_segment, rec, rec_names, out
    )
    if ok_text["subject"]:
        n_subjects = int(frame["subject"].nunique())
        if n_subjects < MIN_SUBJECTS:
            out.warning(
                f"only {n_subjects} subject(s) (expected at least {MIN_SUBJECTS} to split by subject into "
                "train/val/test)",
                column="subject",
            )
    return _report(out, summary, recordings, skipped)


def _check_timeline(frame: pd.DataFrame, rec: np.ndarray, rate: float, out: IssueCollector) -> None:
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
    inside = ~boundary
    check_increasing(t, out, "timestamp", inside=inside)
    step = np.diff(t)
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
    rec: np.ndarray,
    rec_names: np.ndarray,
    out: IssueCollector,
) -> Tuple[Dict[str, Any], List[Dict[str, Any]], List[SkippedData]]:
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
    n_rec = len(rec_names)
    seg = frame["segment"].to_numpy() if ok_segment else np.zeros(n, dtype=np.int64)
    act, act_names = pd.factorize(labels)
    n_samples = np.bincount(rec, minlength=n_rec)
    n_labelled = np.bincount(rec, weights=labelled.astype(np.float64), minlength=n_rec)
    _, first_row = np.unique(rec, return_index=True)
    subjects = frame["subject"].astype(str).to_numpy()[first_row]
    seg_sizes = pd.Series(np.ones(n, dtype=np.int64)).groupby([rec, seg]).sum()
    seg_starts = pd.Series(frame["timestamp"].to_numpy(dtype=np.float64)).groupby([rec, seg]).min()
    longest = seg_sizes.groupby(level=0).max().to_numpy()
    n_segments = seg_sizes.groupby(level=0).size().to_numpy()
    per_activity = (
        pd.Series(np.ones(int(labelled.sum()), dtype=np.int64)).groupby([rec[labelled], act[labelled]]).sum()
    )
    activity_seconds: List[Dict[str, float]] = [{} for _ in range(n_rec)]
    for (r, a), count in per_activity.items():
        activity_seconds[int(r)][str(act_names[a])] = float(count) / rate

    recordings: List[Dict[str, Any]] = []
    skipped: List[SkippedData] = []
    for r in sorted(range(n_rec), key=lambda code: str(rec_names[code])):
        rid = str(rec_names[r])
        sizes = seg_sizes.loc[r]
        skipped.extend(
            report_short_segments(
                rid, sizes.index.to_numpy(), sizes.to_numpy(), seg_starts.loc[r].to_numpy(), data, out
            )
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
    return summary, recordings, skipped


def _report(
    out: IssueCollector,
    summary: Dict[str, Any],
    recordings: List[Dict[str, Any]],
    skipped: List[SkippedData],
) -> DataQualityReport:
    return DataQualityReport(
        passed=out.n_errors == 0, summary=dict(summary), recordings=recordings, issues=list(out.issues),
        skipped=skipped,
    )


def merge_reports(ingest: DataQualityReport, checked: DataQualityReport) -> DataQualityReport:
    """One report from ingestion's findings and the DataFrame checks: every issue and skip of both.

    Per-recording rows join on `recording_id` (the DataFrame's figures win);
    recordings ingestion skipped entirely appear in `skipped` only.
    """
    facts = {str(row.get("recording_id")): row for row in ingest.recordings}
    if checked.recordings:
        recordings = [{**facts.get(str(row.get("recording_id")), {}), **row} for row in checked.recordings]
    else:
        recordings = [dict(row) for row in ingest.recordings]
    return DataQualityReport(
        passed=ingest.passed and checked.passed,
        summary={**ingest.summary, **checked.summary},
        recordings=recordings,
        issues=[*ingest.issues, *checked.issues],
        skipped=[*ingest.skipped, *checked.skipped],
    )


def raise_for_issues(report: DataQualityReport, max_reported: int = 20) -> None:
    """Raise `DataValidationError` listing the report's error issues; do nothing if there are none."""
    if report.errors:
        raise DataValidationError(report.errors, max_reported)
