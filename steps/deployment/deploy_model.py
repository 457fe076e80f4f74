"""Serve a Bento over HTTP through the stack's BentoML model deployer, behind the model's proxy (blue/green)."""

import json
import socket
import time
from pathlib import Path
from typing import Annotated, Any, Dict

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

from har.outcomes import StackUnavailable
from mlops import proxy
from mlops.deployments import describe_port, find_deployments, free_port, stop_deployment, stop_deployments

logger = get_logger(__name__)


def _internal_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _max_body_bytes(bento_path: str) -> int:
    """The service's body limit, from the Bento's deployment.json (the proxy's limit must be above it)."""
    try:
        return int(json.loads((Path(bento_path) / "src" / "deployment.json").read_text())["max_body_bytes"])
    except (OSError, ValueError, KeyError):
        return proxy.DEFAULT_MAX_BODY_BYTES


def _check_serves(base_url: str, version: str) -> None:
    ready = httpx.get(f"{base_url}/readyz", timeout=30).status_code
    info = httpx.post(f"{base_url}/model_info", json={}, timeout=30).json()
    if ready != 200 or info.get("model_version") != version:
        raise RuntimeError(f"the server on {base_url} answers /readyz {ready} and serves model version "
                           f"{info.get('model_version')}, expected 200 and {version}")


def _free_public_port(model_name: str, host: str, port: int) -> None:
    if free_port(host, port, timeout=30):
        return
    other = [s.model_name for s in proxy.all_statuses()
             if s.running and s.public_port == port and s.model_name != model_name]
    if other:  # another model's deployment serves there: an expected outcome, not a crash
        raise StackUnavailable(f"port {port} on {host} is the public port of the deployment of model '{other[0]}'. "
                               f"Stop it (python run.py --stop-deployments --model {other[0]}) or deploy this model "
                               "on another port (steps.deploy_model.parameters.port in a copy of the deploy config)")
    raise StackUnavailable(f"port {port} on {host} is still in use after stopping the deployments of {model_name}: "
                           f"{describe_port(port)}. A deployment of another model: `python run.py "
                           "--list-deployments --model NAME` and `--stop-deployments --model NAME`; otherwise "
                           "stop that process or deploy on another port (deploy_model.parameters.port)")


@step(enable_cache=False)  # a deployment is state outside ZenML; never "reuse" one
def deploy_model(
    bento: Bento,
    port: int = 3000,
    host: str = "127.0.0.1",
    timeout: int = 180,
    deployment_type: str = "auto",
    proxy_drain_timeout: int = 150,
) -> Annotated[BaseDeploymentService, "bentoml_deployment"]:
    """Start the new server, move the public port to it once it is ready, then stop the old deployments.

    Local deployments sit behind the model's nginx (`mlops/proxy.py`) on `port`; each server gets a free
    internal port. The new server must answer `/readyz` and `/model_info` with the version being deployed
    before the proxy switches to it (graceful reload: requests in flight finish on the old server); the old
    deployments (running or dead, found by their own records) are stopped only after the proxy's old workers
    are gone, so a redeploy loses no request. Without nginx (or for container deployments) the server
    listens on `port` itself and a redeploy stops the old server first: clients see downtime.

    Args:
        bento: Output of `package_model`.
        port: The public port: the proxy's (the server's own without nginx); Prometheus scrapes it.
        host: Interface to listen on.
        timeout: Seconds to wait for stop/start (a container image build comes on top).
        deployment_type: `local` (a BentoML server process on this machine), `container` (BentoML's
            container image, run on the Docker engine) or `auto`: container on stacks whose
            orchestrator runs steps in containers (a server started inside a step container would
            die with it), else local.
        proxy_drain_timeout: Seconds the old server keeps serving requests it holds after the switch.

    Returns:
        The running ZenML deployment service.
    """
    context = get_step_context()
    model = context.model
    version = Client().get_model_version(model.name, model.version)
    deployer = BentoMLModelDeployer.get_active_model_deployer()
    bento_path = bentoml.bentos.get(bento.tag).path  # the store's copy, not the materializer's temp dir
    if deployment_type == "auto":
        deployment_type = "container" if Client().active_stack.orchestrator.flavor == "local_docker" else "local"
    if deployment_type not in ("local", "container"):
        raise ValueError(f"deployment_type must be 'local', 'container' or 'auto', got '{deployment_type}'")
    behind_proxy = deployment_type == "local" and proxy.nginx_binary() is not None
    if deployment_type == "local" and not behind_proxy:
        logger.warning("nginx is not installed (`make proxy-deps`): the server listens on port %s itself, and "
                       "this redeploy stops the old server before the new one is ready (downtime)", port)
    started = time.monotonic()
    if behind_proxy:
        old = find_deployments(model.name)
        for service in [s for s in old if getattr(s.config, "port", None) == port]:
            # served directly on the public port (before the proxy, or without nginx): it must go first, once
            logger.warning("Deployment %s listens on the public port %s itself: stopping it first (downtime once)",
                           service.uuid, port)
            stop_deployment(service, timeout=timeout)
            old.remove(service)
        current = proxy.status(model.name)
        if not (current and current.running and (current.host, current.public_port) == (host, port)):
            _free_public_port(model.name, host, port)
        server_port = _internal_port(host)
    else:
        proxy.stop_proxy(model.name)
        stopped = stop_deployments(deployer, model.name, timeout=timeout)
        if stopped:
            logger.info("Stopped %d earlier deployment(s) of %s", stopped, model.name)
        _free_public_port(model.name, host, port)
        server_port = port

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
        port=server_port,
        host=host,
        working_dir=bento_path,
        pipeline_name=context.pipeline.name,
        pipeline_step_name=context.step_run.name,
    )
    logger.info("Deploying %s as a %s deployment on port %s", bento.tag, deployment_type, server_port)
    service = deployer.deploy_model(config=config, service_type=service_class.SERVICE_TYPE, timeout=timeout)
    try:
        _check_serves(f"http://{host}:{server_port}", str(version.number))
    except (httpx.HTTPError, RuntimeError, ValueError):
        if behind_proxy:  # the old deployment keeps serving; the broken new one goes
            stop_deployment(service, timeout=timeout)
        raise
    base_url = f"http://{host}:{port}"
    metadata: Dict[str, Any] = {"url": base_url, "model_version": str(version.number), "bento_tag": str(bento.tag),
                                "server_port": server_port, "deployment_type": deployment_type,
                                "behind_proxy": behind_proxy}
    if behind_proxy:
        metadata.update(_swap(model.name, host, port, server_port, old, _max_body_bytes(bento_path),
                              proxy_drain_timeout, timeout))
    _check_serves(base_url, str(version.number))
    elapsed = time.monotonic() - started
    metadata["startup_seconds"] = round(elapsed, 1)
    logger.info("Serving %s version %s at %s (ready in %.1f s); try: curl -X POST %s/model_info -d '{}'",
                model.name, version.number, base_url, elapsed, base_url)
    log_metadata(metadata=metadata, infer_artifact=True)
    return service


def _swap(model_name: str, host: str, port: int, server_port: int, old: list, max_body_bytes: int,
          drain_timeout: int, timeout: int) -> Dict[str, Any]:
    """Move the proxy to the new server, then stop the old deployments; the figures of the swap."""
    offset = proxy.access_log_offset(model_name)
    swap_started = time.monotonic()
    current, figures = proxy.status(model_name), {}
    if current and current.running and (current.host, current.public_port) == (host, port):
        result = proxy.switch(model_name, server_port, max_body_bytes=max_body_bytes, client_keepalive=False,
                              drain_timeout=drain_timeout)
        if not result.drained:
            logger.warning("Old proxy workers still held requests after %s s; stopping the old server anyway",
                           drain_timeout)
        logger.info("Proxy %s:%s now forwards to port %s (was %s; reload %.3f s, old requests drained in %.3f s)",
                    host, port, server_port, result.old_upstream_port, result.reload_seconds, result.drain_seconds)
        figures = {"proxy_reload_seconds": result.reload_seconds, "proxy_drain_seconds": result.drain_seconds}
    else:
        proxy.ensure_proxy(model_name, host, port, server_port, max_body_bytes=max_body_bytes)
        logger.info("Started the proxy of %s on %s:%s -> port %s", model_name, host, port, server_port)
    for service in old:
        stop_deployment(service, timeout=timeout)
    if old:
        logger.info("Stopped %d earlier deployment(s) of %s", len(old), model_name)
    counted = proxy.requests_since(model_name, offset)
    swap_seconds = time.monotonic() - swap_started
    logger.info("Swap: %.2f s, %d request(s) answered through the proxy meanwhile, %d failed by the proxy",
                swap_seconds, counted["requests"], counted["failed"])
    return {**figures, "swap_seconds": round(swap_seconds, 2), "swap_requests": counted["requests"],
            "swap_failed_requests": counted["failed"]}
