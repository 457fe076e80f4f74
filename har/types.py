"""Artifact types that flow between steps (each has its own materializer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

import numpy as np

from har.errors import Issue


@dataclass
class WindowedDataset:
    """Fixed-length windows cut from resampled recordings.

    `X` has shape `(n_windows, window_size, n_channels)` (float32). `y` holds
    the class index into `class_names` per window, or -1 where unknown
    (unlabelled inference data).
    """

    X: np.ndarray
    y: np.ndarray
    recording_ids: np.ndarray  # unicode, (n,)
    subjects: np.ndarray  # unicode, (n,)
    start_times: np.ndarray  # float64 epoch seconds, (n,)
    class_names: List[str]
    channel_names: List[str]
    sample_rate_hz: float
    step: int

    def __post_init__(self) -> None:
        n = self.X.shape[0]
        if self.X.ndim != 3:
            raise ValueError(f"X must be (n_windows, window, channels), got shape {self.X.shape}")
        if self.X.shape[2] != len(self.channel_names):
            raise ValueError(
                f"X has {self.X.shape[2]} channels but {len(self.channel_names)} channel names were given"
            )
        for name in ("y", "recording_ids", "subjects", "start_times"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {getattr(self, name).shape}")

    @property
    def n_windows(self) -> int:
        return int(self.X.shape[0])

    @property
    def window_size(self) -> int:
        return int(self.X.shape[1])

    def class_counts(self) -> Dict[str, int]:
        counts = np.bincount(self.y[self.y >= 0], minlength=len(self.class_names))
        return {name: int(count) for name, count in zip(self.class_names, counts, strict=True)}

    def subset(self, mask: np.ndarray) -> WindowedDataset:
        """Windows selected by a boolean mask or index array (copies)."""
        return WindowedDataset(
            X=self.X[mask],
            y=self.y[mask],
            recording_ids=self.recording_ids[mask],
            subjects=self.subjects[mask],
            start_times=self.start_times[mask],
            class_names=list(self.class_names),
            channel_names=list(self.channel_names),
            sample_rate_hz=self.sample_rate_hz,
            step=self.step,
        )


@dataclass
class ChannelNormalizer:
    """Per-channel standardisation fitted on the training split only."""

    channel_names: List[str]
    mean: List[float]
    std: List[float]

    def transform(self, X: np.ndarray) -> np.ndarray:
        if X.shape[-1] != len(self.channel_names):
            raise ValueError(
                f"expected {len(self.channel_names)} channels ({', '.join(self.channel_names)}), got {X.shape[-1]}"
            )
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return ((X - mean) / std).astype(np.float32, copy=False)

    def to_dict(self) -> Dict[str, Any]:
        return {"channel_names": list(self.channel_names), "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> ChannelNormalizer:
        return cls(
            channel_names=[str(c) for c in content["channel_names"]],
            mean=[float(v) for v in content["mean"]],
            std=[float(v) for v in content["std"]],
        )


@dataclass(frozen=True)
class SkippedData:
    """Data left out on purpose (too short to use), with how much of it: not an error, but reported.

    `segment` is None when the whole recording was skipped, else the id of the
    skipped segment (the part between two gaps).
    """

    recording: str
    reason: str
    seconds: float
    segment: int | None = None

    def to_dict(self) -> Dict[str, Any]:
        return {"recording": self.recording, "segment": self.segment, "seconds": self.seconds, "reason": self.reason}

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> SkippedData:
        segment = content.get("segment")
        return cls(
            recording=str(content["recording"]),
            reason=str(content["reason"]),
            seconds=float(content["seconds"]),
            segment=None if segment is None else int(segment),
        )


@dataclass
class DataQualityReport:
    """What ingestion and validation found: dataset totals, per-recording facts, every issue, skipped data.

    `passed` is False when any issue is an error. `summary` and `recordings`
    hold plain JSON values (numbers, strings, lists, dicts).
    """

    passed: bool
    summary: Dict[str, Any]
    recordings: List[Dict[str, Any]]
    issues: List[Issue] = field(default_factory=list)
    skipped: List[SkippedData] = field(default_factory=list)

    @property
    def errors(self) -> List[Issue]:
        return [issue for issue in self.issues if issue.is_error]

    @property
    def warnings(self) -> List[Issue]:
        return [issue for issue in self.issues if not issue.is_error]

    @property
    def skipped_seconds(self) -> float:
        return float(sum(item.seconds for item in self.skipped))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "passed": bool(self.passed),
            "summary": self.summary,
            "recordings": self.recordings,
            "issues": [issue.to_dict() for issue in self.issues],
            "skipped": [item.to_dict() for item in self.skipped],
        }

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> DataQualityReport:
        return cls(
            passed=bool(content["passed"]),
            summary=dict(content["summary"]),
            recordings=[dict(row) for row in content["recordings"]],
            issues=[Issue.from_dict(item) for item in content.get("issues") or []],
            skipped=[SkippedData.from_dict(item) for item in content.get("skipped") or []],
        )


@dataclass
class EvaluationReport:
    """Test-split metrics of one model."""

    accuracy: float
    macro_f1: float
    class_names: List[str]
    per_class: Dict[str, Dict[str, float]]  # name -> precision, recall, f1, support
    confusion_matrix: List[List[int]]  # rows: true, cols: predicted
    n_windows: int
    model_version: str | None = None
