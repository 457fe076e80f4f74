"""Materializer for `har.drift.DriftVerdict`: JSON, metadata and an HTML summary with inline plots.

The HTML is what the ZenML dashboard shows for the verdict (Evidently's own
report, a separate artifact, renders blank there): the label-free monitors
against their thresholds, the predicted activity mix (current, reference,
training) and the top-probability histogram, as inline PNGs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar, Dict, Tuple, Type

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.drift import DriftVerdict

FORMAT_VERSION = 2  # 2: + monitors, source, monitor_evidence (version 1 still loads)
READABLE_VERSIONS = (1, 2)
DATA_FILE = "drift_verdict.json"
HTML_FILE = "drift_verdict.html"


class DriftVerdictMaterializer(BaseMaterializer):
    """Stores a `DriftVerdict` as one JSON document."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (DriftVerdict,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: DriftVerdict) -> None:
        if not self.artifact_store.exists(self.uri):
            self.artifact_store.makedirs(self.uri)
        content = {"format_version": FORMAT_VERSION, "type": "DriftVerdict", **dataclasses.asdict(data)}
        with self.artifact_store.open(self._path(DATA_FILE), "w") as handle:
            handle.write(json.dumps(content, indent=2))

    def load(self, data_type: Type[Any]) -> DriftVerdict:
        path = self._path(DATA_FILE)
        try:
            with self.artifact_store.open(path, "r") as handle:
                content = json.loads(handle.read())
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: unreadable DriftVerdict artifact ({error})") from error
        if not isinstance(content, dict) or content.get("type") != "DriftVerdict":
            raise ValueError(f"{path}: not a DriftVerdict artifact")
        if content.get("format_version") not in READABLE_VERSIONS:
            raise ValueError(f"{path}: format_version {content.get('format_version')}, expected one of "
                             f"{READABLE_VERSIONS}")
        fields = {f.name for f in dataclasses.fields(DriftVerdict)}
        required = {f.name for f in dataclasses.fields(DriftVerdict)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        if content["format_version"] >= 2:
            required |= {"monitors", "source", "monitor_evidence"}
        missing = required - set(content)
        if missing:
            raise ValueError(f"{path}: missing field(s) {', '.join(sorted(missing))}")
        return DriftVerdict(**{k: v for k, v in content.items() if k in fields})

    def extract_metadata(self, data: DriftVerdict) -> Dict[str, MetadataType]:
        return {
            "drift_detected": bool(data.drift_detected),
            "drift_share": float(data.drift_share),
            "n_drifted_features": len(data.drifted_features),
            "n_features": int(data.n_features),
            "drifted_features": ", ".join(data.drifted_features[:20]),
            "prediction_drift": bool(data.prediction_drift),
            "n_reference": int(data.n_reference),
            "n_current": int(data.n_current),
            "feature_stattest": str(data.thresholds.get("feature_stattest")),
            "drift_share_threshold": float(data.thresholds.get("drift_share", 0.0)),
            "source": str(data.source),
            "monitor_alerts": ", ".join(data.monitor_alerts),
            **{f"monitor_{m.name}": float(m.value) for m in data.monitors},
        }

    def save_visualizations(self, data: DriftVerdict) -> Dict[str, VisualizationType]:
        from har import html_tables as html

        scores = sorted(data.feature_scores.items(), key=lambda item: -(item[1] or 0.0))
        body = html.page(
            "Drift verdict",
            html.banner(data.summary(), ok=not data.drift_detected),
            html.paragraph(f"Checked: {data.source or 'unknown source'}", muted=True),
            *_monitor_sections(data),
            html.heading("Thresholds"),
            html.table_from_dict(data.thresholds),
            html.heading("Predicted activities (share of windows)"),
            html.table_from_records([
                {"activity": k, "reference": data.reference_prediction_share.get(k, 0.0),
                 "current": data.current_prediction_share.get(k, 0.0)}
                for k in sorted(set(data.reference_prediction_share) | set(data.current_prediction_share))]),
            html.heading("Feature drift scores"),
            html.table_from_records([{"feature": k, "score": v, "drifted": k in data.drifted_features}
                                     for k, v in scores]),
        )
        path = self._path(HTML_FILE)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(body)
        return {path: VisualizationType.HTML}


def _monitor_sections(data: DriftVerdict) -> list:
    """The label-free monitors: a table and the three plots (nothing for a verdict without monitors)."""
    if not data.monitors:
        return []
    from har import html_tables as html
    from har.monitor_plots import activity_mix_png, confidence_histogram_png, img_tag, monitors_png

    evidence = data.monitor_evidence
    sections = [
        html.heading("Label-free monitors"),
        html.table_from_records([{"monitor": m.name, "current": m.value, "reference": m.reference_value,
                                  "threshold": m.threshold, "alert": m.alert, "explanation": m.explanation}
                                 for m in data.monitors]),
        img_tag(monitors_png(data.monitors), "monitors vs. thresholds"),
    ]
    if evidence.get("current_mix"):
        sections += [html.heading("Predicted activity mix: current vs. reference vs. training"),
                     img_tag(activity_mix_png(evidence), "predicted activity mix")]
    if evidence.get("confidence_bins"):
        sections += [html.heading("Top class probability per window"),
                     img_tag(confidence_histogram_png(evidence, evidence.get("confidence_threshold")),
                             "confidence histogram")]
    return sections
