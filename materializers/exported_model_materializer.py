"""Materializer for `har.export.ExportedModel` (a LiteRT or ONNX file plus its device report).

Layout inside the artifact URI::

    model_float32.tflite | model_int8.tflite | model_float32.onnx   the file a device loads, as is
    export.json          format_version, type, file name, sha256, ops, parity, benchmark, preprocessing spec
    export_report.html   (visualization: the firmware engineer's page)

Loading refuses a file whose SHA-256 differs from the one recorded at save
time, and a file its format's parser rejects, so a truncated or swapped model
never reaches a device. Only the runtimes' parsers are imported (no TensorFlow).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, ClassVar, Dict, Tuple, Type

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har import html_tables as html
from har.export import FILE_SUFFIX, TFLM_BUILTIN_OPS, TFLM_OPS_SOURCE, ExportedModel, facts, summary_rows

FORMAT_VERSION = 1
META_FILE = "export.json"
REPORT_HTML = "export_report.html"
META_FIELDS = ("format_version", "type", "file_name", "sha256", "format", "precision", "ops", "converter",
               "input_shape", "preprocessing")


class ExportedModelMaterializer(BaseMaterializer):
    """Stores an `ExportedModel` as its model file plus `export.json`."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (ExportedModel,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: ExportedModel) -> None:
        store = self.artifact_store
        if not store.exists(self.uri):
            store.makedirs(self.uri)
        with store.open(self._path(data.file_name), "wb") as handle:
            handle.write(data.content)
        meta = {"format_version": FORMAT_VERSION, "type": "ExportedModel", **data.describe()}
        with store.open(self._path(META_FILE), "w") as handle:  # written last: its presence means complete
            handle.write(json.dumps(meta, indent=2))

    def load(self, data_type: Type[Any]) -> ExportedModel:
        meta = self._read_meta()
        path = self._path(meta["file_name"])
        if os.path.basename(meta["file_name"]) != meta["file_name"] or not str(meta["file_name"]).endswith(
            FILE_SUFFIX.get(meta["format"], "?")
        ):
            raise ValueError(f"{self._path(META_FILE)}: file_name {meta['file_name']!r} is not a "
                             f"{meta['format']} file of this artifact")
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(f"{path}: missing from the exported-model artifact")
        with self.artifact_store.open(path, "rb") as handle:
            content = handle.read()
        digest = hashlib.sha256(content).hexdigest()
        if digest != meta["sha256"]:
            raise ValueError(f"{path}: corrupt model file (SHA-256 {digest[:12]}... differs from the "
                             f"{meta['sha256'][:12]}... recorded when it was saved; {len(content)} bytes)")
        try:
            facts(meta["format"], content)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
        return ExportedModel.from_description(content, meta)

    def _read_meta(self) -> Dict[str, Any]:
        path = self._path(META_FILE)
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(f"{path}: missing; this is not an exported-model artifact (or it is incomplete)")
        try:
            with self.artifact_store.open(path, "r") as handle:
                meta = json.loads(handle.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: corrupt exported-model metadata ({error})") from error
        if not isinstance(meta, dict) or any(name not in meta for name in META_FIELDS):
            raise ValueError(f"{path}: expected a JSON object with fields {', '.join(META_FIELDS)}")
        if meta["type"] != "ExportedModel":
            raise ValueError(f"{path}: holds a '{meta['type']}' artifact, not an exported model")
        if meta["format_version"] != FORMAT_VERSION:
            raise ValueError(f"{path}: format_version {meta['format_version']!r} is not supported "
                             f"(expects {FORMAT_VERSION})")
        if meta["format"] not in FILE_SUFFIX:
            raise ValueError(f"{path}: unknown format {meta['format']!r} (expected {', '.join(FILE_SUFFIX)})")
        return meta

    def extract_metadata(self, data: ExportedModel) -> Dict[str, MetadataType]:
        spec = data.preprocessing
        metadata: Dict[str, MetadataType] = {
            "format": data.format,
            "precision": data.precision,
            "quantization": data.quantization,
            "size_kb": round(float(data.size_kb), 2),
            "n_ops": len(data.ops),
            "ops": ",".join(data.ops),
            "tflm_compatible": bool(data.tflm_compatible),
            "device_class": data.device_class,
            "sample_rate_hz": float(spec.sample_rate_hz),
            "window_size": int(spec.window_size),
            "step": int(spec.step),
            "channel_order": ",".join(spec.channel_names),
            "channel_units": ",".join(f"{name}={spec.channel_units.get(name, '?')}" for name in spec.channel_names),
        }
        for key in ("top1_agreement", "max_prob_diff"):
            if key in data.parity:
                metadata[key] = float(data.parity[key])
        for key in ("accuracy", "macro_f1"):
            if key in data.evaluation:
                metadata[f"test_{key}"] = float(data.evaluation[key])
        for key in ("latency_ms_median", "peak_memory_kb", "constants_kb", "activation_kb_upper_bound"):
            if key in data.benchmark:
                value = data.benchmark[key]
                metadata[key] = int(value) if isinstance(value, int) else float(value)
        return metadata

    def save_visualizations(self, data: ExportedModel) -> Dict[str, VisualizationType]:
        path = self._path(REPORT_HTML)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(export_report_html([data], title=f"Export {data.name}: {data.file_name}"))
        return {path: VisualizationType.HTML}


def export_report_html(exports: list, title: str = "On-device exports", model_version: str | None = None) -> str:
    """The firmware engineer's page: figures per format, the preprocessing contract, ops and TFLM status."""
    if not exports:
        return html.page(title, html.paragraph("No exports."))
    spec = exports[0].preprocessing
    sections = [
        html.paragraph(f"Model version {model_version}." if model_version else "Exports of the trained model."),
        html.heading("Figures (test split; latency and memory on the build machine's CPU, 1 thread)"),
        html.table_from_records(summary_rows(exports)),
        html.paragraph("Peak memory: growth of the process' peak RSS while loading the model and running one "
                       "window (runtime overhead included). Activation KB: all non-constant tensors of the "
                       "LiteRT graph added up, an upper bound of the tensor arena a microcontroller needs.",
                       muted=True),
        html.heading("Preprocessing contract (implement this on the device)"),
        "<ol>" + "".join(f"<li>{html.escape(line)}</li>" for line in spec.instructions()) + "</ol>",
        html.table_from_dict({
            "sample rate (Hz)": spec.sample_rate_hz, "window (samples)": spec.window_size,
            "window (s)": spec.window_seconds, "step (samples)": spec.step, "step (s)": spec.step_seconds,
            "channel order": ", ".join(spec.channel_names),
            "units": ", ".join(f"{n}: {spec.channel_units.get(n, '?')}" for n in spec.channel_names),
            "classes (output order)": ", ".join(spec.class_names),
            "folded mean": [round(v, 6) for v in spec.normalizer_mean],
            "folded std": [round(v, 6) for v in spec.normalizer_std],
        }, float_digits=6),
    ]
    for export in exports:
        sections += [
            html.heading(f"{export.name} ({export.file_name}, {export.size_kb:.1f} KB)"),
            html.table_from_dict({
                "device class": export.device_class, "quantization": export.quantization,
                "converter": export.converter, "input shape": export.input_shape,
                "tensor dtypes": export.tensor_dtypes, "sha256": export.sha256,
                **{f"parity: {k}": v for k, v in export.parity.items()},
                **{f"benchmark: {k}": v for k, v in export.benchmark.items()},
            }),
            html.table_from_records(
                [{"op": op, "in TFLM's builtin list": (op in TFLM_BUILTIN_OPS) if export.format == "litert" else None}
                 for op in export.ops],
                caption=f"{len(export.ops)} ops",
                row_class=lambda r: "warning" if r["in TFLM's builtin list"] is False else None,
            ),
            *[html.paragraph(note, muted=True) for note in export.notes],
        ]
    sections.append(html.paragraph(f"TFLM op list: {TFLM_OPS_SOURCE}.", muted=True))
    return html.page(title, *sections)

