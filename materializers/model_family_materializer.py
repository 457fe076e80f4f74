"""Materializer for `har.families.ModelFamily` models (any registered family).

Layout inside the artifact URI: exactly what `ModelFamily.save` writes, i.e.

    family.json          format version, family, hyperparameters, classes, channels, window, fitted state
    model.keras          (Keras families) native Keras 3 zip format, loaded with safe_mode=True
    *.npy                (array families, e.g. MiniRocket's transform and ridge) plain arrays, allow_pickle=False
    model_summary.html   (visualization: family, hyperparameters, files and sizes)

The model is written to a temporary directory and copied into the artifact
store file by file with `zenml.io.fileio.copy` (and back on load), which
streams between filesystems for remote stores. Only `.keras`, `.npy` and
`.json` files are ever read back: nothing is unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Dict, Tuple, Type

from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.families import FAMILY_FILE, PORTABLE_SUFFIXES, ModelFamily, load_model

SUMMARY_HTML = "model_summary.html"


class ModelFamilyMaterializer(BaseMaterializer):
    """Stores a fitted model of any family in its own portable files."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (ModelFamily,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: ModelFamily) -> None:
        store = self.artifact_store
        if not store.exists(self.uri):
            store.makedirs(self.uri)
        with tempfile.TemporaryDirectory(prefix="har-model-") as tmp:
            files = data.save(Path(tmp) / "model")
            # family.json last: a copy cut short leaves no family.json, and load says "incomplete"
            for path in sorted(files, key=lambda p: p.name == FAMILY_FILE):
                fileio.copy(str(path), self._path(path.name), overwrite=True)

    def load(self, data_type: Type[Any]) -> ModelFamily:
        store = self.artifact_store
        if not store.exists(self._path(FAMILY_FILE)):
            raise FileNotFoundError(f"{self._path(FAMILY_FILE)}: missing; this is not a model artifact of "
                                    "har.families (or it is incomplete); retrain the version")
        with tempfile.TemporaryDirectory(prefix="har-model-") as tmp:
            for name in store.listdir(self.uri):
                name = str(name)
                if Path(name).suffix in PORTABLE_SUFFIXES:
                    fileio.copy(self._path(name), os.path.join(tmp, name), overwrite=True)
            return load_model(tmp, warm_up=False)

    def extract_metadata(self, data: ModelFamily) -> Dict[str, MetadataType]:
        return {"family": data.name, "n_classes": data.n_classes, "window_size": data.window_size,
                "n_channels": len(data.channel_names), "exportable": bool(data.exportable)}

    def save_visualizations(self, data: ModelFamily) -> Dict[str, VisualizationType]:
        from har import html_tables as html

        files = [{"file": str(name), "KB": round((self.artifact_store.size(self._path(str(name))) or 0) / 1024, 1)}
                 for name in sorted(self.artifact_store.listdir(self.uri)) if str(name) != SUMMARY_HTML]
        document = html.page(
            f"Model: {data.name}",
            html.table_from_dict({"family": data.name, "classes": ", ".join(data.class_names),
                                  "channels": ", ".join(data.channel_names), "window": data.window_size,
                                  "runs on a watch (LiteRT export)": "yes" if data.exportable else "no"}),
            html.heading("Hyperparameters"),
            html.table_from_dict({k: json.dumps(v) for k, v in data.params.model_dump(mode="json").items()}),
            html.heading("Files"),
            html.table_from_records(files, columns=["file", "KB"]),
        )
        path = self._path(SUMMARY_HTML)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        return {path: VisualizationType.HTML}

