"""Materializer for `har.types.ChannelNormalizer`.

Layout inside the artifact URI::

    normalizer.json   {"format_version", "type", "channel_names", "mean", "std"}
    normalizer.html   (visualization: per-channel mean/std table)
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, ClassVar, Dict, Tuple, Type

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from har.types import ChannelNormalizer

FORMAT_VERSION = 1
DATA_FILE = "normalizer.json"
HTML_FILE = "normalizer.html"
REQUIRED_FIELDS = ("format_version", "type", "channel_names", "mean", "std")


class ChannelNormalizerMaterializer(BaseMaterializer):
    """Stores a `ChannelNormalizer` as a small JSON document."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (ChannelNormalizer,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: ChannelNormalizer) -> None:
        _validate(data, DATA_FILE)
        content = {"format_version": FORMAT_VERSION, "type": "ChannelNormalizer", **data.to_dict()}
        content["mean"] = [float(value) for value in content["mean"]]
        content["std"] = [float(value) for value in content["std"]]
        if not self.artifact_store.exists(self.uri):
            self.artifact_store.makedirs(self.uri)
        with self.artifact_store.open(self._path(DATA_FILE), "w") as handle:
            handle.write(json.dumps(content, indent=2))

    def load(self, data_type: Type[Any]) -> ChannelNormalizer:
        path = self._path(DATA_FILE)
        if not self.artifact_store.exists(path):
            raise FileNotFoundError(f"{path}: missing; this is not a ChannelNormalizer artifact")
        try:
            with self.artifact_store.open(path, "r") as handle:
                content = json.loads(handle.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: corrupt ChannelNormalizer file ({error})") from error
        if not isinstance(content, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(content).__name__}")
        missing = [name for name in REQUIRED_FIELDS if name not in content]
        if missing:
            raise ValueError(f"{path}: missing field(s) {', '.join(missing)}")
        if content["type"] != "ChannelNormalizer":
            raise ValueError(f"{path}: holds a '{content['type']}' artifact, not a ChannelNormalizer")
        if content["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"{path}: format_version {content['format_version']!r} is not supported "
                f"(expects {FORMAT_VERSION})"
            )
        try:
            normalizer = ChannelNormalizer.from_dict(content)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: invalid ChannelNormalizer content ({error})") from error
        _validate(normalizer, path)
        return normalizer

    def extract_metadata(self, data: ChannelNormalizer) -> Dict[str, MetadataType]:
        metadata: Dict[str, MetadataType] = {
            "n_channels": len(data.channel_names),
            "channel_names": ",".join(data.channel_names),
        }
        for name, mean, std in zip(data.channel_names, data.mean, data.std, strict=True):
            metadata[f"mean_{name}"] = float(mean)
            metadata[f"std_{name}"] = float(std)
        return metadata

    def save_visualizations(self, data: ChannelNormalizer) -> Dict[str, VisualizationType]:
        from har import html_tables as html

        rows = [
            {"channel": name, "mean": float(mean), "std": float(std)}
            for name, mean, std in zip(data.channel_names, data.mean, data.std, strict=True)
        ]
        document = html.page(
            "Channel normalizer",
            html.paragraph("Per-channel standardisation (x - mean) / std, fitted on the training split."),
            html.table_from_records(rows, columns=["channel", "mean", "std"], float_digits=5),
        )
        path = self._path(HTML_FILE)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        return {path: VisualizationType.HTML}


def _validate(normalizer: ChannelNormalizer, where: str) -> None:
    n = len(normalizer.channel_names)
    if len(normalizer.mean) != n or len(normalizer.std) != n:
        raise ValueError(
            f"{where}: {n} channel names but {len(normalizer.mean)} means and {len(normalizer.std)} stds"
        )
    for name, mean, std in zip(normalizer.channel_names, normalizer.mean, normalizer.std, strict=True):
        if not math.isfinite(float(mean)) or not math.isfinite(float(std)) or float(std) <= 0.0:
            raise ValueError(
                f"{where}: channel '{name}' has mean={mean}, std={std}; std must be finite and > 0"
            )
