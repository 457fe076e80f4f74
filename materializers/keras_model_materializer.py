"""Materializer for Keras 3 models (`keras.Model` and subclasses).

Layout inside the artifact URI::

    model.keras          native Keras 3 zip format (model.save / keras.models.load_model)
    meta.json            format_version, keras version/backend, shapes, parameter counts
    model_summary.html   (visualization: layers, output shapes, parameters)

Keras needs a local path, so the model is written to a temporary directory and
copied into the artifact store with `zenml.io.fileio.copy` (and the reverse on
load), which streams between filesystems for remote stores. Loading uses
`safe_mode=True`, so a model file cannot smuggle in pickled/lambda code.

Deliberately not ZenML's tensorflow integration (it pins an old TensorFlow).
This module imports keras at import time; `materializers/__init__.py` exposes
it lazily so that importing the other materializers does not import keras.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, ClassVar, Dict, List, Tuple, Type

import keras
import numpy as np
from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
META_FILE = "meta.json"
SUMMARY_HTML = "model_summary.html"
META_FIELDS = ("format_version", "type", "keras_version")


class KerasModelMaterializer(BaseMaterializer):
    """Stores a Keras model in the native `.keras` format."""

    ASSOCIATED_TYPES: ClassVar[Tuple[Type[Any], ...]] = (keras.Model,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def _path(self, name: str) -> str:
        return os.path.join(self.uri, name).replace("\\", "/")

    def save(self, data: keras.Model) -> None:
        store = self.artifact_store  # resolves (and registers) the store's filesystem
        if not store.exists(self.uri):
            store.makedirs(self.uri)
        with tempfile.TemporaryDirectory(prefix="har-keras-") as tmp:
            local = os.path.join(tmp, MODEL_FILE)
            data.save(local)
            fileio.copy(local, self._path(MODEL_FILE), overwrite=True)
        meta = {
            "format_version": FORMAT_VERSION,
            "type": "KerasModel",
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "model_class": type(data).__name__,
            **_shape_facts(data),
        }
        with store.open(self._path(META_FILE), "w") as handle:
            handle.write(json.dumps(meta, indent=2))

    def load(self, data_type: Type[Any]) -> keras.Model:
        store = self.artifact_store
        meta_path, model_path = self._path(META_FILE), self._path(MODEL_FILE)
        if not store.exists(meta_path):
            raise FileNotFoundError(
                f"{meta_path}: missing; this is not a Keras model artifact (or it is incomplete)"
            )
        try:
            with store.open(meta_path, "r") as handle:
                meta = json.loads(handle.read())
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{meta_path}: corrupt Keras model metadata ({error})") from error
        if not isinstance(meta, dict) or any(name not in meta for name in META_FIELDS):
            raise ValueError(f"{meta_path}: expected a JSON object with fields {', '.join(META_FIELDS)}")
        if meta["type"] != "KerasModel":
            raise ValueError(f"{meta_path}: holds a '{meta['type']}' artifact, not a Keras model")
        if meta["format_version"] != FORMAT_VERSION:
            raise ValueError(
                f"{meta_path}: format_version {meta['format_version']!r} is not supported "
                f"(expects {FORMAT_VERSION})"
            )
        major = str(meta["keras_version"]).split(".")[0]
        if major != keras.__version__.split(".")[0]:
            raise ValueError(
                f"{meta_path}: model was saved with Keras {meta['keras_version']}, "
                f"which cannot be loaded by Keras {keras.__version__}"
            )
        if not store.exists(model_path):
            raise FileNotFoundError(f"{model_path}: missing from the Keras model artifact")
        with tempfile.TemporaryDirectory(prefix="har-keras-") as tmp:
            local = os.path.join(tmp, MODEL_FILE)
            fileio.copy(model_path, local, overwrite=True)
            try:
                model = keras.models.load_model(local, safe_mode=True)
            except Exception as error:  # keras raises many types for a bad archive
                raise ValueError(
                    f"{model_path}: cannot load Keras model ({type(error).__name__}: {error})"
                ) from error
        if not isinstance(model, keras.Model):
            raise ValueError(f"{model_path}: loaded a {type(model).__name__}, not a keras.Model")
        return model

    def extract_metadata(self, data: keras.Model) -> Dict[str, MetadataType]:
        metadata: Dict[str, MetadataType] = {
            "model_class": type(data).__name__,
            "n_layers": len(data.layers),
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
        }
        for key, value in _shape_facts(data).items():
            if value is not None:
                metadata[key] = value
        return metadata

    def save_visualizations(self, data: keras.Model) -> Dict[str, VisualizationType]:
        from har import html_tables as html

        facts = _shape_facts(data)
        rows = [
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output shape": _layer_output_shape(layer),
                "params": _count_params(layer),
            }
            for layer in data.layers
        ]
        summary = {
            "name": data.name,
            "class": type(data).__name__,
            "input shape": facts.get("input_shape"),
            "output shape": facts.get("output_shape"),
            "total params": facts.get("n_params"),
            "trainable params": facts.get("n_trainable_params"),
            "layers": len(data.layers),
            "keras": f"{keras.__version__} ({keras.backend.backend()})",
        }
        document = html.page(
            f"Model summary: {data.name}",
            html.table_from_dict(summary),
            html.heading("Layers"),
            html.table_from_records(rows, columns=["layer", "type", "output shape", "params"]),
        )
        path = self._path(SUMMARY_HTML)
        with self.artifact_store.open(path, "w") as handle:
            handle.write(document)
        return {path: VisualizationType.HTML}


def _shape_str(shape: Any) -> str | None:
    if shape is None:
        return None
    if isinstance(shape, list):
        return ", ".join(_shape_str(item) or "?" for item in shape)
    return "(" + ", ".join("None" if dim is None else str(int(dim)) for dim in shape) + ")"


def _shape_facts(model: keras.Model) -> Dict[str, Any]:
    """Shapes and parameter counts; absent (None) for unbuilt models."""
    facts: Dict[str, Any] = {}
    try:
        input_shape = model.input_shape
        output_shape = model.output_shape
    except (AttributeError, ValueError):
        input_shape = output_shape = None
    facts["input_shape"] = _shape_str(input_shape)
    facts["output_shape"] = _shape_str(output_shape)
    if isinstance(input_shape, tuple) and len(input_shape) == 3:
        facts["window_size"] = None if input_shape[1] is None else int(input_shape[1])
        facts["n_channels"] = None if input_shape[2] is None else int(input_shape[2])
    if isinstance(output_shape, tuple) and output_shape and output_shape[-1] is not None:
        facts["n_classes"] = int(output_shape[-1])
    facts["n_params"] = _count_params(model)
    facts["n_trainable_params"] = _sum_weights(model.trainable_weights) if model.built else None
    return facts


def _count_params(layer: Any) -> int | None:
    try:
        return int(layer.count_params())
    except ValueError:  # unbuilt layer
        return None


def _sum_weights(weights: List[Any]) -> int:
    return int(sum(int(np.prod(weight.shape)) for weight in weights))


def _layer_output_shape(layer: Any) -> str:
    try:
        output = layer.output
    except (AttributeError, ValueError):
        return "?"
    if isinstance(output, (list, tuple)):
        return ", ".join(_shape_str(tuple(item.shape)) or "?" for item in output)
    return _shape_str(tuple(output.shape)) or "?"
