"""Serve a Bento over HTTP through the stack's BentoML model deployer, replacing older deployments."""

import time
from typing import Annotated

import bentoml
import httpx
from bentoml._internal.bento.bento import Bento
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.integrations.bentoml.model_deployers.bentoml_model_deployer import BentoMLModelDeployer
from zenml.integrations.bentoml.services.bentoml_container_deployment import (
    BentoMLContainerDeploymentConfig,
    BentoMLContainerDeploymentService,
)
from zenml.integrations.bentoml.services.bentoml_local_deployment import (
    BentoMLLocalDeploymentConfig,
    BentoMLLocalDeploymentService,
)
from zenml.logger import get_logger
from zenml.services.service import BaseDeploymentService

from mlops.deployments import describe_port, free_port, stop_deployments

logger = get_logger(__name__)


@step(enable_cache=False)  # a deployment is state outside ZenML; never "reuse" one
def deploy_model(
    bento: Bento,
    port: int = 3000,
    host: str = "127.0.0.1",
    timeout: int = 180,
    deployment_type: str = "auto",
) -> Annotated[BaseDeploymentService, "bentoml_deployment"]:
    """Stop every deployment of this model, start the new one and check it serves the expected version.

    ZenML's own look-up would treat any running deployment of the model as
    "the same" and keep serving the old version, so every deployment of the model
    (any version, running or dead, found by its own record rather than by ZenML's
    "latest version" look-up) is stopped with all its processes, leftovers of deleted
    deployments on the port are ended, the port is checked free, and the new server
    must answer `/model_info` with the version being deployed. This also makes the
    deploy command the way to restore a deployment whose processes died.

    Args:
        bento: Output of `package_model`.
        port: Local port of the HTTP server.
        host: Interface to listen on.
        timeout: Seconds to wait for stop/start (a container image build comes on top).
        deployment_type: `local` (a BentoML server process on this machine), `container` (BentoML's
            container image, run on the Docker engine) or `auto`: container on stacks whose
            orchestrator runs steps in containers (a server started inside a step container would
            die with it), else local.

    Returns:
        The running ZenML deployment service.
    """
    context = get_step_context()
    model = context.model
    version = Client().get_model_version(model.name, model.version)
    deployer = BentoMLModelDeployer.get_active_model_deployer()
    stopped = stop_deployments(deployer, model.name, timeout=timeout)
    if stopped:
        logger.info("Stopped %d earlier deployment(s) of %s", stopped, model.name)
    if not free_port(host, port, timeout=30):
        raise RuntimeError(f"port {port} on {host} is still in use after stopping the deployments of {model.name}: "
                           f"{describe_port(port)}. A deployment of another model: `python run.py "
                           "--list-deployments --model NAME` and `--stop-deployments --model NAME`; otherwise "
                           "stop that process or deploy on another port (deploy_model.parameters.port)")
    bento_path = bentoml.bentos.get(bento.tag).path  # the store's copy, not the materializer's temp dir
    if deployment_type == "auto":
        deployment_type = "container" if Client().active_stack.orchestrator.flavor == "local_docker" else "local"
    if deployment_type not in ("local", "container"):
        raise ValueError(f"deployment_type must be 'local', 'container' or 'auto', got '{deployment_type}'")
    config_class, service_class = {
        "local": (BentoMLLocalDeploymentConfig, BentoMLLocalDeploymentService),
        "container": (BentoMLContainerDeploymentConfig, BentoMLContainerDeploymentService),
    }[deployment_type]
    config = config_class(
        model_name=model.name,
        model_version=str(version.number),
        model_uri=bento_path,
        bento_tag=str(bento.tag),
        bento_uri=bento_path,
        apis=["predict", "predict_stream", "model_info"],
        workers=1,
        port=port,
        host=host,
        working_dir=bento_path,
        pipeline_name=context.pipeline.name,
        pipeline_step_name=context.step_run.name,
    )
    logger.info("Deploying %s as a %s deployment", bento.tag, deployment_type)
    started = time.monotonic()
    service = deployer.deploy_model(config=config, service_type=service_class.SERVICE_TYPE, timeout=timeout)
    base_url = f"http://{host}:{port}"
    info = httpx.post(f"{base_url}/model_info", json={}, timeout=30).json()
    if info.get("model_version") != str(version.number):
        raise RuntimeError(f"the server on {base_url} serves model version {info.get('model_version')}, "
                           f"expected {version.number}; the deployment did not replace the old one")
    elapsed = time.monotonic() - started
    logger.info("Serving %s version %s at %s (ready in %.1f s); try: curl -X POST %s/model_info -d '{}'",
                model.name, version.number, base_url, elapsed, base_url)
    log_metadata(metadata={"url": base_url, "model_version": str(version.number), "bento_tag": str(bento.tag),
                           "startup_seconds": round(elapsed, 1),
                           "deployment_type": deployment_type}, infer_artifact=True)
    return service
