"""Read a data directory of recordings into one resampled, labelled DataFrame.

Layout (one folder per recording; file and column names come from the schema)::

    <data-dir>/<recording_id>/accelerometer.csv   timestamp,x,y,z
    <data-dir>/<recording_id>/gyroscope.csv       timestamp,x,y,z   (only if the config uses it)
    <data-dir>/<recording_id>/labels.csv          start,end,activity (required for training)
    <data-dir>/<recording_id>/meta.json           optional {"subject", "device", "units": {stream: unit}}

Several streams may be read from one file (e.g. imu.csv with
time,ax,ay,az,gx,gy,gz); it is read once per recording. Broken input is an
error naming recording, file, column and line; all recordings are checked
before one `DataValidationError` lists everything that is wrong. Real-world
imperfections that still leave usable data are warnings, and the data they cost
is listed as `SkippedData`: a gap over `recording.max_gap_s` splits the
recording into segments, a recording shorter than `recording.min_duration_s`
and a segment shorter than one window are skipped. Only when nothing is left is
that an error. All checks are vectorised (recordings can have millions of rows).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

from har.config import TIMESTAMP_UNITS, DataConfig, Schema, StreamSchema, channel_names
from har.errors import WARNING, DataValidationError, Issue, IssueCollector
from har.resampling import assign_labels, resample_streams
from har.types import DataQualityReport, SkippedData
from har.units import check_acceleration_unit
from har.validation import (
    check_activities,
    check_increasing,
    check_value_range,
    format_time,
    report_short_segments,
)

_NAN_WORDS = ("nan", "-nan", "na", "n/a", "null", "none")
_DELIMITERS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_UNIT_WORDS = {"ms": "milliseconds", "s": "seconds", "us": "microseconds", "ns": "nanoseconds"}
_EPS_S = 1e-6  # float rounding of epoch-second timestamps


def _per_second(unit: str) -> float:
    """Timestamp units per second (1000 for ms): dividing by it is exact where multiplying by 1e-3 is not."""
    return float(round(1.0 / TIMESTAMP_UNITS[unit]))

Progress = Callable[[int, int, str], None]
"""Called after each recording with (recordings done, total, recording id)."""


def _time_expected(schema: Schema) -> str:
    unit = schema.timestamp_unit
    return (
        "expected ISO-8601 text such as 2024-05-01T10:00:00.020Z or numeric epoch "
        f"{_UNIT_WORDS[unit]} (schema timestamp_unit: {unit})"
    )


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


def _check_header(
    path: Path, expected: Sequence[str], ignored: Sequence[str], rep: IssueCollector
) -> List[str] | None:
    """The file's column names if it exists and has the expected columns (plus any `ignored`); else None."""
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
        _report_not_utf8(path, rep)
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
    extra = [name for name in header if name not in expected and name not in ignored]
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
            f"unexpected column {shown} (expected exactly the columns {expected_text}; list columns to "
            "leave unread in the schema's ignore_columns)",
            column=name or None,
            row=1,
        )
        ok = False
    return header if ok else None


def _complete_rows(path: Path, rep: IssueCollector) -> int | None:
    """How many data rows to read: all (None), or all but a last line that has no line break.

    A file cut off while copying ends in the middle of its last row, and a cut
    number still parses ("0.98" -> "0.9"): a last line without a line break is
    not trusted. It is left out, with a warning naming it.
    """
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) in (b"\n", b"\r"):
            return None
        handle.seek(0)
        n_breaks = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    if n_breaks == 0:  # a header alone: the "no data rows" check speaks for it
        return None
    rep.warning(
        "the last line has no line break: the file may have been cut off in the middle of this row, so it "
        "was left out (re-export the file if rows are missing; a complete file ends with a line break)",
        row=n_breaks + 1,
    )
    return n_breaks - 1


def _report_not_utf8(path: Path, rep: IssueCollector) -> None:
    """An error at the line of the first byte sequence that is not UTF-8, naming the bytes."""
    data = path.read_bytes()
    line, found = 1, ""
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, found = data[: error.start].count(b"\n") + 1, data[error.start : error.end].hex(" ")
    rep.error(f"bytes {found} are not UTF-8 text (expected a UTF-8 encoded CSV file; re-save it as UTF-8)", row=line)


def _read_csv(path: Path, expected: Sequence[str], schema: Schema, rep: IssueCollector) -> pd.DataFrame | None:
    """Read a CSV as strings (for precise diagnostics) after checking its header; None if unusable."""
    header = _check_header(path, expected, schema.ignore_columns, rep)
    return None if header is None else _read_text(path, header, expected, rep, _complete_rows(path, rep))


def _read_text(
    path: Path, header: List[str], expected: Sequence[str], rep: IssueCollector, nrows: int | None = None
) -> pd.DataFrame | None:
    expected_text = ",".join(expected)
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            nrows=nrows,
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
        _report_not_utf8(path, rep)
        return None
    frame.columns = header
    if len(frame) == 0:
        rep.error(f"file has a header but no data rows (expected rows of {expected_text})")
        return None
    return frame


def _read_stream_fast(
    path: Path, header: List[str], time_col: str, value_cols: Sequence[str], per_second: float,
    nrows: int | None = None,
) -> Tuple[np.ndarray, np.ndarray, pd.Series] | None:
    """Typed read of a clean stream file: (epoch s, values float64, raw timestamp column).

    Returns None when anything is unusual (parse error, non-numeric or missing
    value, blank line, unparseable timestamp); the caller then re-reads the
    file as text to report exactly what is wrong and where.
    """
    try:
        frame = pd.read_csv(path, skip_blank_lines=False, encoding="utf-8-sig", low_memory=False, nrows=nrows)
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
        t = raw_time.to_numpy(dtype=np.float64) / per_second
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


def _parse_times(raw: pd.Series, rep: IssueCollector, column: str, schema: Schema) -> np.ndarray | None:
    """Epoch seconds (float64) from ISO-8601 text or numeric epoch timestamps, decided per column; None on error."""
    expected = _time_expected(schema)
    text = raw.str.strip()
    empty = (text == "").to_numpy()
    as_number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    numeric = np.isfinite(as_number)
    if numeric.all():
        return as_number / _per_second(schema.timestamp_unit)

    n_before = rep.n_errors
    if empty.any():
        rep.error(f"empty timestamp ({expected})", column=column, mask=empty)
    candidates = ~numeric & ~empty
    parsed = pd.to_datetime(text.where(candidates), utc=True, format="ISO8601", errors="coerce")
    is_iso = parsed.notna().to_numpy()
    bad = candidates & ~is_iso
    if bad.any():
        first = text.iloc[int(np.flatnonzero(bad)[0])]
        rep.error(f"timestamp '{first}' cannot be parsed ({expected})", column=column, mask=bad)
    if numeric.any() and is_iso.any():
        first_numeric = int(np.flatnonzero(numeric)[0])
        first_iso = int(np.flatnonzero(is_iso)[0])
        epoch_words = f"numeric epoch {_UNIT_WORDS[schema.timestamp_unit]}"
        if first_numeric < first_iso:
            odd, kind, other = is_iso, "ISO-8601 text", epoch_words
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


def _parse_floats(raw: pd.Series, rep: IssueCollector, column: str) -> Tuple[np.ndarray, bool]:
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


# --------------------------------------------------------------------------- stream files


@dataclass
class _File:
    """One stream file, read once however many streams it holds."""

    t: np.ndarray | None  # epoch seconds; None when the timestamps cannot be parsed
    columns: Dict[str, np.ndarray]  # value column -> values as written (float64, NaN where unusable)
    n_rows: int
    median_rate_hz: float = float("nan")
    duration_s: float = 0.0  # n_rows x median interval: 500 samples at 50 Hz are 10.0 s
    gaps: Tuple[Tuple[float, float], ...] = ()  # (last time before, first time after) of each long gap


def _timestamp_unit_hint(median_step_s: float, data: DataConfig, schema: Schema) -> str:
    """' — these look like epoch seconds ...' when another timestamp unit gives a rate near the config's."""
    declared = schema.timestamp_unit
    raw_step = median_step_s / TIMESTAMP_UNITS[declared]
    if not raw_step > 0:
        return ""
    best = min(
        TIMESTAMP_UNITS, key=lambda unit: abs(math.log(data.sampling_rate_hz * raw_step * TIMESTAMP_UNITS[unit]))
    )
    if best == declared:
        return ""
    factor = TIMESTAMP_UNITS[best] / TIMESTAMP_UNITS[declared]
    return (
        f" — these look like {_UNIT_WORDS[best]}; set timestamp_unit: {best} in the dataset schema "
        f"or multiply them by {factor:g}"
    )


def _read_stream_file(
    folder: Path, file: str, value_cols: Sequence[str], data: DataConfig, schema: Schema, rep: IssueCollector
) -> _File | None:
    """Parse a stream file and check its timeline; None when it cannot be read at all (issues in `rep`)."""
    time_col = schema.timestamp_column
    path = folder / file
    expected = schema.file_columns(file)
    header = _check_header(path, expected, schema.ignore_columns, rep)
    if header is None:
        return None
    nrows = _complete_rows(path, rep)
    fast = _read_stream_fast(path, header, time_col, value_cols, _per_second(schema.timestamp_unit), nrows)
    if fast is not None:
        t, matrix, raw_time = fast
        columns = {col: matrix[:, k] for k, col in enumerate(value_cols)}
    else:  # something is off: re-read as text to say exactly what and where
        frame = _read_text(path, header, expected, rep, nrows)
        if frame is None:
            return None
        raw_time = frame[time_col]
        t = _parse_times(raw_time, rep, time_col, schema)
        columns = {col: _parse_floats(frame[col], rep, col)[0] for col in value_cols}
    read = _File(t=t, columns=columns, n_rows=len(raw_time))
    if t is None or not check_increasing(t, rep, time_col, shown=raw_time.to_numpy()):
        return read

    rules = schema.recording
    step = np.diff(t)
    gaps = step > rules.max_gap_s
    if gaps.any():
        i = int(np.flatnonzero(gaps)[0])
        more = f"; {int(gaps.sum())} such gaps in this file" if gaps.sum() > 1 else ""
        rep.warning(
            f"gap of {step[i]:.3f} s after the previous line (no sample from {format_time(t[i])} to "
            f"{format_time(t[i + 1])}; longer than recording.max_gap_s = {rules.max_gap_s:g} s): the "
            f"recording is split into segments there{more}",
            column=time_col,
            mask=gaps,
            offset=1,
        )
        read.gaps = tuple((float(t[i]), float(t[i + 1])) for i in np.flatnonzero(gaps))
    if step.size:
        median_step = float(np.median(step))
        read.median_rate_hz = 1.0 / median_step
        read.duration_s = round(read.n_rows * median_step, 6)
        needed = rules.min_rate_ratio * data.sampling_rate_hz
        numeric = pd.to_numeric(raw_time.iloc[:1], errors="coerce").notna().all()
        hint = _timestamp_unit_hint(median_step, data, schema) if numeric else ""
        if read.median_rate_hz < needed:
            rep.error(
                f"median sampling rate is {read.median_rate_hz:.2f} Hz (expected at least {needed:g} Hz = "
                f"recording.min_rate_ratio {rules.min_rate_ratio:g} x sampling_rate_hz "
                f"{data.sampling_rate_hz:g}){hint}",
                column=time_col,
            )
        elif median_step < 1e-3 and numeric:
            rep.error(
                f"median interval between samples is {median_step * 1000:.4f} ms ({read.median_rate_hz:.0f} Hz) "
                f"(expected numeric timestamps in epoch {_UNIT_WORDS[schema.timestamp_unit]}{hint})",
                column=time_col,
            )
    return read


def _stream_values(
    name: str, spec: StreamSchema, unit: str, read: _File, schema: Schema, rep: IssueCollector
) -> np.ndarray:
    """The stream's x, y, z columns converted from `unit` to the canonical unit, range-checked."""
    factor = spec.factor(unit)
    hint = (
        f' (wrong unit? declare it in {schema.meta_file} "units" or in the schema\'s '
        f"streams.{name}.input_unit)"
    )
    columns = []
    for col in spec.columns[1:]:
        raw = read.columns[col]
        converted = raw * factor
        check_value_range(converted, spec, rep, col, raw_values=raw, raw_unit=unit, hint=hint)
        columns.append(converted)
    return np.column_stack(columns)


def _check_unit(
    name: str, spec: StreamSchema, unit: str, values: np.ndarray, data: DataConfig, schema: Schema,
    rep: IssueCollector,
) -> None:
    """Acceleration in g must be about 1 g in magnitude (har.units); anything else is a unit error."""
    if spec.unit != "g":  # the 1 g anchor only exists for a stream measured in g
        return
    mismatch = check_acceleration_unit(
        values, unit, spec.unit_factors, spec.unit, linear_acceleration=data.linear_acceleration
    )
    if mismatch is None:
        return
    example = mismatch.likely_unit or spec.known_units()[0]
    rep.error(
        f"{mismatch.describe()}. Declare the unit the file is written in: for this recording in "
        f'{schema.meta_file} {{"units": {{"{name}": "{example}"}}}}, or for every recording in the dataset '
        f"profile's schema.streams.{name}.input_unit (known units: {', '.join(spec.known_units())}); if the "
        "sensor reports gravity-free linear acceleration, set data_config.linear_acceleration: true"
    )


# --------------------------------------------------------------------------- labels and meta


@dataclass
class _Labels:
    """The intervals that carry an activity (ignored labels removed, renames applied)."""

    starts: np.ndarray
    ends: np.ndarray
    activities: np.ndarray
    lines: np.ndarray  # file line of each interval
    raw_starts: List[str]
    n_ignored: int


def _read_labels(folder: Path, data: DataConfig, schema: Schema, rep: IssueCollector) -> _Labels | None:
    spec = schema.labels
    frame = _read_csv(folder / spec.file, spec.columns, schema, rep)
    if frame is None:
        return None
    start_col, end_col, activity_col = spec.columns[:3]
    n_before = rep.n_errors
    starts = _parse_times(frame[start_col], rep, start_col, schema)
    ends = _parse_times(frame[end_col], rep, end_col, schema)
    activity = frame[activity_col].str.strip()
    check_activities(
        activity, data.activities, rep, activity_col, renames=spec.activity_names, ignored=spec.ignore_activities
    )
    used = ~activity.isin(spec.ignore_activities).to_numpy()
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
        else:  # ignored intervals count as unlabelled, so they may overlap the others
            index = np.flatnonzero(used)
            order = index[np.argsort(starts[index], kind="stable")]
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
                    more_rows=int(overlap.sum()) - 1,
                )
    if rep.n_errors > n_before or starts is None or ends is None:
        return None
    renamed = activity.map(lambda name: spec.activity_names.get(name, name))
    return _Labels(
        starts=starts[used],
        ends=ends[used],
        activities=renamed.to_numpy(dtype=str)[used],
        lines=(np.arange(len(frame)) + 2)[used],
        raw_starts=[text for text, keep in zip(frame[start_col].str.strip(), used, strict=True) if keep],
        n_ignored=int((~used).sum()),
    )


def _read_meta(
    folder: Path, recording: str, data: DataConfig, schema: Schema, rep: IssueCollector
) -> Tuple[str, str | None, Dict[str, str]]:
    """(subject, device, unit per configured stream) from meta.json, with defaults."""
    units = {name: schema.streams[name].default_unit for name in data.streams}
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
        allowed = spec.known_units()
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


def _cut_at_gaps(
    grid: np.ndarray, values: np.ndarray, segments: np.ndarray, gaps: Sequence[Tuple[float, float]]
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop grid points inside a long gap of any stream and start a new segment after each gap.

    The resampler already drops points far from every sample; this also holds
    when merge_tolerance_ms is large, so no segment (and no window) spans a gap.
    """
    if not gaps or grid.size == 0:
        return grid, values, segments
    inside = np.zeros(grid.size, dtype=bool)
    for before, after in gaps:
        lo = np.searchsorted(grid, before + _EPS_S, side="right")
        hi = np.searchsorted(grid, after - _EPS_S, side="left")
        inside[lo:hi] = True
    keep = ~inside
    grid, values, segments = grid[keep], values[keep], segments[keep]
    middles = np.sort([(before + after) / 2.0 for before, after in gaps])
    crossed = np.searchsorted(middles, grid)  # gaps before each point
    renumbered = np.zeros(grid.size, dtype=np.int32)
    if grid.size > 1:
        cut = (np.diff(segments) != 0) | (np.diff(crossed) != 0)
        renumbered[1:] = np.cumsum(cut, dtype=np.int64).astype(np.int32)
    return grid, values, renumbered


def _points_in_gaps(start: float, end: float, rate: float, gaps: Sequence[Tuple[float, float]]) -> Tuple[int, int]:
    """(grid points of [start, end], of those inside a long gap): what the common span could hold."""
    n_full = int(np.floor((end - start) * rate + 1e-3)) + 1
    full = start + np.arange(n_full, dtype=np.float64) / rate
    inside = np.zeros(n_full, dtype=bool)
    for before, after in gaps:
        inside[np.searchsorted(full, before + _EPS_S, side="right") : np.searchsorted(full, after - _EPS_S)] = True
    return n_full, int(inside.sum())


def _ingest_one(
    folder: Path, data: DataConfig, schema: Schema, require_labels: bool
) -> Tuple[_Recording | None, List[Issue], List[SkippedData]]:
    """(the recording or None if unusable or skipped, its issues in file and line order, what was skipped)."""
    rid = folder.name
    meta_rep = IssueCollector(rid, schema.meta_file)
    subject, device, units = _read_meta(folder, rid, data, schema, meta_rep)
    reports = [meta_rep]
    skipped: List[SkippedData] = []

    by_file: Dict[str, List[str]] = {}  # a file shared by several streams is read once
    for name in data.streams:
        by_file.setdefault(schema.streams[name].file, []).append(name)
    files: Dict[str, Tuple[_File, IssueCollector]] = {}
    streams: Dict[str, np.ndarray] = {}
    for file, names in by_file.items():
        rep = IssueCollector(rid, file)
        reports.append(rep)
        value_cols = list(dict.fromkeys(c for name in names for c in schema.streams[name].columns[1:]))
        read = _read_stream_file(folder, file, value_cols, data, schema, rep)
        if read is None:
            continue
        files[file] = (read, rep)
        for name in names:
            spec = schema.streams[name]
            streams[name] = _stream_values(name, spec, units[name], read, schema, rep)
            if not rep.n_errors:
                _check_unit(name, spec, units[name], streams[name], data, schema, rep)

    labels: _Labels | None = None
    label_rep = IssueCollector(rid, schema.labels.file)
    if require_labels or (folder / schema.labels.file).exists():
        labels = _read_labels(folder, data, schema, label_rep)
        if not require_labels and label_rep.n_errors:
            # Inference does not need labels: report problems but do not fail on them.
            label_rep.issues = [
                replace(i, severity=WARNING, message=f"{i.message} (labels ignored: not required for this run)")
                for i in label_rep.issues
            ]
            labels = None
    reports.append(label_rep)

    rec_rep = IssueCollector(rid, None)
    reports.append(rec_rep)
    result: _Recording | None = None
    if not any(r.n_errors for r in reports):
        result = _assemble(rid, subject, device, units, files, streams, labels, label_rep, rec_rep, skipped,
                           data, schema)
    issues: List[Issue] = []
    for rep in reports:  # per file in line order; file-level issues (no line) last
        issues.extend(sorted(rep.issues, key=lambda i: (i.row is None, i.row or 0)))
    ok = not any(r.n_errors for r in reports)
    return (result if ok else None), issues, (skipped if ok else [])


def _assemble(
    rid: str,
    subject: str,
    device: str | None,
    units: Dict[str, str],
    files: Dict[str, Tuple[_File, IssueCollector]],
    streams: Dict[str, np.ndarray],
    labels: _Labels | None,
    label_rep: IssueCollector,
    rec_rep: IssueCollector,
    skipped: List[SkippedData],
    data: DataConfig,
    schema: Schema,
) -> _Recording | None:
    """Resample one error-free recording, split it at gaps, skip what is too short, attach labels."""
    rate = float(data.sampling_rate_hz)
    rules = schema.recording
    time_col = schema.timestamp_column
    stream_file = {name: schema.streams[name].file for name in streams}

    # Half a sample of slack absorbs the rounding of float epoch timestamps in n_rows x median interval.
    short = {
        file: read
        for file, (read, _) in files.items()
        if read.duration_s < rules.min_duration_s - 0.5 / read.median_rate_hz or read.n_rows < 2
    }
    for file, read in short.items():
        files[file][1].warning(
            f"stream is {read.duration_s:.2f} s long ({read.n_rows} samples at a median "
            f"{read.median_rate_hz:.3g} Hz; expected at least recording.min_duration_s = "
            f"{rules.min_duration_s:g} s): the recording is skipped",
            column=time_col,
        )
    if short:
        seconds = min(read.duration_s for read, _ in files.values())
        reason = (
            f"shorter than recording.min_duration_s = {rules.min_duration_s:g} s "
            f"({', '.join(f'{file}: {read.duration_s:.2f} s' for file, read in short.items())})"
        )
        skipped.append(SkippedData(recording=rid, reason=reason, seconds=float(seconds)))
        return None

    times = {name: files[stream_file[name]][0].t for name in streams}
    grid, values, segments = resample_streams(
        {name: (times[name], streams[name]) for name in streams}, rate, data.merge_tolerance_ms / 1000.0
    )
    span_start = max(float(t[0]) for t in times.values())
    span_end = min(float(t[-1]) for t in times.values())
    if span_end <= span_start:
        spans = "; ".join(f"{n}: {format_time(t[0])} – {format_time(t[-1])}" for n, t in times.items())
        rec_rep.error(f"the sensor streams do not overlap in time ({spans}); expected simultaneous recordings")
        return None
    if grid.size == 0:
        rec_rep.error(
            f"no time point has a sample of every stream within merge_tolerance_ms = "
            f"{data.merge_tolerance_ms:g} ms (streams: {', '.join(streams)}); "
            "increase merge_tolerance_ms or check the timestamps"
        )
        return None
    gaps = sorted(gap for read, _ in files.values() for gap in read.gaps)
    grid, values, segments = _cut_at_gaps(grid, values, segments, gaps)

    n_full, n_in_gaps = _points_in_gaps(span_start, span_end, rate, gaps)
    dropped = max(0.0, 1.0 - grid.size / max(n_full - n_in_gaps, 1))
    n_gap_cuts = sum(span_start < (a + b) / 2 < span_end for a, b in gaps)
    n_segments = int(segments[-1]) + 1 if segments.size else 0
    if dropped > 0.05 or n_segments - n_gap_cuts > 10:
        rec_rep.warning(
            f"{dropped:.1%} of the common time span (outside gaps) has no sample of every stream within "
            f"merge_tolerance_ms = {data.merge_tolerance_ms:g} ms and was dropped, splitting the "
            f"recording into {n_segments} segments (if the data has no real holes, increase "
            "merge_tolerance_ms to about 0.6 / sampling_rate_hz = "
            f"{600 / data.sampling_rate_hz:g} ms)"
        )
    usable_s = grid.size / rate
    if usable_s < rules.min_duration_s - 0.5 / rate:
        reason = (
            f"shorter than recording.min_duration_s = {rules.min_duration_s:g} s: only {usable_s:.2f} s "
            "have a sample of every stream"
        )
        rec_rep.warning(f"recording is {reason}; it is skipped")
        skipped.append(SkippedData(recording=rid, reason=reason, seconds=usable_s))
        return None

    ids, first, lengths = np.unique(segments, return_index=True, return_counts=True)
    short_segments = report_short_segments(rid, ids, lengths, grid[first], data, rec_rep)
    skipped.extend(short_segments)
    if short_segments:
        keep = ~np.isin(segments, [item.segment for item in short_segments])
        grid, values, segments = grid[keep], values[keep], segments[keep]
        if grid.size == 0:
            return None

    if labels is not None and labels.starts.size:
        activity = assign_labels(grid, labels.starts, labels.ends, labels.activities)
        outside = (labels.ends <= span_start) | (labels.starts >= span_end)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            label_rep.warning(
                f"label interval starting '{labels.raw_starts[i]}' lies outside the recording "
                f"({format_time(span_start)} – {format_time(span_end)}); wrong time zone or unit?",
                column=schema.labels.columns[0],
                row=int(labels.lines[i]),
                more_rows=int(outside.sum()) - 1,
            )
    else:
        activity = np.full(grid.shape, "", dtype="<U1")
    labelled = float(np.mean(activity != "")) if activity.size else 0.0
    if labels is not None and labelled == 0.0:
        label_rep.warning("no sample of the recording is covered by a label interval")
    facts = {
        "recording_id": rid,
        "subject": subject,
        "device": device,
        "units": dict(units),
        "n_rows": {name: files[stream_file[name]][0].n_rows for name in streams},
        "median_rate_hz": {name: round(files[stream_file[name]][0].median_rate_hz, 4) for name in streams},
        "start_time": format_time(float(grid[0])),
        "duration_s": round(grid.size / rate, 6),
        "n_samples": int(grid.size),
        "n_segments": int(np.unique(segments).size),
        "n_gaps": len(gaps),
        "skipped_s": round(sum(item.seconds for item in short_segments), 6),
        "n_label_intervals": None if labels is None else int(labels.starts.size),
        "n_ignored_label_intervals": None if labels is None else labels.n_ignored,
        "labelled_fraction": round(labelled, 6),
    }
    return _Recording(rid, subject, grid, values, segments, activity, facts)


# --------------------------------------------------------------------------- public


def _nothing_left(n_recordings: int, skipped: List[SkippedData]) -> Issue:
    reasons = [
        f"'{item.recording}'{'' if item.segment is None else f' segment {item.segment}'}: {item.reason}"
        for item in skipped
    ]
    listed = "; ".join(reasons[:5]) + (f"; ... and {len(reasons) - 5} more" if len(reasons) > 5 else "")
    return Issue.error(
        f"every recording was skipped ({n_recordings} of {n_recordings}), so there is no data to use: {listed} "
        "(record longer sessions, or lower recording.min_duration_s / data_config.window_size)"
    )


def ingest_recordings(
    data_dir: str | Path,
    data: DataConfig,
    schema: Schema,
    *,
    require_labels: bool = True,
    progress: Progress | None = None,
) -> Tuple[pd.DataFrame, DataQualityReport]:
    """Validate and read every recording of `data_dir`.

    Returns `(sensor_data, ingest_report)`: one DataFrame with columns
    recording_id, subject, segment (int32), timestamp (float64 epoch s on a
    uniform grid within a segment), one float32 column per channel and activity
    ("" where unlabelled), sorted by recording then time; and a
    `DataQualityReport` with one row of facts per used recording, every warning
    and every piece of skipped data. Raises `DataValidationError` listing every
    error of every recording, or when every recording was skipped.
    """
    channels = channel_names(data, schema)
    folders = discover_recordings(data_dir)
    issues: List[Issue] = []
    skipped: List[SkippedData] = []
    kept: List[_Recording] = []
    for done, folder in enumerate(folders, start=1):
        recording, found, left_out = _ingest_one(folder, data, schema, require_labels)
        issues.extend(found)
        skipped.extend(left_out)
        if recording is not None:
            kept.append(recording)
        if progress is not None:
            progress(done, len(folders), folder.name)
    errors = [issue for issue in issues if issue.is_error]
    if not errors and not kept:
        errors = [_nothing_left(len(folders), skipped)]
    if errors:
        raise DataValidationError(errors, schema.max_issues_reported)

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
    skipped_recordings = {item.recording for item in skipped} - {r.recording_id for r in kept}
    summary = {
        "n_recordings_found": len(folders),
        "n_recordings_skipped": len(skipped_recordings),
        "n_segments_skipped": sum(item.segment is not None for item in skipped),
        "skipped_s": round(sum(item.seconds for item in skipped), 6),
    }
    for recording in kept:
        recording.facts["n_warnings"] = sum(issue.recording == recording.recording_id for issue in issues)
    report = DataQualityReport(
        passed=True, summary=summary, recordings=[r.facts for r in kept], issues=issues, skipped=skipped
    )
    return frame, report
