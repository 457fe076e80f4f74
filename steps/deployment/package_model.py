"""Package the production model and its normalisation as a Bento."""

import os
from typing import Annotated

import keras
from bentoml._internal.bento.bento import Bento
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger

from har.config import DataConfig, Schema
from har.export import ONNX as ONNX_FORMAT
from har.export import ExportedModel
from har.serving import KERAS, ONNX, RUNTIMES, ServingConfig, units_from_schema
from har.types import ChannelNormalizer, WindowedDataset
from mlops.bento import build_bento, export_model

logger = get_logger(__name__)


@step
def package_model(
    trained_model: keras.Model,
    normalizer: ChannelNormalizer,
    test_windows: WindowedDataset,
    data_schema: Schema,
    max_windows_per_request: int = 1024,
    max_stream_samples: int = 360_000,
    max_body_bytes: int = 32 * 1024 * 1024,
    docker_base_image: str | None = None,
    onnx_model: ExportedModel | None = None,
    runtime: str = ONNX,
    runtime_threads: int = 1,
) -> Annotated[Bento, "bento"]:
    """Export model + normaliser + serving config to BentoML's model store and build the Bento.

    Args:
        trained_model: The production version's model.
        normalizer: Its training normaliser (served with it).
        test_windows: Gives classes, channels, window size, step and rate the model was trained with.
        data_schema: The dataset's schema (profile overrides included), as in training: each stream's
            canonical unit and the units a request may declare instead.
        max_windows_per_request: Limit of POST /predict (larger batches get HTTP 413).
        max_stream_samples: Limit of POST /predict_stream.
        max_body_bytes: Request bodies above this size are refused before parsing.
        docker_base_image: Base of the Bento's container image; default `$HAR_BASE_IMAGE` (set on the
            docker stack, see scripts/docker_stack.py), else BentoML's python:3.11-slim.
        onnx_model: The version's `onnx_float32` export (normaliser inside); None for versions trained
            before the exports.
        runtime: What runs the model in the service: "onnx" (ONNX Runtime, the fastest with parity on the
            2-core CPU it was measured on, see benchmarks/bench_serving.py) or "keras" (tf.function). "onnx"
            falls back to "keras", with a warning, for a version without an ONNX export.
        runtime_threads: The runtime's intra-op threads (1 leaves a core to the HTTP side).

    Returns:
        The Bento (service.py + the shared `har` package + the model).
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    context_model = get_step_context().model
    if onnx_model is not None and onnx_model.format != ONNX_FORMAT:
        raise ValueError(f"onnx_model is a {onnx_model.format} export ({onnx_model.name}); expected onnx_float32")
    if runtime == ONNX and onnx_model is None:
        logger.warning("Model version %s has no onnx_float32 export (trained before the exports): serving it "
                       "with Keras instead of ONNX Runtime", context_model.version)
        runtime = KERAS
    version = Client().get_model_version(context_model.name, context_model.version)
    data_config = DataConfig.model_validate(version.run_metadata.get("data_config") or {})
    units = units_from_schema(data_config.streams, data_schema)
    unit_channels = [channel for stream in units.values() for channel in stream.channels]
    if unit_channels != list(test_windows.channel_names):
        raise ValueError(f"model version {version.number} was trained on channels {test_windows.channel_names}, "
                         f"but streams {data_config.streams} of the dataset's schema give {unit_channels}")
    config = ServingConfig(
        model_name=context_model.name,
        model_version=str(version.number),
        class_names=list(test_windows.class_names),
        channel_names=list(test_windows.channel_names),
        window_size=test_windows.window_size,
        step=test_windows.step,
        sample_rate_hz=test_windows.sample_rate_hz,
        merge_tolerance_ms=data_config.merge_tolerance_ms,
        max_windows_per_request=max_windows_per_request,
        max_stream_samples=max_stream_samples,
        units=units,
        linear_acceleration=data_config.linear_acceleration,
        runtime=runtime,
        runtime_threads=runtime_threads,
    )
    model_tag = export_model(trained_model, normalizer, config,
                             onnx_model=onnx_model.content if runtime == ONNX and onnx_model else None)
    bento = build_bento(model_tag, {"max_body_bytes": max_body_bytes},
                        docker_base_image=docker_base_image or os.environ.get("HAR_BASE_IMAGE") or None)
    logger.info("Packaged model version %s (runtime %s) as BentoML model %s in Bento %s", config.model_version,
                runtime, model_tag, bento.tag)
    log_metadata(metadata={"bentoml_model_tag": model_tag, "bento_tag": str(bento.tag),
                           "model_version": config.model_version, "runtime": runtime,
                           "units": {name: stream.unit for name, stream in units.items()},
                           "linear_acceleration": config.linear_acceleration}, infer_artifact=True)
    return bento
