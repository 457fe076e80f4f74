"""The serving contract of the trained model version: one typed artifact that everyone downstream reads."""

from typing import Annotated

from zenml import get_step_context, log_metadata, step

from har.config import DataConfig, Schema
from har.export import ONNX as ONNX_FORMAT
from har.export import ExportedModel
from har.families import ModelFamily
from har.serving import NATIVE, ONNX, RUNTIMES, ServingConfig
from har.types import ChannelNormalizer, WindowedDataset


# Never from cache: the contract names the run's model and version, which a cached output of another run
# (another version, or another model trained on the same data) would get wrong.
@step(enable_cache=False)
def build_serving_config(
    trained_model: ModelFamily,
    test_windows: WindowedDataset,
    normalizer: ChannelNormalizer,
    data_config: DataConfig,
    data_schema: Schema,
    onnx_model: ExportedModel | None = None,
    max_windows_per_request: int = 1024,
    max_stream_samples: int = 360_000,
    max_body_bytes: int = 32 * 1024 * 1024,
    runtime: str = ONNX,
    runtime_threads: int = 1,
) -> Annotated[ServingConfig, "serving_config"]:
    """Family, classes, channels, units, window, step, rate, normaliser, limits and runtime of this version.

    Deployment (`package_model`), the service (`/model_info`), batch inference
    and drift read this artifact and nothing else for these settings.

    Args:
        trained_model: The version's model (its family is named in the contract and in `/model_info`).
        test_windows: The version's test windows (channel order as trained).
        normalizer: Its training normaliser.
        data_config: The run's data settings (dataset profile).
        data_schema: The dataset's schema: each stream's canonical unit and the units a request may declare.
        onnx_model: The version's `onnx_float32` export (parity-checked by export_model); None: served natively.
        max_windows_per_request: Limit of POST /predict (larger batches get HTTP 413).
        max_stream_samples: Limit of POST /predict_stream.
        max_body_bytes: Request bodies above this size are refused before parsing.
        runtime: What runs the model in the service: "onnx" (ONNX Runtime on the ONNX export, the fastest with
            parity here, see benchmarks/bench_serving.py) or "native" (the family's own code; Keras behind a
            tf.function). "onnx" without an export is "native".
        runtime_threads: The runtime's intra-op threads (1 leaves a core to the HTTP side).

    Returns:
        The serving config.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if onnx_model is not None and onnx_model.format != ONNX_FORMAT:
        raise ValueError(f"onnx_model is a {onnx_model.format} export ({onnx_model.name}); expected onnx_float32")
    model = get_step_context().model
    config = ServingConfig.for_model(
        model.name, str(model.number), data_config, data_schema, test_windows.channel_names, normalizer,
        max_windows_per_request=max_windows_per_request, max_stream_samples=max_stream_samples,
        max_body_bytes=max_body_bytes, runtime=runtime if onnx_model is not None else NATIVE,
        family=trained_model.name,
        runtime_threads=runtime_threads)
    if trained_model.class_names != config.class_names or trained_model.channel_names != config.channel_names:
        raise ValueError(f"the model predicts {trained_model.class_names} from {trained_model.channel_names}; the "
                         f"contract says {config.class_names} from {config.channel_names}")
    if list(test_windows.class_names) != config.class_names:
        raise ValueError(f"test windows have classes {test_windows.class_names}, the data settings "
                         f"{config.class_names}")
    log_metadata(metadata={"serving_config": {"runtime": config.runtime, "family": config.family,
                                              "window_size": config.window_size,
                                              "sample_rate_hz": config.sample_rate_hz}}, infer_model=True)
    return config
