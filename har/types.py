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

    @classmethod
    def concatenate(cls, parts: List[WindowedDataset]) -> WindowedDataset:
        """The windows of `parts` in order (same classes, channels, rate and step required)."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        for part in parts[1:]:
            same = (part.class_names == first.class_names and part.channel_names == first.channel_names
                    and part.sample_rate_hz == first.sample_rate_hz and part.step == first.step
                    and part.X.shape[1:] == first.X.shape[1:])
            if not same:
                raise ValueError("windows of different classes, channels, rate, step or window size "
                                 "cannot be concatenated")
        return cls(
            X=np.concatenate([p.X for p in parts]),
            y=np.concatenate([p.y for p in parts]),
            recording_ids=np.concatenate([p.recording_ids for p in parts]),
            subjects=np.concatenate([p.subjects for p in parts]),
            start_times=np.concatenate([p.start_times for p in parts]),
            class_names=list(first.class_names),
            channel_names=list(first.channel_names),
            sample_rate_hz=first.sample_rate_hz,
            step=first.step,
        )

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


CV_METRICS = ("macro_f1", "balanced_accuracy", "accuracy", "recording_accuracy")
"""Headline metrics of every cross-validation fold, in report order."""


@dataclass
class FoldScore:
    """Test scores of one cross-validation fold trained with one seed (built by `har.cross_validation.score_fold`).

    `per_class_f1` holds only classes present in the fold's test windows (an
    absent class has no meaningful F1); `per_subject` maps each test subject to
    `{"macro_f1", "accuracy", "n_windows"}`. `recording_accuracy` is over
    `n_recording_votes` (recording, true activity) groups, each predicted by the
    argmax of its windows' summed probabilities.
    """

    macro_f1: float
    balanced_accuracy: float
    accuracy: float
    recording_accuracy: float
    n_windows: int
    n_recording_votes: int
    per_class_f1: Dict[str, float]
    per_subject: Dict[str, Dict[str, float]]
    confusion_matrix: List[List[int]]  # rows: true, cols: predicted
    fold: int = -1
    seed: int = 0
    train_subjects: List[str] = field(default_factory=list)
    val_subjects: List[str] = field(default_factory=list)
    test_subjects: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "fold": int(self.fold),
            "seed": int(self.seed),
            "train_subjects": [str(s) for s in self.train_subjects],
            "val_subjects": [str(s) for s in self.val_subjects],
            "test_subjects": [str(s) for s in self.test_subjects],
            **{name: float(getattr(self, name)) for name in CV_METRICS},
            "n_windows": int(self.n_windows),
            "n_recording_votes": int(self.n_recording_votes),
            "per_class_f1": {str(k): float(v) for k, v in self.per_class_f1.items()},
            "per_subject": {
                str(subject): {
                    "macro_f1": float(scores["macro_f1"]),
                    "accuracy": float(scores["accuracy"]),
                    "n_windows": int(scores["n_windows"]),
                }
                for subject, scores in self.per_subject.items()
            },
            "confusion_matrix": [[int(v) for v in row] for row in self.confusion_matrix],
        }

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> FoldScore:
        return cls(
            **{name: _finite(content[name], name) for name in CV_METRICS},
            n_windows=int(content["n_windows"]),
            n_recording_votes=int(content["n_recording_votes"]),
            per_class_f1={str(k): _finite(v, f"per_class_f1.{k}") for k, v in content["per_class_f1"].items()},
            per_subject={
                str(subject): {
                    "macro_f1": _finite(scores["macro_f1"], f"per_subject.{subject}.macro_f1"),
                    "accuracy": _finite(scores["accuracy"], f"per_subject.{subject}.accuracy"),
                    "n_windows": int(scores["n_windows"]),
                }
                for subject, scores in content["per_subject"].items()
            },
            confusion_matrix=[[int(v) for v in row] for row in content["confusion_matrix"]],
            fold=int(content["fold"]),
            seed=int(content["seed"]),
            train_subjects=[str(s) for s in content["train_subjects"]],
            val_subjects=[str(s) for s in content["val_subjects"]],
            test_subjects=[str(s) for s in content["test_subjects"]],
        )


@dataclass
class CrossValidationReport:
    """Subject-grouped cross-validation of one model family (built by `har.cross_validation.cross_validate`).

    `folds` holds one `FoldScore` per (fold, seed), fold-major. Every aggregate
    (means, stds, per-subject and per-class figures, the summed confusion
    matrix) is computed from `folds`, so the report cannot contradict itself.
    Stds are population stds (ddof=0) over all (fold, seed) scores. With several
    seeds each subject is tested once per seed: per-subject scores are averaged
    over seeds and the confusion matrix counts every window once per seed.
    """

    scheme: str  # "kfold" or "loso"
    n_folds: int
    seeds: List[int]
    class_names: List[str]
    folds: List[FoldScore]
    family: str
    params: Dict[str, Any] = field(default_factory=dict)
    # What each (fold, seed) fit learned beyond its weights (`ModelFamily.fit_summary`: best epoch, temperature),
    # from which `ModelFamily.refit_params` sets up the final fit on all training subjects. Fold-major, like
    # `folds`; empty for reports made without them.
    fit_summaries: List[Dict[str, Any]] = field(default_factory=list)
    augmentation: Dict[str, Any] | None = None  # `har.augmentation.AugmentationConfig` of the recipe, if any

    def __post_init__(self) -> None:
        if not self.folds:
            raise ValueError("a cross-validation report needs at least one fold score")
        expected = self.n_folds * len(self.seeds)
        if len(self.folds) != expected:
            raise ValueError(
                f"expected {self.n_folds} folds x {len(self.seeds)} seeds = {expected} fold scores, "
                f"got {len(self.folds)}"
            )
        if self.fit_summaries and len(self.fit_summaries) != len(self.folds):
            raise ValueError(f"{len(self.fit_summaries)} fit summaries for {len(self.folds)} fold scores")
        n = len(self.class_names)
        for score in self.folds:
            matrix = np.asarray(score.confusion_matrix)
            if matrix.shape != (n, n):
                raise ValueError(
                    f"fold {score.fold} (seed {score.seed}): confusion matrix has shape {matrix.shape}, "
                    f"expected ({n}, {n}) for classes {self.class_names}"
                )
            unknown = sorted(set(score.per_class_f1) - set(self.class_names))
            if unknown:
                raise ValueError(f"fold {score.fold} (seed {score.seed}): per_class_f1 has unknown class(es) {unknown}")
            total = int(matrix.sum())
            if total != score.n_windows or not np.isclose(score.accuracy, np.trace(matrix) / max(total, 1)):
                raise ValueError(
                    f"fold {score.fold} (seed {score.seed}): accuracy {score.accuracy} and n_windows "
                    f"{score.n_windows} disagree with the confusion matrix ({np.trace(matrix)} of {total} right)"
                )

    def scores(self, metric: str) -> np.ndarray:
        """One value per (fold, seed) of a metric in `CV_METRICS`."""
        if metric not in CV_METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(CV_METRICS)}")
        return np.array([getattr(score, metric) for score in self.folds], dtype=np.float64)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.scores(metric)))

    def std(self, metric: str) -> float:
        return float(np.std(self.scores(metric)))

    @property
    def per_class_f1(self) -> Dict[str, float]:
        """Mean F1 per class over the folds whose test windows contain it (classes never tested are left out)."""
        result: Dict[str, float] = {}
        for name in self.class_names:
            values = [score.per_class_f1[name] for score in self.folds if name in score.per_class_f1]
            if values:
                result[name] = float(np.mean(values))
        return result

    @property
    def per_subject(self) -> Dict[str, Dict[str, float]]:
        """Per test subject: macro-F1 and accuracy averaged over seeds, its window count and fold, sorted by name."""
        collected: Dict[str, List[tuple]] = {}
        for score in self.folds:
            for subject, values in score.per_subject.items():
                collected.setdefault(subject, []).append((score.fold, values))
        return {
            subject: {
                "macro_f1": float(np.mean([values["macro_f1"] for _, values in entries])),
                "accuracy": float(np.mean([values["accuracy"] for _, values in entries])),
                "n_windows": int(entries[0][1]["n_windows"]),
                "fold": int(entries[0][0]),
            }
            for subject, entries in sorted(collected.items())
        }

    @property
    def worst_subject(self) -> str:
        """The subject with the lowest (seed-averaged) macro-F1; ties go to the first name in sorted order."""
        per_subject = self.per_subject
        return min(per_subject, key=lambda subject: per_subject[subject]["macro_f1"])

    @property
    def worst_subject_macro_f1(self) -> float:
        return float(self.per_subject[self.worst_subject]["macro_f1"])

    @property
    def confusion_matrix(self) -> List[List[int]]:
        """Summed over all (fold, seed) scores; rows: true, cols: predicted."""
        return np.sum([np.asarray(s.confusion_matrix, dtype=np.int64) for s in self.folds], axis=0).tolist()

    def summary(self) -> Dict[str, Any]:
        """Headline aggregates (also written to JSON for readers; recomputed on load)."""
        return {
            **{f"{metric}_{stat}": getattr(self, stat)(metric) for metric in CV_METRICS for stat in ("mean", "std")},
            "worst_subject": self.worst_subject,
            "worst_subject_macro_f1": self.worst_subject_macro_f1,
            "per_class_f1": self.per_class_f1,
            "confusion_matrix": self.confusion_matrix,
        }

    def flat_metrics(self) -> Dict[str, float]:
        """MLflow-ready `{name: float}`: `cv_<metric>_mean/_std`, `cv_worst_subject_macro_f1`, `cv_f1_<class>`."""
        metrics = {
            f"cv_{metric}_{stat}": getattr(self, stat)(metric) for metric in CV_METRICS for stat in ("mean", "std")
        }
        metrics["cv_worst_subject_macro_f1"] = self.worst_subject_macro_f1
        for name, value in self.per_class_f1.items():
            metrics[f"cv_f1_{_metric_key(name)}"] = value
        return metrics

    def to_dict(self) -> Dict[str, Any]:
        return {
            "family": str(self.family),
            "params": self.params,
            "scheme": str(self.scheme),
            "n_folds": int(self.n_folds),
            "seeds": [int(seed) for seed in self.seeds],
            "class_names": [str(name) for name in self.class_names],
            "summary": self.summary(),
            "folds": [score.to_dict() for score in self.folds],
            "fit_summaries": list(self.fit_summaries),
            "augmentation": self.augmentation,
        }

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> CrossValidationReport:
        """Read what `to_dict` wrote; `summary` is ignored (it is derived from `folds`)."""
        return cls(
            scheme=str(content["scheme"]),
            n_folds=int(content["n_folds"]),
            seeds=[int(seed) for seed in content["seeds"]],
            class_names=[str(name) for name in content["class_names"]],
            folds=[FoldScore.from_dict(item) for item in content["folds"]],
            family=str(content["family"]),
            params=dict(content.get("params") or {}),
            fit_summaries=[dict(item) for item in content.get("fit_summaries") or []],
            augmentation=dict(content["augmentation"]) if content.get("augmentation") else None,
        )


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"'{name}' must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"'{name}' must be finite, got {number}")
    return number


def _metric_key(name: str) -> str:
    """A class name as MLflow accepts it in a metric key (alphanumerics, _ - . / and spaces; others become _)."""
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in str(name))
