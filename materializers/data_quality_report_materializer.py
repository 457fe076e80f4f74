"""Materializer for `har.types.DataQualityReport`.

Layout inside the artifact URI::

    report.json   {"format_version", "type", "passed", "summary", "recordings", "issues"}
    report.html   (visualization: PASSED/FAILED banner, summary, recordings, issues)

numpy scalars/arrays, tuples, sets, paths and datetimes inside the report are
converted to plain JSON on save, so a loaded report holds plain Python values.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
from typing import Any, ClassVar, Dict, List, Mapping, Tuple, Type

import numpy as np
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.types import DataQualityReport

FORMAT_VERSION = 1
DATA_FILE = "report.json"
HTML_FILE = "report.html"
REQUIRED_FIELDS = ("format_version", "type", "passed", "summary", "recordings", "issues")
ISSUE_COLUMNS = ["severity", "recording", "file", "column", "line", "message"]
_DURATION_KEYS = ("total_duration_s", "duration_s", "total_duration", "duration")


class DataQualityReportMaterializer(BaseMaterializer):
    """Stores a `DataQualityReport` as `report.json` with an HTML rendering."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (DataQualityReport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: DataQualityReport) -> None:
        content = {
            "format_version": FORMAT_VERSION,
            "type": "DataQualityReport",
            "passed": bool(data.passed),
            "summary": data.summary,
            "recordings": data.recordings,
            "issues": data.issues,
        }
        text = json.dumps(content, indent=2, default=_to_json)
        if not self.artifact_store.exists(self.uri):
            self.artifact_store.makedirs(self.uri)
        with self.artifact_store.open(self._path(DATA_FILE), "w") as handle:
            handle.write(text)

    def load(self, data_type: Type[Any]) -> DataQualityReport:
        path = self._path(DATA_FILE)
        content = _read_json(self.artifact_store, path, "DataQualityReport")
        if not isinstance(content["passed"], bool):
            raise ValueError(f"{path}: 'passed' must be true/false, got {content['passed']!r}")
        if not isinstance(content["summary"], dict):
            raise ValueError(f"{path}: 'summary' must be an object")
        for name in ("recordings", "issues"):
            if not isinstance(content[name], list) or not all(isinstance(row, dict) for row in content[name]):
                raise ValueError(f"{path}: '{name}' must be a list of objects")
        return DataQualityReport(
            passed=content["passed"],
            summary=content["summary"],
            recordings=content["recordings"],
            issues=content["issues"],
        )

    def extract_metadata(self, data: DataQualityReport) -> Dict[str, MetadataType]:
        summary = data.summary or {}
        metadata: Dict[str, MetadataType] = {}
        # Scalar summary figures are useful as-is (their names are the validate step's choice).
        for key, value in summary.items():
            scalar = _plain_scalar(value)
            if scalar is not None and len(str(key)) <= 200:
                metadata[str(key)] = scalar
        counts = _severity_counts(data.issues)
        metadata.update(
            {
                "passed": bool(data.passed),
                # The issue list may be capped (max_issues_reported); prefer the summary's totals.
                "n_errors": _int_or(summary.get("n_errors"), counts.get("error", 0)),
                "n_warnings": _int_or(summary.get("n_warnings"), counts.get("warning", 0)),
                "n_issues_listed": len(data.issues),
                "n_recordings": _int_or(summary.get("n_recordings"), len(data.recordings)),
                "n_subjects": _int_or(summary.get("n_subjects"), _count_subjects(data.recordings)),
            }
        )
        duration = _duration_s(summary, data.recordings)
        if duration is not None:
            metadata["duration_s"] = duration
        return metadata

    def save_visualizations(self, data: DataQualityReport) -> Dict[str, VisualizationType]:
        from har import html_tables as html

        metadata = self.extract_metadata(data)
        n_errors, n_warnings = metadata["n_errors"], metadata["n_warnings"]
        status = "PASSED" if data.passed else "FAILED"
        banner = html.banner(
            f"{status}: {metadata['n_recordings']} recording(s), "
            f"{n_errors} error(s), {n_warnings} warning(s)",
            ok=bool(data.passed),
        )
        issues = [_json_safe(issue) for issue in data.issues]
        extra = [key for issue in issues for key in issue if key not in ISSUE_COLUMNS]
        issue_columns = ISSUE_COLUMNS + list(dict.fromkeys(extra))
        listed_note = ""
        if len(issues) < int(n_errors) + int(n_warnings):
            listed_note = f" (first {len(issues)} of {int(n_errors) + int(n_warnings)})"
        document = html.page(
            "Data quality report",
            banner,
            html.heading("Summary"),
            html.table_from_dict(_json_safe(data.summary or {})),
            html.heading(f"Issues{listed_note}"),
            html.table_from_records(
                issues, columns=issue_columns, row_class=_severity_class, empty_text="no issues found"
            ),
            html.heading(f"Recordings ({len(data.recordings)})"),
            html.table_from_records(
                [_json_safe(row) for row in data.recordings], empty_text="no recordings", float_digits=2
            ),
        )
        path = self._path(HTML_FILE)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        return {path: VisualizationType.HTML}


def _to_json(value: Any) -> Any:
    """`json.dumps(default=...)`: numpy and other common non-JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()  # object elements come back through this hook
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, pathlib.PurePath):
        return str(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON-serialisable: {value!r}")


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_to_json))


def _read_json(store: Any, path: str, kind: str) -> Dict[str, Any]:
    if not store.exists(path):
        raise FileNotFoundError(f"{path}: missing; this is not a {kind} artifact")
    try:
        with store.open(path, "r") as handle:
            content = json.loads(handle.read())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: corrupt {kind} file ({error})") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(content).__name__}")
    missing = [name for name in REQUIRED_FIELDS if name not in content]
    if missing:
        raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
    if content["type"] != kind:
        raise ValueError(f"{path}: holds a '{content['type']}' artifact, not a {kind}")
    if content["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format_version {content['format_version']!r} is not supported "
            f"(expects {FORMAT_VERSION})"
        )
    return content


def _plain_scalar(value: Any) -> MetadataType | None:
    """Exact `str/int/float/bool` (ZenML checks the exact type), or None for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str) and len(value) <= 1000:
        return str(value)
    return None


def _int_or(value: Any, fallback: int) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return int(fallback)


def _severity(issue: Mapping[str, Any]) -> str:
    severity = str(issue.get("severity", "")).strip().lower()
    return "warning" if severity == "warn" else severity


def _severity_counts(issues: List[Dict[str, Any]]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for issue in issues:
        counts[_severity(issue)] = counts.get(_severity(issue), 0) + 1
    return counts


def _severity_class(issue: Mapping[str, Any]) -> str | None:
    severity = _severity(issue)
    return severity if severity in ("error", "warning") else None


def _count_subjects(recordings: List[Dict[str, Any]]) -> int:
    return len({str(row["subject"]) for row in recordings if row.get("subject") not in (None, "")})


def _duration_s(summary: Mapping[str, Any], recordings: List[Dict[str, Any]]) -> float | None:
    for key in _DURATION_KEYS:
        value = summary.get(key)
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return float(value)
    durations = [row.get("duration_s") for row in recordings]
    numeric = [float(d) for d in durations if isinstance(d, (int, float, np.integer, np.floating))]
    return float(sum(numeric)) if numeric else None
