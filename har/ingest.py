"""Read a data directory of recordings into one resampled, labelled DataFrame.

Layout (one folder per recording)::

    <data-dir>/<recording_id>/accelerometer.csv   timestamp,x,y,z
    <data-dir>/<recording_id>/gyroscope.csv       timestamp,x,y,z   (only if the config uses it)
    <data-dir>/<recording_id>/labels.csv          start,end,activity (required for training)
    <data-dir>/<recording_id>/meta.json           optional {"subject", "device", "units": {stream: unit}}

Reading is strict: every problem becomes an `Issue` naming recording, file,
column and line; all recordings are checked before a single
`DataValidationError` lists everything that is wrong. All checks are
vectorised (recordings can have millions of rows).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

from har.config import DataConfig, Schema, StreamSchema, channel_names
from har.errors import DataValidationError, Issue
from har.resampling import assign_labels, resample_streams

_NAN_WORDS = ("nan", "-nan", "na", "n/a", "null", "none")
_DELIMITERS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_TIME_EXPECTED = "expected ISO-8601 text such as 2024-05-01T10:00:00.020Z or numeric epoch milliseconds"


# --------------------------------------------------------------------------- helpers


def _first_rows(mask: np.ndarray, offset: int = 2) -> Tuple[int, int]:
    """(line number of the first True, count of further Trues); data row 0 is line `offset`."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) + offset, int(idx.size - 1)


def _fmt_time(seconds: float) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()


def _fmt_num(value: float) -> str:
    return f"{value:.6g}"


@dataclass
class _Report:
    """Collects issues for one file of one recording."""

    recording: str
    file: str | None
    issues: List[Issue] = field(default_factory=list)

    def add(
        self,
        severity: str,
        message: str,
        *,
        column: str | None = None,
        mask: np.ndarray | None = None,
        offset: int = 2,
        row: int | None = None,
        more: int = 0,
    ) -> None:
        if mask is not None:
            row, more = _first_rows(mask, offset)
        self.issues.append(
            Issue(
                severity=severity,
                recording=self.recording,
                file=self.file,
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

    @property
    def n_errors(self) -> int:
        return sum(issue.is_error for issue in self.issues)


# --------------------------------------------------------------------------- discovery


def discover_recordings(data_dir: str | Path) -> List[Path]:
    """Sorted recording folders of `data_dir` (hidden folders and `__MACOSX` are skipped)."""
    root = Path(data_dir)
    if not root.exists():
        raise DataValidationError(
            [
                Issue.error(
                    f"data directory {root} does not exist (expected a folder with one subfolder per "
                    "recording)"
                )
            ]
        )
    if not root.is_dir():
        raise DataValidationError(
            [
                Issue.error(
                    f"data directory {root} is a file, not a folder (expected one subfolder per recording)"
                )
            ]
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    if not folders:
        loose = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        hint = (
            f"; found {', '.join(loose[:5])} directly in it — move each recording's files into its own "
            "subfolder"
            if loose
            else ""
        )
        raise DataValidationError(
            [
                Issue.error(
                    f"data directory {root} contains no recordings (expected subfolders such as "
                    f"{root}/<recording_id>/accelerometer.csv){hint}"
                )
            ]
        )
    return folders


# --------------------------------------------------------------------------- CSV reading


def _check_header(path: Path, expected: Sequence[str], rep: _Report) -> List[str] | None:
    """The file's column names if it exists and has exactly the expected columns; else None (with issues)."""
    expected_text = ",".join(expected)
    if not path.is_file():
        what = "a folder" if path.exists() else "missing"
        rep.error(f"file is {what} (expected a CSV file with columns {expected_text})")
        return None
    if path.stat().st_size == 0:
        rep.error(f"file is empty (0 bytes); expected a header line '{expected_text}' followed by data rows")
        return None
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
    except UnicodeDecodeError:
        rep.error("file is not UTF-8 text (expected a UTF-8 encoded CSV file)", row=1)
        return None
    header = [name.strip() for name in next(csv.reader([first_line]), [])]
    if not any(header):
        rep.error(f"header line is empty (expected '{expected_text}')", row=1)
        return None

    if len(header) == 1 and len(expected) > 1:
        found = header[0]
        for delimiter, name in _DELIMITERS:
            if delimiter in found:
                shown = found.replace("\t", "\\t")
                rep.error(
                    f"expected comma-separated columns {expected_text}, found a single column '{shown}' "
                    f"— wrong delimiter ({name})?",
                    row=1,
                )
                return None
        rep.error(f"expected columns {expected_text}, found a single column '{found}'", row=1)
        return None

    ok = True
    seen = set()
    for name in header:
        if name in seen:
            rep.error(
                f"column '{name}' appears more than once (expected columns {expected_text})",
                column=name,
                row=1,
            )
            ok = False
        seen.add(name)
    missing = [name for name in expected if name not in header]
    extra = [name for name in header if name not in expected]
    for name in missing:
        near = [e for e in extra if e.lower() == name.lower()]
        if near:
            rep.error(
                f"column '{near[0]}' should be named '{name}' (column names are case-sensitive; "
                f"expected {expected_text})",
                column=name,
                row=1,
            )
            extra.remove(near[0])
        else:
            rep.error(
                f"missing column '{name}' (expected columns {expected_text}, found {','.join(header)})",
                column=name,
                row=1,
            )
        ok = False
    for name in extra:
        shown = f"'{name}'" if name else "with an empty name (trailing comma?)"
        rep.error(
            f"unexpected column {shown} (expected exactly the columns {expected_text})",
            column=name or None,
            row=1,
        )
        ok = False
    return header if ok else None


def _read_csv(path: Path, expected: Sequence[str], rep: _Report) -> pd.DataFrame | None:
    """Read a CSV as strings (for precise diagnostics) after checking its header; None if unusable."""
    header = _check_header(path, expected, rep)
    return None if header is None else _read_text(path, header, expected, rep)


def _read_text(path: Path, header: List[str], expected: Sequence[str], rep: _Report) -> pd.DataFrame | None:
    expected_text = ",".join(expected)
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        if match:
            n_expected, line, saw = (int(g) for g in match.groups())
            rep.error(
                f"line has {saw} fields, expected {n_expected} ({expected_text}) — an unquoted comma "
                "or a decimal comma?",
                row=line,
            )
        else:
            rep.error(f"file cannot be parsed as CSV: {exc} (expected columns {expected_text})")
        return None
    except UnicodeDecodeError:
        rep.error("file is not UTF-8 text (expected a UTF-8 encoded CSV file)")
        return None
    frame.columns = header
    if len(frame) == 0:
        rep.error(f"file has a header but no data rows (expected rows of {expected_text})")
        return None
    return frame


def _read_stream_fast(
    path: Path, header: List[str], time_col: str, value_cols: Sequence[str]
) -> Tuple[np.ndarray, np.ndarray, pd.Series] | None:
    """Typed read of a clean stream file: (epoch s, values float64, raw timestamp column).

    Returns None when anything is unusual (parse error, non-numeric or missing
    value, blank line, unparseable timestamp); the caller then re-reads the
    file as text to report exactly what is wrong and where.
    """
    try:
        frame = pd.read_csv(path, skip_blank_lines=False, encoding="utf-8-sig", low_memory=False)
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError):
        return None
    if len(frame) == 0 or len(frame.columns) != len(header):
        return None
    frame.columns = header
    columns = []
    for col in value_cols:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            return None
        values = frame[col].to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            return None
        columns.append(values)
    raw_time = frame[time_col]
    if pd.api.types.is_numeric_dtype(raw_time) and not pd.api.types.is_bool_dtype(raw_time):
        t = raw_time.to_numpy(dtype=np.float64) / 1000.0
    elif pd.api.types.is_object_dtype(raw_time):
        parsed = pd.to_datetime(raw_time, utc=True, format="ISO8601", errors="coerce")
        if parsed.isna().any():
            return None
        t = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)
    else:
        return None
    if not np.isfinite(t).all():
        return None
    return t, np.column_stack(columns), raw_time


def _parse_times(raw: pd.Series, rep: _Report, column: str) -> np.ndarray | None:
    """Epoch seconds (float64) from ISO-8601 text or epoch ms, decided per column; None on error."""
    text = raw.str.strip()
    empty = (text == "").to_numpy()
    as_number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    numeric = np.isfinite(as_number)
    if numeric.all():
        return as_number / 1000.0

    n_before = rep.n_errors
    if empty.any():
        rep.error(f"empty timestamp ({_TIME_EXPECTED})", column=column, mask=empty)
    candidates = ~numeric & ~empty
    parsed = pd.to_datetime(text.where(candidates), utc=True, format="ISO8601", errors="coerce")
    is_iso = parsed.notna().to_numpy()
    bad = candidates & ~is_iso
    if bad.any():
        first = text.iloc[int(np.flatnonzero(bad)[0])]
        rep.error(f"timestamp '{first}' cannot be parsed ({_TIME_EXPECTED})", column=column, mask=bad)
    if numeric.any() and is_iso.any():
        first_numeric = int(np.flatnonzero(numeric)[0])
        first_iso = int(np.flatnonzero(is_iso)[0])
        if first_numeric < first_iso:
            odd, kind, other = is_iso, "ISO-8601 text", "numeric epoch milliseconds"
            first_line = first_numeric + 2
        else:
            odd, kind, other = numeric, "a number", "ISO-8601 text"
            first_line = first_iso + 2
        value = text.iloc[int(np.flatnonzero(odd)[0])]
        rep.error(
            f"timestamp '{value}' is {kind} but line {first_line} is {other} "
            "(expected one timestamp format per file)",
            column=column,
            mask=odd,
        )
    if rep.n_errors > n_before:
        return None
    epoch = pd.Timestamp(0, tz="UTC")
    return (parsed - epoch).dt.total_seconds().to_numpy(dtype=np.float64)


def _parse_floats(raw: pd.Series, rep: _Report, column: str) -> Tuple[np.ndarray, bool]:
    """Float64 values (NaN where unusable) and whether the column is clean."""
    text = raw.str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    nan = np.isnan(values)
    if not nan.any() and np.isfinite(values).all():
        return values, True
    empty = (text == "").to_numpy()
    nan_word = text.str.lower().isin(_NAN_WORDS).to_numpy()
    not_number = nan & ~empty & ~nan_word
    infinite = np.isinf(values)
    if empty.any():
        rep.error("empty cell (expected a float)", column=column, mask=empty)
    if nan_word.any():
        first = text.iloc[int(np.flatnonzero(nan_word)[0])]
        rep.error(f"missing value '{first}' (expected a finite float)", column=column, mask=nan_word)
    if not_number.any():
        first = text.iloc[int(np.flatnonzero(not_number)[0])]
        rep.error(f"value '{first}' is not a number (expected a float)", column=column, mask=not_number)
    if infinite.any():
        first = text.iloc[int(np.flatnonzero(infinite)[0])]
        rep.error(f"value '{first}' is infinite (expected a finite float)", column=column, mask=infinite)
    return values, False


def _check_timeline(t: np.ndarray, raw: pd.Series, rep: _Report, column: str) -> bool:
    """Strictly increasing timestamps; returns False if not."""
    step = np.diff(t)
    ok = True
    duplicate = step == 0
    if duplicate.any():
        i = int(np.flatnonzero(duplicate)[0]) + 1
        rep.error(
            f"duplicate timestamp '{str(raw.iloc[i]).strip()}' (same as the previous line; expected strictly "
            "increasing timestamps)",
            column=column,
            mask=duplicate,
            offset=3,
        )
        ok = False
    backwards = step < 0
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0]) + 1
        rep.error(
            f"timestamp '{str(raw.iloc[i]).strip()}' goes backwards (earlier than "
            f"'{str(raw.iloc[i - 1]).strip()}' on "
            "the previous line; expected strictly increasing timestamps — is the file sorted?)",
            column=column,
            mask=backwards,
            offset=3,
        )
        ok = False
    return ok


# --------------------------------------------------------------------------- per file


@dataclass
class _Stream:
    t: np.ndarray
    values: np.ndarray
    n_rows: int
    median_rate_hz: float


def _read_stream(
    folder: Path,
    name: str,
    spec: StreamSchema,
    unit: str,
    data: DataConfig,
    schema: Schema,
    rep: _Report,
) -> _Stream | None:
    time_col = schema.timestamp_column
    if time_col not in spec.columns:
        raise ValueError(f"schema error: stream file {spec.file} has no timestamp column '{time_col}'")
    value_cols = [c for c in spec.columns if c != time_col]
    path = folder / spec.file
    header = _check_header(path, spec.columns, rep)
    if header is None:
        return None
    n_before = rep.n_errors
    fast = _read_stream_fast(path, header, time_col, value_cols)
    if fast is not None:
        t, raw_matrix, raw_time = fast
        raw_columns = [raw_matrix[:, k] for k in range(raw_matrix.shape[1])]
    else:  # something is off: re-read as text to say exactly what and where
        frame = _read_text(path, header, spec.columns, rep)
        if frame is None:
            return None
        raw_time = frame[time_col]
        t = _parse_times(raw_time, rep, time_col)
        raw_columns = [_parse_floats(frame[col], rep, col)[0] for col in value_cols]
    n_rows = len(raw_time)

    factor = 1.0 if unit == spec.unit else float(spec.unit_factors[unit])
    low, high = spec.value_range
    columns = []
    for col, raw_values in zip(value_cols, raw_columns, strict=True):
        converted = raw_values * factor
        outside = np.isfinite(converted) & ((converted < low) | (converted > high))
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            shown = f"{_fmt_num(raw_values[i])} {unit}"
            if unit != spec.unit:
                shown += f" (= {_fmt_num(converted[i])} {spec.unit})"
            rep.error(
                f"value {shown} is outside the plausible range "
                f"[{_fmt_num(low)}, {_fmt_num(high)}] {spec.unit} "
                f'(wrong unit? declare it in {schema.meta_file} "units")',
                column=col,
                mask=outside,
            )
        columns.append(converted)
    values = np.column_stack(columns) if columns else np.empty((n_rows, 0))

    median_rate = float("nan")
    if t is not None and _check_timeline(t, raw_time, rep, time_col):
        step = np.diff(t)
        rules = schema.recording
        gaps = step > rules.max_gap_s
        if gaps.any():
            i = int(np.flatnonzero(gaps)[0])
            rep.error(
                f"gap of {step[i]:.3f} s after the previous line (expected no gap longer than "
                f"recording.max_gap_s = {rules.max_gap_s:g} s)",
                column=time_col,
                mask=gaps,
                offset=3,
            )
        duration = float(t[-1] - t[0])
        if duration < rules.min_duration_s:
            rep.error(
                f"recording is {duration:.2f} s long (expected at least recording.min_duration_s = "
                f"{rules.min_duration_s:g} s)",
                column=time_col,
            )
        if step.size:
            median_step = float(np.median(step))
            median_rate = 1.0 / median_step
            needed = rules.min_rate_ratio * data.sampling_rate_hz
            if median_rate < needed:
                rep.error(
                    f"median sampling rate is {median_rate:.2f} Hz (expected at least {needed:g} Hz = "
                    f"recording.min_rate_ratio {rules.min_rate_ratio:g} x sampling_rate_hz "
                    f"{data.sampling_rate_hz:g})",
                    column=time_col,
                )
            if median_step < 1e-3 and pd.to_numeric(raw_time.iloc[:1], errors="coerce").notna().all():
                rep.error(
                    f"median interval between samples is {median_step * 1000:.4f} ms ({median_rate:.0f} Hz) "
                    "(expected numeric timestamps in epoch milliseconds — these look like seconds; "
                    "multiply by 1000)",
                    column=time_col,
                )
    if rep.n_errors > n_before or t is None:
        return None
    _check_gravity(name, spec, unit, values, schema, rep)
    return _Stream(t=t, values=values, n_rows=n_rows, median_rate_hz=median_rate)


def _check_gravity(
    name: str, spec: StreamSchema, unit: str, values: np.ndarray, schema: Schema, rep: _Report
) -> None:
    """Warn when accelerometer data in 'g' looks like m/s^2 (|a| ~ 9.8 instead of ~ 1)."""
    if spec.unit != "g" or values.shape[1] != 3:
        return
    magnitude = float(np.median(np.sqrt(np.sum(values**2, axis=1))))
    if 4.0 < magnitude < 20.0:
        rep.warning(
            f"median acceleration magnitude is {magnitude:.2f} {spec.unit} (about 1 g is expected at rest) — "
            f"is the file in m/s^2? Declare it in {schema.meta_file}: "
            f'{{"units": {{"{name}": "m/s^2"}}}} (read as {unit})'
        )


@dataclass
class _Labels:
    starts: np.ndarray
    ends: np.ndarray
    activities: np.ndarray
    lines: np.ndarray  # file line of each interval
    raw_starts: List[str]


def _read_labels(folder: Path, data: DataConfig, schema: Schema, rep: _Report) -> _Labels | None:
    spec = schema.labels
    frame = _read_csv(folder / spec.file, spec.columns, rep)
    if frame is None:
        return None
    start_col, end_col, activity_col = spec.columns[:3]
    n_before = rep.n_errors
    starts = _parse_times(frame[start_col], rep, start_col)
    ends = _parse_times(frame[end_col], rep, end_col)
    activity = frame[activity_col].str.strip()
    known = ", ".join(data.activities)
    empty = (activity == "").to_numpy()
    if empty.any():
        rep.error(f"empty activity (expected one of: {known})", column=activity_col, mask=empty)
    unknown = ~activity.isin(data.activities).to_numpy() & ~empty
    if unknown.any():
        names = sorted(set(activity[unknown]))
        first = activity.iloc[int(np.flatnonzero(unknown)[0])]
        others = f"; all unknown names: {', '.join(names)}" if len(names) > 1 else ""
        rep.error(
            f"unknown activity '{first}' (expected one of: {known}){others}",
            column=activity_col,
            mask=unknown,
        )
    if starts is not None and ends is not None:
        reversed_ = ends <= starts
        if reversed_.any():
            i = int(np.flatnonzero(reversed_)[0])
            rep.error(
                f"end '{frame[end_col].iloc[i].strip()}' is not after "
                f"start '{frame[start_col].iloc[i].strip()}' "
                "(expected end > start)",
                column=end_col,
                mask=reversed_,
            )
        else:
            order = np.argsort(starts, kind="stable")
            running_end = np.maximum.accumulate(ends[order])
            overlap = starts[order][1:] < running_end[:-1]
            if overlap.any():
                k = int(np.flatnonzero(overlap)[0]) + 1
                this = int(order[k])
                previous = int(order[int(np.argmax(ends[order][:k] > starts[this]))])
                rep.error(
                    f"interval {frame[start_col].iloc[this].strip()} – {frame[end_col].iloc[this].strip()} "
                    f"overlaps the interval on line {previous + 2} "
                    f"({frame[start_col].iloc[previous].strip()} – {frame[end_col].iloc[previous].strip()}); "
                    "expected non-overlapping intervals",
                    column=start_col,
                    row=this + 2,
                    more=int(overlap.sum()) - 1,
                )
    if rep.n_errors > n_before or starts is None or ends is None:
        return None
    return _Labels(
        starts=starts,
        ends=ends,
        activities=activity.to_numpy(dtype=str),
        lines=np.arange(len(frame)) + 2,
        raw_starts=frame[start_col].str.strip().tolist(),
    )


def _read_meta(
    folder: Path, recording: str, data: DataConfig, schema: Schema, rep: _Report
) -> Tuple[str, str | None, Dict[str, str]]:
    """(subject, device, unit per configured stream) from meta.json, with defaults."""
    units = {name: schema.streams[name].unit for name in data.streams}
    path = folder / schema.meta_file
    if not path.exists():
        return recording, None, units
    try:
        content = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        rep.error(f"not valid JSON: {exc.msg} at column {exc.colno} (expected a JSON object)", row=exc.lineno)
        return recording, None, units
    except (UnicodeDecodeError, OSError) as exc:
        rep.error(f"cannot be read as UTF-8 JSON ({exc})")
        return recording, None, units
    if not isinstance(content, dict):
        rep.error(
            f"top level is a {type(content).__name__} (expected a JSON object such as "
            '{"subject": "s01", "device": "phone", "units": {"accelerometer": "m/s^2"}})'
        )
        return recording, None, units

    def text_field(key: str) -> str | None:
        value = content.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            rep.error(f"field '{key}' is {json.dumps(value)} (expected a non-empty string)", column=key)
            return None
        return str(value).strip()

    subject = text_field("subject") or recording
    device = text_field("device")
    declared = content.get("units")
    if declared is None:
        return subject, device, units
    if not isinstance(declared, dict):
        rep.error(
            f"field 'units' is {json.dumps(declared)} (expected an object mapping stream name to unit, "
            'e.g. {"accelerometer": "m/s^2"})',
            column="units",
        )
        return subject, device, units
    for stream, unit in declared.items():
        if stream not in schema.streams:
            rep.warning(
                f"units given for unknown stream '{stream}' are ignored (known streams: "
                f"{', '.join(sorted(schema.streams))})",
                column=f"units.{stream}",
            )
            continue
        spec = schema.streams[stream]
        allowed = sorted(set(spec.unit_factors) | {spec.unit})
        if not isinstance(unit, str) or unit not in allowed:
            rep.error(
                f"unknown unit {json.dumps(unit)} for {stream} (expected one of: {', '.join(allowed)})",
                column=f"units.{stream}",
            )
            continue
        if stream in units:
            units[stream] = unit
    return subject, device, units


# --------------------------------------------------------------------------- per recording


@dataclass
class _Recording:
    recording_id: str
    subject: str
    t: np.ndarray
    values: np.ndarray
    segments: np.ndarray
    activity: np.ndarray
    facts: Dict[str, Any]


def _ingest_one(
    folder: Path, data: DataConfig, schema: Schema, require_labels: bool, issues: List[Issue]
) -> _Recording | None:
    rid = folder.name
    meta_rep = _Report(rid, schema.meta_file)
    subject, device, units = _read_meta(folder, rid, data, schema, meta_rep)
    reports = [meta_rep]

    streams: Dict[str, _Stream] = {}
    for name in data.streams:
        spec = schema.streams[name]
        rep = _Report(rid, spec.file)
        reports.append(rep)
        stream = _read_stream(folder, name, spec, units[name], data, schema, rep)
        if stream is not None:
            streams[name] = stream

    labels: _Labels | None = None
    label_rep = _Report(rid, schema.labels.file)
    label_path = folder / schema.labels.file
    if require_labels or label_path.exists():
        labels = _read_labels(folder, data, schema, label_rep)
        if not require_labels and label_rep.n_errors:
            # Inference does not need labels: report problems but do not fail on them.
            label_rep.issues = [
                Issue.warning(
                    f"{i.message} (labels ignored: not required for this run)",
                    recording=i.recording,
                    file=i.file,
                    column=i.column,
                    row=i.row,
                    more_rows=i.more_rows,
                )
                for i in label_rep.issues
            ]
            labels = None
    reports.append(label_rep)

    rec_rep = _Report(rid, None)
    reports.append(rec_rep)
    result: _Recording | None = None
    if not any(r.n_errors for r in reports):
        grid, values, segments = resample_streams(
            {name: (s.t, s.values) for name, s in streams.items()},
            data.sampling_rate_hz,
            data.merge_tolerance_ms / 1000.0,
        )
        span_start = max(float(s.t[0]) for s in streams.values())
        span_end = min(float(s.t[-1]) for s in streams.values())
        if span_end <= span_start:
            spans = "; ".join(f"{n}: {_fmt_time(s.t[0])} – {_fmt_time(s.t[-1])}" for n, s in streams.items())
            rec_rep.error(
                f"the sensor streams do not overlap in time ({spans}); expected simultaneous recordings"
            )
        elif grid.size == 0:
            rec_rep.error(
                f"no time point has a sample of every stream within merge_tolerance_ms = "
                f"{data.merge_tolerance_ms:g} ms (streams: {', '.join(streams)}); "
                "increase merge_tolerance_ms or check the timestamps"
            )
        else:
            expected_points = int(np.floor((span_end - span_start) * data.sampling_rate_hz + 1e-6)) + 1
            dropped = 1.0 - grid.size / expected_points
            n_segments = int(segments[-1]) + 1
            if dropped > 0.05 or n_segments > 10:
                rec_rep.warning(
                    f"{dropped:.1%} of the common time span has no sample of every stream within "
                    f"merge_tolerance_ms = {data.merge_tolerance_ms:g} ms and was dropped, splitting the "
                    f"recording into {n_segments} segments (if the data has no real holes, increase "
                    "merge_tolerance_ms to about 0.6 / sampling_rate_hz = "
                    f"{600 / data.sampling_rate_hz:g} ms)"
                )
            if labels is not None and labels.starts.size:
                activity = assign_labels(grid, labels.starts, labels.ends, labels.activities)
                outside = (labels.ends <= span_start) | (labels.starts >= span_end)
                if outside.any():
                    i = int(np.flatnonzero(outside)[0])
                    label_rep.warning(
                        f"label interval starting '{labels.raw_starts[i]}' lies outside the recording "
                        f"({_fmt_time(span_start)} – {_fmt_time(span_end)}); wrong time zone or unit?",
                        column=schema.labels.columns[0],
                        mask=outside,
                    )
            else:
                activity = np.full(grid.shape, "", dtype="<U1")
            labelled = float(np.mean(activity != "")) if activity.size else 0.0
            if labels is not None and labelled == 0.0:
                label_rep.warning("no sample of the recording is covered by a label interval")
            warnings = [i.to_dict() for r in reports for i in r.issues if not i.is_error]
            facts = {
                "recording_id": rid,
                "subject": subject,
                "device": device,
                "units": dict(units),
                "n_rows": {n: s.n_rows for n, s in streams.items()},
                "median_rate_hz": {n: round(s.median_rate_hz, 4) for n, s in streams.items()},
                "start_time": _fmt_time(float(grid[0])),
                "duration_s": round(float(span_end - span_start), 6),
                "n_samples": int(grid.size),
                "n_segments": int(segments[-1]) + 1,
                "n_label_intervals": None if labels is None else int(labels.starts.size),
                "labelled_fraction": round(labelled, 6),
                "warnings": warnings,
            }
            result = _Recording(rid, subject, grid, values, segments, activity, facts)
    for rep in reports:  # per file in line order; file-level issues (no line) last
        issues.extend(sorted(rep.issues, key=lambda i: (i.row is None, i.row or 0)))
    return result if not any(r.n_errors for r in reports) else None


# --------------------------------------------------------------------------- public


def ingest_recordings(
    data_dir: str | Path,
    data: DataConfig,
    schema: Schema,
    *,
    require_labels: bool = True,
) -> Tuple[pd.DataFrame, List[Dict[str, Any]]]:
    """Validate and read every recording of `data_dir`.

    Returns `(sensor_data, facts)`: one DataFrame with columns recording_id,
    subject, segment (int32), timestamp (float64 epoch s on a uniform grid),
    one float32 column per channel and activity ("" where unlabelled), sorted
    by recording then time; and one JSON-serialisable dict per recording
    (warnings included). Raises `DataValidationError` listing every error of
    every recording.
    """
    channels = channel_names(data, schema)
    folders = discover_recordings(data_dir)
    issues: List[Issue] = []
    recordings = [_ingest_one(folder, data, schema, require_labels, issues) for folder in folders]
    errors = [issue for issue in issues if issue.is_error]
    if errors:
        raise DataValidationError(errors, schema.max_issues_reported)

    kept = [r for r in recordings if r is not None]
    lengths = [r.t.size for r in kept]
    frame = pd.DataFrame(
        {
            "recording_id": np.repeat(np.array([r.recording_id for r in kept], dtype=object), lengths),
            "subject": np.repeat(np.array([r.subject for r in kept], dtype=object), lengths),
            "segment": np.concatenate([r.segments for r in kept]).astype(np.int32),
            "timestamp": np.concatenate([r.t for r in kept]).astype(np.float64),
        }
    )
    values = np.concatenate([r.values for r in kept]).astype(np.float32, copy=False)
    for k, name in enumerate(channels):
        frame[name] = values[:, k]
    frame["activity"] = np.concatenate([r.activity.astype(object) for r in kept])
    return frame, [r.facts for r in kept]
