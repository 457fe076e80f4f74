"""Classification metrics for a set of windows."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from har.types import EvaluationReport


def evaluate_predictions(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], model_version: str | None = None
) -> EvaluationReport:
    """Accuracy, macro-F1 over all configured classes, per-class figures and the confusion matrix."""
    if len(y_true) == 0:
        raise ValueError("cannot evaluate on zero windows; the test split is empty")
    labels = np.arange(len(class_names))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    present = support > 0  # a class absent from the test split would drag macro-F1 to 0 for nothing
    macro_f1 = f1_score(y_true, y_pred, labels=labels[present], average="macro", zero_division=0)
    return EvaluationReport(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(macro_f1),
        class_names=list(class_names),
        per_class={
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        n_windows=int(len(y_true)),
        model_version=model_version,
    )


def most_confused(report: EvaluationReport, top: int = 3) -> list[str]:
    """Human-readable 'true -> predicted (n)' pairs, largest off-diagonal counts first."""
    cm = np.asarray(report.confusion_matrix)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    pairs = np.dstack(np.unravel_index(np.argsort(off, axis=None)[::-1], off.shape))[0]
    return [
        f"{report.class_names[i]} -> {report.class_names[j]} ({off[i, j]})" for i, j in pairs[:top] if off[i, j] > 0
    ]
