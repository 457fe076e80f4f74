"""Package a model version and its serving contract as a Bento."""

import os
from typing import Annotated, Any, Dict

from bentoml._internal.bento.bento import Bento
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from har.export import ONNX as ONNX_FORMAT
from har.export import ExportedModel
from har.families import ModelFamily
from har.serving import ONNX, ServingConfig
from har.serving_log import ServingLogSettings
from mlops.bento import bento_packages, build_bento, export_model

logger = get_logger(__name__)


@step
def package_model(
    trained_model: ModelFamily,
    serving_config: ServingConfig,
    onnx_model: ExportedModel | None = None,
    docker_base_image: str | None = None,
    serving_log: Dict[str, Any] | None = None,
) -> Annotated[Bento, "bento"]:
    """Export model + serving contract to BentoML's model store and build the Bento.

    Args:
        trained_model: The version's model, any family (always stored; served when the contract says "native").
        serving_config: The version's `serving_config` artifact: classes, channels, units, window, rate,
            normaliser, limits and runtime. The service answers `/model_info` with it.
        onnx_model: The version's `onnx_float32` export (normaliser inside), served by ONNX Runtime when the
            contract's runtime is "onnx".
        docker_base_image: Base of the Bento's container image; default `$HAR_BASE_IMAGE` (set on the
            docker stack, see mlops/docker.py), else BentoML's python:3.11-slim.
        serving_log: The serving log's settings (`har.serving_log.ServingLogSettings`; off by default: raw
            sensor data is personal data).

    Returns:
        The Bento (service.py + the shared `har` package + the model).
    """
    context_model = get_step_context().model
    if (serving_config.model_name, serving_config.model_version) != (context_model.name, str(context_model.number)):
        raise ValueError(f"serving_config belongs to {serving_config.model_name} version "
                         f"{serving_config.model_version}, not to {context_model.name} version {context_model.number}")
    if onnx_model is not None and onnx_model.format != ONNX_FORMAT:
        raise ValueError(f"onnx_model is a {onnx_model.format} export ({onnx_model.name}); expected onnx_float32")
    if serving_config.runtime == ONNX and onnx_model is None:
        raise ValueError(f"the serving config of version {serving_config.model_version} says runtime 'onnx' but "
                         "the version has no onnx_float32 export")
    model_tag = export_model(trained_model, serving_config,
                             onnx_model=onnx_model.content if serving_config.runtime == ONNX else None)
    deployment = {"max_body_bytes": serving_config.max_body_bytes}
    if serving_log:  # checked here, at deploy time: a typo must not wait for the server's start to show
        deployment["serving_log"] = ServingLogSettings.from_dict(serving_log).to_dict()
    bento = build_bento(model_tag, deployment,
                        docker_base_image=docker_base_image or os.environ.get("HAR_BASE_IMAGE") or None,
                        packages=bento_packages(serving_config))
    logger.info("Packaged model version %s (runtime %s) as BentoML model %s in Bento %s",
                serving_config.model_version, serving_config.runtime, model_tag, bento.tag)
    log_metadata(metadata={"bentoml_model_tag": model_tag, "bento_tag": str(bento.tag),
                           "model_version": serving_config.model_version, "runtime": serving_config.runtime,
                           "serving_log": bool(serving_log and serving_log.get("enabled"))}, infer_artifact=True)
    return bento
