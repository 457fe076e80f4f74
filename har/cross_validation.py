"""Subject-grouped cross-validation: fold plans, fold scores and the aggregated report.

Pure numpy/scikit-learn; the model family comes in as a callable, so this
module never imports ZenML, Keras or TensorFlow::

    folds = subject_folds(windows.subjects, scheme="kfold", seed=0)
    report = cross_validate(windows, fit_predict, folds, seeds=(0, 1), family="cnn_bilstm", params={...})
    report.flat_metrics()  # {"cv_macro_f1_mean": ..., "cv_worst_subject_macro_f1": ..., ...}

`fit_predict(train, val, test, seed)` trains on `train` (early stopping on
`val`), and returns test probabilities of shape `(test.n_windows, n_classes)`,
or a tuple of them and a JSON-ready dict of what the fit learned besides its
weights (kept in the report's `fit_summaries`, see `har.training`).
It must fit anything learned from data (e.g. the channel normalizer) on
`train` only, as the training pipeline does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from har.types import CrossValidationReport, FoldScore, WindowedDataset

logger = logging.getLogger(__name__)

SCHEMES = ("kfold", "loso")
DEFAULT_K = 5
MIN_SUBJECTS = 3  # one each for train, validation (early stopping) and test

FitPredict = Callable[[WindowedDataset, WindowedDataset, WindowedDataset, int],
                      np.ndarray | Tuple[np.ndarray, Dict[str, Any]]]


@dataclass(frozen=True)
class Fold:
    """Which subjects train, stop early (val) and are tested in one fold; the three never overlap."""

    index: int
    scheme: str
    train: Tuple[str, ...]
    val: Tuple[str, ...]
    test: Tuple[str, ...]

    def __post_init__(self) -> None:
        parts = {"train": set(self.train), "val": set(self.val), "test": set(self.test)}
        for name, part in parts.items():
            if not part:
                raise ValueError(f"fold {self.index}: no {name} subject")
        overlap = (parts["train"] & parts["val"]) | (parts["train"] & parts["test"]) | (parts["val"] & parts["test"])
        if overlap:
            raise ValueError(f"fold {self.index}: subject(s) {sorted(overlap)} in more than one of train/val/test")

    def to_dict(self) -> Dict[str, Any]:
        return {
            "index": self.index,
            "scheme": self.scheme,
            "train": list(self.train),
            "val": list(self.val),
            "test": list(self.test),
        }


def subject_folds(
    subjects: Sequence[str] | np.ndarray,
    k: int | None = None,
    scheme: str = "kfold",
    seed: int = 0,
    val_fraction: float = 0.2,
) -> List[Fold]:
    """Grouped folds by subject: every subject is tested exactly once, never also trained on.

    Parameters
    ----------
    subjects
        Subject of every window (or the unique subjects); duplicates are ignored.
    k
        Number of folds for ``scheme="kfold"``; default ``min(5, n_subjects)``.
        For ``"loso"`` (leave one subject out) it must be None or n_subjects.
    scheme
        ``"kfold"`` (subjects shuffled by `seed`, then dealt into `k` groups of
        near-equal size) or ``"loso"``.
    seed
        Makes the shuffle and the choice of validation subjects reproducible.
    val_fraction
        Share of each fold's non-test subjects held out for early stopping
        (rounded, at least one, and at least one subject is left to train on).

    Returns
    -------
    list of Fold
        Ordered by fold index; subjects inside each part sorted.
    """
    unique = sorted({str(s) for s in np.asarray(subjects).tolist()})
    n = len(unique)
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown scheme {scheme!r}; choose 'kfold' (grouped k-fold) or 'loso' (leave one subject out)"
        )
    if n < MIN_SUBJECTS:
        raise ValueError(
            f"subject-wise cross-validation needs at least {MIN_SUBJECTS} subjects (train, validation and test "
            f"each need one), found {n} ({unique}); add recordings of more people, or set 'subject' in each "
            "recording's meta.json if recordings of different people share one subject id"
        )
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    if scheme == "loso":
        if k not in (None, n):
            raise ValueError(f"leave-one-subject-out makes one fold per subject ({n}); leave k unset, got k={k}")
        k = n
    elif k is None:
        k = min(DEFAULT_K, n)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 2 <= k <= n:
        raise ValueError(f"k must be an integer between 2 and the number of subjects ({n}), got {k!r}")
    largest_test = -(-n // k)
    if n - largest_test < 2:
        raise ValueError(
            f"k={k} puts up to {largest_test} of {n} subjects in a test fold, leaving fewer than 2 for training "
            f"and validation; use k={n} (or scheme='loso') or add subjects"
        )

    rng = np.random.default_rng(seed)
    shuffled = [unique[i] for i in rng.permutation(n)]
    folds: List[Fold] = []
    for index, group in enumerate(np.array_split(np.arange(n), k)):
        test = {shuffled[i] for i in group}
        rest = [s for s in shuffled if s not in test]
        n_val = min(max(1, int(round(val_fraction * len(rest)))), len(rest) - 1)
        val = {rest[i] for i in rng.choice(len(rest), size=n_val, replace=False)}
        folds.append(
            Fold(
                index=index,
                scheme=scheme,
                train=tuple(sorted(set(rest) - val)),
                val=tuple(sorted(val)),
                test=tuple(sorted(test)),
            )
        )
    return folds


def score_fold(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    recording_ids: np.ndarray,
    subjects: np.ndarray,
    class_names: Sequence[str],
) -> FoldScore:
    """Window-, recording- and subject-level scores of one fold's test predictions.

    A window's prediction is the argmax of its probabilities (ties: lowest
    class index). Macro-F1 and balanced accuracy average over the classes
    present in `y_true` (as `har.evaluation.evaluate_predictions` does: a class
    a subject never performed would count as F1 0 for nothing); predictions of
    an absent class still count as errors. Recording-level accuracy votes per
    (recording, true activity) group: the group's predicted class is the argmax
    of its windows' *summed probabilities* (a soft vote), so a recording that
    holds several activities is judged per activity. The fold/seed/train/val
    fields of the result are left for `cross_validate` to fill in.
    """
    y_true = np.asarray(y_true)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    recording_ids = np.asarray(recording_ids).astype(str)
    subjects = np.asarray(subjects).astype(str)
    n, n_classes = len(y_true), len(class_names)
    if n == 0:
        raise ValueError("cannot score a fold without test windows")
    if probabilities.shape != (n, n_classes):
        raise ValueError(
            f"probabilities must have shape ({n}, {n_classes}) (test windows, classes), got {probabilities.shape}"
        )
    if not np.isfinite(probabilities).all() or (probabilities < 0).any():
        raise ValueError("probabilities must be finite and non-negative")
    for name, values in (("recording_ids", recording_ids), ("subjects", subjects)):
        if values.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {values.shape}")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min() < 0 or y_true.max() >= n_classes:
        raise ValueError(f"y_true must hold class indices in [0, {n_classes - 1}] (no unlabelled windows)")

    y_pred = probabilities.argmax(axis=1)
    matrix = confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))
    support = matrix.sum(axis=1)
    present = np.flatnonzero(support > 0)
    f1 = f1_score(y_true, y_pred, labels=np.arange(n_classes), average=None, zero_division=0)

    recording_codes = np.unique(recording_ids, return_inverse=True)[1].reshape(-1)
    groups, group_of_window = np.unique(recording_codes * n_classes + y_true, return_inverse=True)
    summed = np.zeros((len(groups), n_classes))
    np.add.at(summed, group_of_window.reshape(-1), probabilities)
    votes_correct = summed.argmax(axis=1) == groups % n_classes

    per_subject: Dict[str, Dict[str, float]] = {}
    for subject in np.unique(subjects):
        mask = subjects == subject
        per_subject[str(subject)] = {
            "macro_f1": _macro_f1(y_true[mask], y_pred[mask]),
            "accuracy": float(np.mean(y_true[mask] == y_pred[mask])),
            "n_windows": int(mask.sum()),
        }
    return FoldScore(
        macro_f1=_macro_f1(y_true, y_pred),
        balanced_accuracy=float(np.mean(np.diag(matrix)[present] / support[present])),
        accuracy=float(np.mean(y_true == y_pred)),
        recording_accuracy=float(np.mean(votes_correct)),
        n_windows=int(n),
        n_recording_votes=int(len(groups)),
        per_class_f1={str(class_names[i]): float(f1[i]) for i in present},
        per_subject=per_subject,
        confusion_matrix=matrix.astype(int).tolist(),
        test_subjects=sorted(per_subject),
    )


def cross_validate(
    windows: WindowedDataset,
    fit_predict: FitPredict,
    folds: Sequence[Fold],
    seeds: Sequence[int] = (0,),
    family: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> CrossValidationReport:
    """Train and test one model family on every fold with every seed, and aggregate the scores.

    Parameters
    ----------
    windows
        Labelled windows of all subjects (unlabelled windows are refused).
    fit_predict
        ``fit_predict(train, val, test, seed) -> probabilities`` of shape
        ``(test.n_windows, n_classes)``; called once per (fold, seed).
    folds
        From `subject_folds` on the same windows: together the test parts must
        cover every subject of `windows` exactly once.
    seeds
        Training seeds; the folds stay fixed, so spread across seeds is
        training noise and spread across folds is subject variation.
    family, params
        Recorded in the report; `family` defaults to the callable's name.
        `params` should hold plain JSON values.
    """
    if not folds:
        raise ValueError("no folds given; build them with subject_folds(windows.subjects)")
    seeds = [int(seed) for seed in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct integers, got {seeds}")
    unlabelled = int((windows.y < 0).sum())
    if unlabelled:
        raise ValueError(
            f"{unlabelled} of {windows.n_windows} windows are unlabelled (y=-1); cross-validation needs "
            "labelled windows, as produced for training"
        )
    _check_coverage(windows, folds)

    subjects = windows.subjects.astype(str)
    scores: List[FoldScore] = []
    summaries: List[Dict[str, Any]] = []
    for fold in folds:
        parts = {
            name: windows.subset(np.isin(subjects, list(getattr(fold, name)))) for name in ("train", "val", "test")
        }
        for name, part in parts.items():
            if part.n_windows == 0:
                raise ValueError(f"fold {fold.index}: the {name} subjects {list(getattr(fold, name))} have no windows")
        for seed in seeds:
            result = fit_predict(parts["train"], parts["val"], parts["test"], seed)
            summary: Dict[str, Any] = {}
            if isinstance(result, tuple):  # (probabilities, what the fit learned besides weights)
                result, summary = result
            probabilities = np.asarray(result)
            summaries.append(dict(summary))
            try:
                score = score_fold(
                    parts["test"].y,
                    probabilities,
                    parts["test"].recording_ids,
                    parts["test"].subjects,
                    windows.class_names,
                )
            except ValueError as error:
                raise ValueError(f"fold {fold.index}, seed {seed}: {error}") from error
            scores.append(
                replace(
                    score,
                    fold=fold.index,
                    seed=seed,
                    train_subjects=list(fold.train),
                    val_subjects=list(fold.val),
                )
            )
            logger.info(
                "fold %d/%d seed %d: macro-F1 %.3f, accuracy %.3f (test subjects %s)",
                fold.index + 1,
                len(folds),
                seed,
                score.macro_f1,
                score.accuracy,
                ", ".join(fold.test),
            )
    return CrossValidationReport(
        scheme=folds[0].scheme,
        n_folds=len(folds),
        seeds=seeds,
        class_names=list(windows.class_names),
        folds=scores,
        family=family or getattr(fit_predict, "__name__", type(fit_predict).__name__),
        params=dict(params or {}),
        fit_summaries=summaries if any(summaries) else [],
    )


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    present = np.unique(y_true)
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def _check_coverage(windows: WindowedDataset, folds: Sequence[Fold]) -> None:
    """Folds must belong to these windows: one scheme, every subject tested exactly once."""
    schemes = {fold.scheme for fold in folds}
    if len(schemes) != 1:
        raise ValueError(f"folds mix schemes {sorted(schemes)}")
    tested: Dict[str, int] = {}
    for fold in folds:
        for subject in fold.test:
            tested[subject] = tested.get(subject, 0) + 1
    twice = sorted(s for s, count in tested.items() if count > 1)
    present = set(windows.subjects.astype(str).tolist())
    never = sorted(present - set(tested))
    unknown = sorted(set(tested) - present)
    if twice or never or unknown:
        raise ValueError(
            "folds do not match these windows: "
            + "; ".join(
                text
                for text in (
                    f"tested more than once: {twice}" if twice else "",
                    f"never tested: {never}" if never else "",
                    f"not in the windows: {unknown}" if unknown else "",
                )
                if text
            )
            + "; build the folds with subject_folds(windows.subjects)"
        )
