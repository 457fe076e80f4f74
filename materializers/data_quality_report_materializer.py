"""Materializer for `har.types.DataQualityReport`.

Layout inside the artifact URI::

    report.json   {"format_version", "type", "passed", "summary", "recordings", "issues", "skipped"}
    report.html   (visualization: PASSED/FAILED banner, summary, issues, skipped data, recordings)

`issues` and `skipped` are `Issue.to_dict()` / `SkippedData.to_dict()` records
and are read back into those types. numpy scalars/arrays, tuples, sets, paths
and datetimes inside `summary` and `recordings` are converted to plain JSON on
save, so a loaded report holds plain Python values. Nothing is ever unpickled.
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

from har.errors import Issue
from har.types import DataQualityReport, SkippedData

FORMAT_VERSION = 2  # 2 added `skipped`; version 1 files (no `skipped`) still load
SUPPORTED_VERSIONS = (1, 2)
DATA_FILE = "report.json"
HTML_FILE = "report.html"
REQUIRED_FIELDS = ("format_version", "type", "passed", "summary", "recordings", "issues")
ISSUE_COLUMNS = ["severity", "recording", "file", "column", "row", "more_rows", "message"]
SKIPPED_COLUMNS = ["recording", "segment", "seconds", "reason"]
MAX_HTML_ROWS = 500  # per table; the JSON keeps everything
_RESERVED_METADATA = ("passed", "n_errors", "n_warnings", "n_skipped", "skipped_s", "n_issues")


class DataQualityReportMaterializer(BaseMaterializer):
    """Stores a `DataQualityReport` as `report.json` with an HTML rendering."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (DataQualityReport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: DataQualityReport) -> None:
        content = {"format_version": FORMAT_VERSION, "type": "DataQualityReport", **data.to_dict()}
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
        content.setdefault("skipped", [])
        for name in ("recordings", "issues", "skipped"):
            if not isinstance(content[name], list) or not all(isinstance(row, dict) for row in content[name]):
                raise ValueError(f"{path}: '{name}' must be a list of objects")
        try:
            report = DataQualityReport.from_dict(content)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: malformed issue or skipped entry ({error!r})") from error
        if report.passed != (not report.errors):
            raise ValueError(f"{path}: 'passed' is {report.passed} but the report lists {len(report.errors)} error(s)")
        return report

    def extract_metadata(self, data: DataQualityReport) -> Dict[str, MetadataType]:
        metadata: Dict[str, MetadataType] = {}
        # Scalar summary figures are useful as-is (their names are ingestion's and validation's choice).
        for key, value in (data.summary or {}).items():
            scalar = _plain_scalar(value)
            if scalar is not None and len(str(key)) <= 200 and key not in _RESERVED_METADATA:
                metadata[str(key)] = scalar
        metadata.update(
            {
                "passed": bool(data.passed),
                "n_errors": len(data.errors),
                "n_warnings": len(data.warnings),
                "n_skipped": len(data.skipped),
                "skipped_s": round(data.skipped_seconds, 6),
                "n_recordings": _int_or(metadata.get("n_recordings"), len(data.recordings)),
                "n_subjects": _int_or(metadata.get("n_subjects"), _count_subjects(data.recordings)),
            }
        )
        if "duration_s" not in metadata:
            durations = [row.get("duration_s") for row in data.recordings]
            numeric = [float(d) for d in durations if _plain_scalar(d) is not None and not isinstance(d, (str, bool))]
            if numeric:
                metadata["duration_s"] = float(sum(numeric))
        return metadata

    def save_visualizations(self, data: DataQualityReport) -> Dict[str, VisualizationType]:
        from har import html_tables as html

        metadata = self.extract_metadata(data)
        status = "PASSED" if data.passed else "FAILED"
        banner = html.banner(
            f"{status}: {metadata['n_recordings']} recording(s), {metadata['n_errors']} error(s), "
            f"{metadata['n_warnings']} warning(s), {metadata['n_skipped']} skipped "
            f"({metadata['skipped_s']:.1f} s)",
            ok=bool(data.passed),
        )
        issues = [issue.to_dict() for issue in data.issues]
        skipped = [item.to_dict() for item in data.skipped]
        recordings = [_json_safe(row) for row in data.recordings]
        document = html.page(
            "Data quality report",
            banner,
            html.heading("Summary"),
            html.table_from_dict(_json_safe(data.summary or {})),
            html.heading(f"Issues{_shown(issues)}"),
            html.table_from_records(
                issues[:MAX_HTML_ROWS], columns=ISSUE_COLUMNS, row_class=_severity_class,
                empty_text="no issues found",
            ),
            html.heading(f"Skipped data{_shown(skipped)}"),
            html.table_from_records(
                skipped[:MAX_HTML_ROWS], columns=SKIPPED_COLUMNS, empty_text="nothing skipped", float_digits=2
            ),
            html.heading(f"Recordings ({len(recordings)}){_shown(recordings, count=False)}"),
            html.table_from_records(recordings[:MAX_HTML_ROWS], empty_text="no recordings", float_digits=2),
        )
        path = self._path(HTML_FILE)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        return {path: VisualizationType.HTML}


def _shown(rows: List[Any], count: bool = True) -> str:
    if len(rows) > MAX_HTML_ROWS:
        return f" (first {MAX_HTML_ROWS} of {len(rows)}; all are in {DATA_FILE})"
    return f" ({len(rows)})" if count else ""


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
    if isinstance(value, (Issue, SkippedData)):
        return value.to_dict()
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
    if content.get("format_version") == FORMAT_VERSION and "skipped" not in content:
        missing.append("skipped")
    if missing:
        raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
    if content["type"] != kind:
        raise ValueError(f"{path}: holds a '{content['type']}' artifact, not a {kind}")
    if content["format_version"] not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"{path}: format_version {content['format_version']!r} is not supported "
            f"(expects one of {', '.join(map(str, SUPPORTED_VERSIONS))})"
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


def _severity_class(issue: Mapping[str, Any]) -> str | None:
    severity = str(issue.get("severity", ""))
    return severity if severity in ("error", "warning") else None


def _count_subjects(recordings: List[Dict[str, Any]]) -> int:
    return len({str(row["subject"]) for row in recordings if row.get("subject") not in (None, "")})
