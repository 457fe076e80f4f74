"""Materializer for `har.serving.ServingConfig`, the serving contract of a model version.

Layout inside the artifact URI::

    serving_config.json   {"format_version", "type", <every ServingConfig field>}
    serving_config.html   (visualization: the contract as a table)
"""

from __future__ import annotations

import html
import json
import os
from typing import Any, ClassVar, Dict, Tuple, Type

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.serving import ServingConfig
from materializers._json import read_document, write_document

FORMAT_VERSION = 1
TYPE_NAME = "ServingConfig"
DATA_FILE = "serving_config.json"
HTML_FILE = "serving_config.html"
REQUIRED_FIELDS = ("model_name", "model_version", "class_names", "channel_names", "window_size", "step",
                   "sample_rate_hz", "units", "normalizer_mean", "normalizer_std")


class ServingConfigMaterializer(BaseMaterializer):
    """Stores a `ServingConfig` as one JSON document (what the Bento's serving.json holds too)."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (ServingConfig,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def save(self, data: ServingConfig) -> None:
        write_document(self, DATA_FILE, TYPE_NAME, FORMAT_VERSION, data.to_dict())

    def load(self, data_type: Type[Any]) -> ServingConfig:
        content = read_document(self, DATA_FILE, TYPE_NAME, FORMAT_VERSION, REQUIRED_FIELDS)
        return ServingConfig.from_dict(content)

    def save_visualizations(self, data: ServingConfig) -> Dict[str, VisualizationType]:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td><code>"
                       f"{html.escape(json.dumps(v) if not isinstance(v, str) else v)}</code></td></tr>"
                       for k, v in data.to_dict().items())
        page = (f"<h3>Serving contract of {html.escape(data.model_name)} version {html.escape(data.model_version)}"
                "</h3><p>What deployment, batch inference, drift and the service read; <code>/model_info</code> "
                f"answers it.</p><table>{rows}</table>")
        path = os.path.join(self.uri, HTML_FILE).replace("\\", "/")
        with self.artifact_store.open(path, "w") as handle:
            handle.write(page)
        return {path: VisualizationType.HTML}

    def extract_metadata(self, data: ServingConfig) -> Dict[str, MetadataType]:
        return {"model_version": data.model_version, "runtime": data.runtime, "classes": len(data.class_names),
                "channels": len(data.channel_names), "window_size": data.window_size,
                "sample_rate_hz": float(data.sample_rate_hz)}
