"""Materializer for `har.types.EvaluationReport`.

Layout inside the artifact URI::

    evaluation.json        {"format_version", "type", "accuracy", "macro_f1", "class_names",
                            "per_class", "confusion_matrix", "n_windows", "model_version"}
    confusion_matrix.png   (visualization: counts, row-normalised colouring)
    per_class.html         (visualization: precision / recall / F1 / support per class)
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar, Dict, List, Tuple, Type

import numpy as np
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.types import EvaluationReport

FORMAT_VERSION = 1
DATA_FILE = "evaluation.json"
CONFUSION_PNG = "confusion_matrix.png"
PER_CLASS_HTML = "per_class.html"
REQUIRED_FIELDS = (
    "format_version",
    "type",
    "accuracy",
    "macro_f1",
    "class_names",
    "per_class",
    "confusion_matrix",
    "n_windows",
)
METRICS = ("precision", "recall", "f1", "support")


class EvaluationReportMaterializer(BaseMaterializer):
    """Stores an `EvaluationReport` as `evaluation.json` with PNG/HTML renderings."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (EvaluationReport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: EvaluationReport) -> None:
        content = {
            "format_version": FORMAT_VERSION,
            "type": "EvaluationReport",
            "accuracy": float(data.accuracy),
            "macro_f1": float(data.macro_f1),
            "class_names": [str(name) for name in data.class_names],
            "per_class": {
                str(name): {str(key): _number(value) for key, value in metrics.items()}
                for name, metrics in data.per_class.items()
            },
            "confusion_matrix": np.asarray(data.confusion_matrix, dtype=np.int64).tolist(),
            "n_windows": int(data.n_windows),
            "model_version": None if data.model_version is None else str(data.model_version),
        }
        _validate(content, "EvaluationReport")
        if not self.artifact_store.exists(self.uri):
            self.artifact_store.makedirs(self.uri)
        with self.artifact_store.open(self._path(DATA_FILE), "w") as handle:
            handle.write(json.dumps(content, indent=2))

    def load(self, data_type: Type[Any]) -> EvaluationReport:
        path = self._path(DATA_FILE)
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(f"{path}: missing; this is not an EvaluationReport artifact")
        try:
            with self.artifact_store.open(path, "r") as handle:
                content = json.loads(handle.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: corrupt EvaluationReport file ({error})") from error
        if not isinstance(content, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(content).__name__}")
        missing = [name for name in REQUIRED_FIELDS if name not in content]
        if missing:
            raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
        if content["type"] != "EvaluationReport":
            raise ValueError(f"{path}: holds a '{content['type']}' artifact, not an EvaluationReport")
        if content["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"{path}: format_version {content['format_version']!r} is not supported "
                f"(expects {FORMAT_VERSION})"
            )
        _validate(content, path)
        return EvaluationReport(
            accuracy=float(content["accuracy"]),
            macro_f1=float(content["macro_f1"]),
            class_names=list(content["class_names"]),
            per_class={name: dict(metrics) for name, metrics in content["per_class"].items()},
            confusion_matrix=[[int(v) for v in row] for row in content["confusion_matrix"]],
            n_windows=int(content["n_windows"]),
            model_version=content.get("model_version"),
        )

    def extract_metadata(self, data: EvaluationReport) -> Dict[str, MetadataType]:
        metadata: Dict[str, MetadataType] = {
            "accuracy": float(data.accuracy),
            "macro_f1": float(data.macro_f1),
            "n_windows": int(data.n_windows),
            "n_classes": len(data.class_names),
        }
        if data.model_version is not None:
            metadata["model_version"] = str(data.model_version)
        for name in data.class_names:
            metrics = data.per_class.get(name, {})
            if "f1" in metrics:
                metadata[f"f1_{name}"] = float(metrics["f1"])
        return metadata

    def save_visualizations(self, data: EvaluationReport) -> Dict[str, VisualizationType]:
        from har import html_tables as html
        from har import plots

        visualizations: Dict[str, VisualizationType] = {}
        title = f"accuracy {data.accuracy:.3f} | macro-F1 {data.macro_f1:.3f} | n={data.n_windows}"
        if data.model_version:
            title = f"{data.model_version}: {title}"
        png = plots.confusion_matrix_png(data.confusion_matrix, data.class_names, title=title)
        path = self._path(CONFUSION_PNG)
        with self.artifact_store.open(path, "wb") as handle:
            handle.write(png)
        visualizations[path] = VisualizationType.IMAGE

        rows: List[Dict[str, Any]] = []
        for name in data.class_names:
            metrics = data.per_class.get(name, {})
            rows.append({"class": name, **{key: metrics.get(key) for key in METRICS}})
        footer = {
            "class": "macro average",
            **{key: _mean([row[key] for row in rows]) for key in ("precision", "recall", "f1")},
            "support": sum(int(row["support"]) for row in rows if isinstance(row["support"], (int, float))),
        }
        summary = {
            "accuracy": float(data.accuracy),
            "macro F1": float(data.macro_f1),
            "windows": data.n_windows,
        }
        if data.model_version is not None:
            summary = {"model version": data.model_version, **summary}
        document = html.page(
            "Evaluation report",
            html.table_from_dict(summary),
            html.heading("Per-class metrics"),
            html.table_from_records(rows, columns=["class", *METRICS], footer=footer),
        )
        path = self._path(PER_CLASS_HTML)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        visualizations[path] = VisualizationType.HTML
        return visualizations


def _number(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def _mean(values: List[Any]) -> Any:
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(numbers) / len(numbers) if numbers else None


def _validate(content: Dict[str, Any], where: str) -> None:
    names = content["class_names"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{where}: 'class_names' must be a list of strings")
    matrix = content["confusion_matrix"]
    n = len(names)
    if (
        not isinstance(matrix, list)
        or len(matrix) != n
        or not all(isinstance(row, list) and len(row) == n for row in matrix)
    ):
        raise ValueError(f"{where}: confusion_matrix must be {n}x{n} for classes {names}")
    if not all(isinstance(value, int) and not isinstance(value, bool) for row in matrix for value in row):
        raise ValueError(f"{where}: confusion_matrix must hold integer counts")
    per_class = content["per_class"]
    if not isinstance(per_class, dict) or not all(isinstance(m, dict) for m in per_class.values()):
        raise ValueError(f"{where}: 'per_class' must map class name -> metrics object")
    unknown = sorted(set(per_class) - set(names))
    if unknown:
        raise ValueError(f"{where}: per_class has unknown class(es) {unknown}")
    for key in ("accuracy", "macro_f1"):
        value = content[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{where}: '{key}' must be a number, got {value!r}")
