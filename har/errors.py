"""Data problems as values (`Issue`) and as one exception (`DataValidationError`).

Every check in ingestion and validation produces `Issue`s instead of raising
immediately, so a user sees all problems of a data directory in one run. An
`Issue` says where (recording, file, column, line) and what was found versus
what was expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Iterable, List

import numpy as np

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)
FIRST_DATA_LINE = 2  # header = line 1, as a spreadsheet or editor shows it


@dataclass(frozen=True, kw_only=True)
class Issue:
    """One problem found in the input data.

    `row` is the line number as a user sees it in a spreadsheet or editor: the
    header is line 1 and the first data row is line 2. `more_rows` counts
    further rows that fail the same check (only the first one is named).
    """

    severity: str
    recording: str | None = None
    file: str | None = None
    column: str | None = None
    row: int | None = None
    message: str
    more_rows: int = 0

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        parts: List[str] = []
        if self.recording is not None:
            parts.append(f"recording '{self.recording}'")
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.row is not None:
            line = f"line {self.row}"
            if self.more_rows:
                line += f" (and {self.more_rows} more row{'s' if self.more_rows != 1 else ''})"
            parts.append(line)
        return ", ".join(parts)

    def __str__(self) -> str:
        location = self.location()
        text = f"{location}: {self.message}" if location else self.message
        return text if self.is_error else f"warning: {text}"

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> Issue:
        row = content.get("row")
        return cls(
            severity=str(content["severity"]),
            recording=_opt_str(content.get("recording")),
            file=_opt_str(content.get("file")),
            column=_opt_str(content.get("column")),
            row=None if row is None else int(row),
            message=str(content["message"]),
            more_rows=int(content.get("more_rows") or 0),
        )

    @classmethod
    def error(cls, message: str, **where: Any) -> Issue:
        return cls(severity=ERROR, message=message, **where)

    @classmethod
    def warning(cls, message: str, **where: Any) -> Issue:
        return cls(severity=WARNING, message=message, **where)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def format_issues(issues: Iterable[Issue], max_reported: int = 20) -> str:
    """'N problem(s) in the input data:' plus one line per issue, capped at `max_reported`."""
    issues = list(issues)
    lines = [f"{len(issues)} problem(s) in the input data:"]
    lines.extend(f"  - {issue}" for issue in issues[:max_reported])
    if len(issues) > max_reported:
        lines.append(f"  ... and {len(issues) - max_reported} more")
    return "\n".join(lines)


class IssueCollector:
    """Collects `Issue`s for one place (a recording, a file, a DataFrame), naming rows by boolean masks.

    A mask marks failing positions; the issue names the first as a line
    (position + `offset` + FIRST_DATA_LINE) and counts the others in
    `more_rows`. `offset` is 1 for masks over `np.diff` (entry i compares rows
    i and i + 1, so it names row i + 1). `recording_at` maps a position to its
    recording when one collector spans several recordings.
    """

    def __init__(
        self,
        recording: str | None = None,
        file: str | None = None,
        *,
        recording_at: Callable[[int], str | None] | None = None,
    ) -> None:
        self.recording = recording
        self.file = file
        self.recording_at = recording_at
        self.issues: List[Issue] = []

    def add(
        self,
        severity: str,
        message: str,
        *,
        column: str | None = None,
        mask: np.ndarray | None = None,
        offset: int = 0,
        row: int | None = None,
        more_rows: int = 0,
        recording: str | None = None,
    ) -> Issue:
        if mask is not None:
            positions = np.flatnonzero(mask)
            position = int(positions[0]) + offset
            row, more_rows = position + FIRST_DATA_LINE, int(positions.size - 1)
            if recording is None and self.recording is None and self.recording_at is not None:
                recording = self.recording_at(position)
        issue = Issue(
            severity=severity,
            recording=recording if recording is not None else self.recording,
            file=self.file,
            column=column,
            row=row,
            message=message,
            more_rows=more_rows,
        )
        self.issues.append(issue)
        return issue

    def error(self, message: str, **where: Any) -> Issue:
        return self.add(ERROR, message, **where)

    def warning(self, message: str, **where: Any) -> Issue:
        return self.add(WARNING, message, **where)

    def extend(self, issues: Iterable[Issue]) -> None:
        self.issues.extend(issues)

    @property
    def n_errors(self) -> int:
        return sum(issue.is_error for issue in self.issues)

    def errors(self) -> List[Issue]:
        return [issue for issue in self.issues if issue.is_error]

    def warnings(self) -> List[Issue]:
        return [issue for issue in self.issues if not issue.is_error]


class DataValidationError(ValueError):
    """Raised when the input data breaks the contract; `issues` holds every problem found."""

    def __init__(self, issues: Iterable[Issue], max_reported: int = 20) -> None:
        self.issues: List[Issue] = list(issues)
        self.max_reported = max(1, int(max_reported))
        super().__init__(format_issues(self.issues, self.max_reported))

    def __reduce__(self):  # keep the exception picklable despite the custom __init__
        return (type(self), (self.issues, self.max_reported))
