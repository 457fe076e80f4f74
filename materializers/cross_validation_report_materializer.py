"""Materializer for `har.types.CrossValidationReport`.

Layout inside the artifact URI::

    cross_validation.json   {"format_version", "type", "family", "params", "scheme", "n_folds", "seeds",
                             "class_names", "summary", "folds"}
    confusion_matrix.png    (visualization: summed over folds and seeds)
    cross_validation.html   (visualization: mean +/- std, per-fold, per-subject and per-class tables)

`summary` is derived from `folds`; on load it is recomputed and must agree, so
a hand-edited or half-written file is refused rather than silently believed.
Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, ClassVar, Dict, List, Tuple, Type

import numpy as np
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.types import CV_METRICS, CrossValidationReport

FORMAT_VERSION = 1
KIND = "CrossValidationReport"
DATA_FILE = "cross_validation.json"
CONFUSION_PNG = "confusion_matrix.png"
HTML_FILE = "cross_validation.html"
REQUIRED_FIELDS = (
    "format_version",
    "type",
    "family",
    "params",
    "scheme",
    "n_folds",
    "seeds",
    "class_names",
    "summary",
    "folds",
)
FOLD_COLUMNS = ["fold", "seed", "test subjects", "windows", *CV_METRICS]


class CrossValidationReportMaterializer(BaseMaterializer):
    """Stores a `CrossValidationReport` as `cross_validation.json` with PNG/HTML renderings."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (CrossValidationReport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: CrossValidationReport) -> None:
        content = {"format_version": FORMAT_VERSION, "type": KIND, **data.to_dict()}
        try:
            text = json.dumps(content, indent=2, default=_to_json, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{KIND}: params must hold plain, finite JSON values ({error})") from error
        if not self.artifact_store.exists(self.uri):
            self.artifact_store.makedirs(self.uri)
        with self.artifact_store.open(self._path(DATA_FILE), "w") as handle:
            handle.write(text)

    def load(self, data_type: Type[Any]) -> CrossValidationReport:
        path = self._path(DATA_FILE)
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(f"{path}: missing; this is not a {KIND} artifact")
        try:
            with self.artifact_store.open(path, "r") as handle:
                content = json.loads(handle.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: corrupt {KIND} file ({error})") from error
        if not isinstance(content, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(content).__name__}")
        missing = [name for name in REQUIRED_FIELDS if name not in content]
        if missing:
            raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
        if content["type"] != KIND:
            raise ValueError(f"{path}: holds a '{content['type']}' artifact, not a {KIND}")
        if content["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"{path}: format_version {content['format_version']!r} is not supported (expects {FORMAT_VERSION})"
            )
        if not isinstance(content["folds"], list) or not all(isinstance(item, dict) for item in content["folds"]):
            raise ValueError(f"{path}: 'folds' must be a list of objects")
        if not isinstance(content["params"], dict) or not isinstance(content["summary"], dict):
            raise ValueError(f"{path}: 'params' and 'summary' must be objects")
        try:
            report = CrossValidationReport.from_dict(content)
        except KeyError as error:
            raise ValueError(f"{path}: malformed fold score, missing {error}") from error
        except (TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{path}: malformed {KIND} ({error})") from error
        _check_summary(content["summary"], report, path)
        return report

    def extract_metadata(self, data: CrossValidationReport) -> Dict[str, MetadataType]:
        flat = data.flat_metrics()
        metadata: Dict[str, MetadataType] = {
            key: float(flat[key]) for key in (f"cv_{m}_{s}" for m in CV_METRICS for s in ("mean", "std"))
        }
        metadata.update(
            {
                "cv_worst_subject": str(data.worst_subject),
                "cv_worst_subject_macro_f1": float(data.worst_subject_macro_f1),
                "cv_n_folds": int(data.n_folds),
                "cv_n_seeds": len(data.seeds),
                "cv_scheme": str(data.scheme),
                "cv_family": str(data.family),
                "cv_n_subjects": len(data.per_subject),
            }
        )
        return metadata

    def save_visualizations(self, data: CrossValidationReport) -> Dict[str, VisualizationType]:
        from har import html_tables as html
        from har import plots

        visualizations: Dict[str, VisualizationType] = {}
        n_seeds = len(data.seeds)
        title = (
            f"{data.family}: {data.n_folds} folds ({data.scheme}) x {n_seeds} seed(s) | "
            f"macro-F1 {data.mean('macro_f1'):.3f} +/- {data.std('macro_f1'):.3f}"
        )
        png = plots.confusion_matrix_png(data.confusion_matrix, data.class_names, title=title)
        path = self._path(CONFUSION_PNG)
        with self.artifact_store.open(path, "wb") as handle:
            handle.write(png)
        visualizations[path] = VisualizationType.IMAGE

        headline = [
            {
                "metric": metric,
                "mean": data.mean(metric),
                "std": data.std(metric),
                "min": float(data.scores(metric).min()),
                "max": float(data.scores(metric).max()),
            }
            for metric in CV_METRICS
        ]
        folds = [
            {
                "fold": score.fold,
                "seed": score.seed,
                "test subjects": ", ".join(score.test_subjects),
                "windows": score.n_windows,
                **{metric: getattr(score, metric) for metric in CV_METRICS},
            }
            for score in data.folds
        ]
        worst = data.worst_subject
        subjects = [{"subject": name, **values} for name, values in data.per_subject.items()]
        per_class_f1 = data.per_class_f1
        classes = [{"class": name, "mean F1": per_class_f1.get(name)} for name in data.class_names]
        overview = {
            "family": data.family,
            "scheme": data.scheme,
            "folds": data.n_folds,
            "seeds": ", ".join(str(seed) for seed in data.seeds),
            "subjects": len(subjects),
            "worst subject": f"{worst} (macro-F1 {data.worst_subject_macro_f1:.3f})",
            "stds": "population std (ddof=0) over all fold x seed scores",
            "recording accuracy": "per (recording, activity): argmax of the windows' summed probabilities",
        }
        document = html.page(
            f"Cross-validation: {data.family}",
            html.table_from_dict(overview),
            html.heading("Mean +/- std over folds and seeds"),
            html.table_from_records(headline, columns=["metric", "mean", "std", "min", "max"]),
            html.heading("Params"),
            html.table_from_dict(data.params) if data.params else html.paragraph("none recorded", muted=True),
            html.heading(f"Per fold ({len(folds)})"),
            html.table_from_records(folds, columns=FOLD_COLUMNS),
            html.heading(f"Per subject ({len(subjects)}; mean over seeds)"),
            html.table_from_records(
                subjects,
                columns=["subject", "fold", "n_windows", "macro_f1", "accuracy"],
                row_class=lambda row: "warning" if row["subject"] == worst else None,
            ),
            html.heading("Per-class F1 (mean over folds whose test subjects performed the class)"),
            html.table_from_records(classes, columns=["class", "mean F1"]),
            html.paragraph(
                f"Confusion matrix summed over folds and {n_seeds} seed(s): {CONFUSION_PNG}", muted=True
            ),
        )
        path = self._path(HTML_FILE)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        visualizations[path] = VisualizationType.HTML
        return visualizations


def _check_summary(stored: Dict[str, Any], report: CrossValidationReport, path: str) -> None:
    """The stored summary must be what the fold scores give (catches edits of one without the other)."""
    expected = report.summary()
    wrong: List[str] = []
    for key, value in expected.items():
        found = stored.get(key)
        if isinstance(value, float):
            ok = isinstance(found, (int, float)) and not isinstance(found, bool) and math.isclose(
                found, value, rel_tol=1e-9, abs_tol=1e-12
            )
        elif isinstance(value, dict):
            ok = isinstance(found, dict) and set(found) == set(value) and all(
                isinstance(found[k], (int, float)) and math.isclose(found[k], v, rel_tol=1e-9, abs_tol=1e-12)
                for k, v in value.items()
            )
        else:
            ok = found == value
        if not ok:
            wrong.append(key)
    if wrong:
        raise ValueError(
            f"{path}: summary disagrees with the fold scores ({', '.join(wrong)}); the file was edited or corrupted"
        )


def _to_json(value: Any) -> Any:
    """`json.dumps(default=...)` for numpy values inside `params`."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"value of type {type(value).__name__} is not JSON-serialisable: {value!r}")
