"""A thin layer over ZenML's BentoML model deployer so it serves BentoML 1.4 services.

Why: ZenML 0.98 tells old (<1.2) from new BentoML services with
`isinstance(svc, bentoml.Service)`, but in BentoML 1.4 that name *is* the new
service class. A 1.4 `@bentoml.service` therefore takes the legacy code path,
the deployment daemon dies with `AttributeError: 'Service' object has no
attribute 'runners'`, and the deploy step waits out its timeout and still
reports success. Here:

- `HarBentoMLLocalDeploymentService.run` serves new-style services with
  BentoML's new HTTP server (the branch ZenML meant to take);
- `HarBentoMLContainerDeploymentService` is ZenML's containerized BentoML
  deployment without its two assumptions that fail here: it builds the image
  from BentoML's own generated Dockerfile through the Docker API (ZenML calls
  the `docker` CLI, which step containers do not have), and the container runs
  `bentoml serve` itself (ZenML's entrypoint needs ZenML inside the Bento image);
- `HarBentoMLModelDeployer` creates those service classes (ZenML's hard-codes its
  own in `_create_new_service`), finds "the same" deployment by model version, Bento, host and
  port (ZenML's look-up matches any deployment of the model), refuses to call a deployment started
  unless the server answers its readiness probe, and replaces an "existing"
  deployment of the same configuration whose processes died (ZenML returns
  it as is, and the caller then gets `Connection refused`);
- every process of a local deployment carries its service id in the
  environment (`mlops.deployments.MARKER_ENV`), so stopping it also ends
  BentoML workers orphaned by a killed daemon, which would keep the port;
- `HarBentoMLModelDeployerFlavor` registers both as the `bentoml14` model
  deployer flavor (`scripts/setup_stack.py`).

Everything else - service bookkeeping in the ZenML store, daemons, `zenml
model-deployer models list` - is ZenML's own BentoML integration.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Tuple, Type
from uuid import UUID

import httpx
from zenml.integrations.bentoml.flavors.bentoml_model_deployer_flavor import BentoMLModelDeployerFlavor
from zenml.integrations.bentoml.model_deployers.bentoml_model_deployer import BentoMLModelDeployer
from zenml.integrations.bentoml.services.bentoml_container_deployment import (
    BentoMLContainerDeploymentConfig,
    BentoMLContainerDeploymentService,
)
from zenml.integrations.bentoml.services.bentoml_local_deployment import (
    BentoMLLocalDeploymentConfig,
    BentoMLLocalDeploymentService,
    SSLBentoMLParametersConfig,
)
from zenml.logger import get_logger
from zenml.models.v2.misc.service import ServiceType
from zenml.services.service import BaseService, ServiceConfig
from zenml.services.service_status import ServiceState

from mlops.deployments import MARKER_ENV, end_processes, service_pids

logger = get_logger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per readiness probe otherwise

FLAVOR = "bentoml14"


class HarBentoMLLocalDeploymentService(BentoMLLocalDeploymentService):
    """ZenML's local BentoML deployment, serving BentoML >= 1.2 services with the new server."""

    def run(self) -> None:
        from _bentoml_impl.server import serve_http
        from bentoml._internal.service.loader import load

        self.endpoint.prepare_for_start()
        ssl = self.config.ssl_parameters or SSLBentoMLParametersConfig()
        service = load(bento_identifier=self.config.bento_tag, working_dir=self.config.working_dir or ".")
        if not hasattr(service, "inject_config"):  # a <1.2 service: ZenML's own code path handles it
            return super().run()
        service.inject_config()
        # Inherited by BentoML's workers (circus copies the environment): they start their own
        # sessions and outlive a killed daemon, and this is how `stop` finds them.
        os.environ[MARKER_ENV] = str(self.uuid)
        _start_log_cap(self.status.log_file)
        logger.info("Serving %s on %s:%s", self.config.bento_tag, self.config.host, self.config.port)
        try:
            serve_http(
                self.config.bento_tag,
                working_dir=self.config.working_dir or ".",
                host=self.config.host or "127.0.0.1",
                port=self.config.port,
                backlog=self.config.backlog,
                ssl_certfile=ssl.ssl_certfile,
                ssl_keyfile=ssl.ssl_keyfile,
                ssl_keyfile_password=ssl.ssl_keyfile_password,
                ssl_version=ssl.ssl_version,
                ssl_cert_reqs=ssl.ssl_cert_reqs,
                ssl_ca_certs=ssl.ssl_ca_certs,
                ssl_ciphers=ssl.ssl_ciphers,
            )
        except KeyboardInterrupt:
            logger.info("Stopping the BentoML server")

    def deprovision(self, force: bool = False) -> None:
        # ZenML signals only its daemon; the workers are ended here too, also when the daemon is gone.
        pids = service_pids(self)
        super().deprovision(force)
        end_processes(pids, timeout=5 if force else 20)


LOG_MAX_BYTES_ENV = "HAR_SERVICE_LOG_MAX_BYTES"


def _start_log_cap(log_file: str | None, interval_s: float = 5.0) -> None:
    """Rotate the service log (daemon + BentoML's access and error lines) when it passes a size cap.

    ZenML's daemon points its stdout/stderr (inherited by BentoML's workers) at
    `service.log` with no limit, and BentoML writes a line per request.
    """
    import threading
    import time

    from mlops.files import cap_log_file

    if not log_file:
        return
    max_bytes = int(os.environ.get(LOG_MAX_BYTES_ENV) or 10 * 1024 * 1024)

    def watch() -> None:
        while True:
            cap_log_file(log_file, max_bytes)
            time.sleep(interval_s)

    threading.Thread(target=watch, name="har-log-cap", daemon=True).start()


def _container_environment() -> dict:
    """What the Bento container needs from this process: telemetry off, and the API keys if configured."""
    from har.serving import ApiKeys

    environment = {"BENTOML_DO_NOT_TRACK": "true", "DO_NOT_TRACK": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if ApiKeys.from_env().enabled:  # a keys file on the host is not visible in the container: pass the keys
        keys = os.environ.get("HAR_API_KEYS", "")
        if os.environ.get("HAR_API_KEYS_FILE"):
            keys += "," + open(os.environ["HAR_API_KEYS_FILE"], encoding="utf-8").read().replace("\n", ",")
        environment["HAR_API_KEYS"] = keys
    for name in ("HAR_METRICS_AUTH", LOG_MAX_BYTES_ENV):
        if os.environ.get(name):
            environment[name] = os.environ[name]
    return environment


@functools.lru_cache(maxsize=1)
def _docker_api_client():
    import docker

    return docker.from_env()


class HarBentoMLContainerDeploymentService(BentoMLContainerDeploymentService):
    """ZenML's containerized BentoML deployment: BentoML's image, `bentoml serve` as the container command."""

    def _containerize_and_push_bento(self) -> None:
        from mlops.bento import containerize_bento

        self.config.image = containerize_bento(self.config.bento_tag, self.config.image or None)

    @property
    def docker_client(self):
        # ZenML's client comes from its container-engine factory, which refuses to work without a
        # `docker` CLI on PATH although it only uses the Docker API. A step container on the docker
        # stack has the API (the host's socket, mounted) but no CLI.
        return _docker_api_client()

    def check_status(self) -> Tuple[ServiceState, str]:
        # ZenML's check also starts with that CLI test; same states as ZenML's, from the API alone.
        import docker.errors

        try:
            container = self.docker_client.containers.get(self.container_id)
        except docker.errors.NotFound:
            return ServiceState.INACTIVE, "Docker container is not present"
        except docker.errors.DockerException as error:
            return ServiceState.INACTIVE, f"Docker engine not reachable: {error}"
        if container.status == "running":
            # ZenML calls a running container active; a deployment is active when BentoML answers.
            url = f"http://{self.config.host or '127.0.0.1'}:{self.endpoint.status.port or self.config.port}/readyz"
            try:
                ready = httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready:
                return ServiceState.ACTIVE, "Docker container is running and BentoML is ready"
            return ServiceState.PENDING_STARTUP, f"Docker container is running; BentoML not ready at {url}"
        if container.status == "exited":
            return ServiceState.ERROR, "Docker container has exited; see `docker logs " + self.container_id + "`"
        return ServiceState.INACTIVE, f"Docker container is {container.status}"

    def _start_container(self) -> None:
        import docker.errors

        container = self.container
        if container is not None:
            if container.status == "running":
                return
            container.remove(force=True)
        self._setup_runtime_path()
        self.endpoint.prepare_for_start()
        port = self.endpoint.status.port
        host = self.config.host or "127.0.0.1"
        try:
            self.docker_client.containers.run(
                name=self.container_id,
                image=self.config.image,
                # BentoML's image: the Bento in /home/bentoml/bento, its venv on PATH.
                command=["bentoml", "serve", ".", "--host", "0.0.0.0", "--port", str(port)],
                entrypoint=[],
                working_dir="/home/bentoml/bento",
                detach=True,
                ports={f"{port}/tcp": (host, port)},
                environment=_container_environment(),
                labels={"zenml-service-uuid": str(self.uuid), "har.bento": self.config.bento_tag},
                restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
            )
        except docker.errors.DockerException as error:
            raise RuntimeError(f"the container for {self.config.bento_tag} did not start: {error}") from error
        logger.info("Started container %s from image %s, publishing %s:%s", self.container_id, self.config.image,
                    host, port)


# What makes two deployments "the same" (ZenML's store filter on `config` matches any service of the model).
IDENTITY_KEYS = ("model_name", "model_version", "bento_tag", "host", "port", "workers")


class HarBentoMLModelDeployer(BentoMLModelDeployer):
    """ZenML's BentoML model deployer, creating services that work with BentoML 1.4."""

    def find_model_server(self, config=None, **kwargs) -> list:
        # ZenML's look-up by config returns any service of the model, so a new server on another port
        # (blue/green, steps/deployment/deploy_model.py) would be "found" as the old one: compare for real.
        services = super().find_model_server(config=config, **kwargs)
        if config is None:
            return services
        return [service for service in services
                if all(getattr(service.config, key, None) == config.get(key) for key in IDENTITY_KEYS)]

    def deploy_model(self, config: ServiceConfig, service_type: ServiceType, replace: bool = False,
                     continuous_deployment_mode: bool = False, timeout: int = 300) -> BaseService:
        # ZenML returns an existing service of the same configuration without asking whether it still
        # runs; a dead one (killed daemon, reboot) is stopped for good, its record deleted, and a new
        # one started.
        from mlops.deployments import stop_deployment

        for existing in self.find_model_server(config=config.model_dump(), service_type=service_type):
            if not existing.is_running:
                logger.info("Deployment %s of %s version %s is not running (%s); starting a new one",
                            existing.uuid, config.model_name, getattr(config, "model_version", "?"),
                            existing.status.last_error or existing.status.state.value)
                stop_deployment(existing, timeout=timeout)
        return super().deploy_model(config=config, service_type=service_type, replace=replace,
                                    continuous_deployment_mode=continuous_deployment_mode, timeout=timeout)

    def _create_new_service(self, id: UUID, timeout: int, config: ServiceConfig) -> BaseService:
        config.root_runtime_path = self.local_path
        if isinstance(config, BentoMLLocalDeploymentConfig):
            service = HarBentoMLLocalDeploymentService(uuid=id, config=config)
        elif isinstance(config, BentoMLContainerDeploymentConfig):
            service = HarBentoMLContainerDeploymentService(uuid=id, config=config)
        else:
            return super()._create_new_service(id=id, timeout=timeout, config=config)
        started = time.monotonic()
        service.start(timeout=timeout)
        if not service.is_running:
            # ZenML would log a warning and carry on; a deployment that does not answer is a failure.
            raise RuntimeError(
                f"BentoML server for {config.bento_tag} did not become ready on port {config.port} within "
                f"{timeout} s ({service.status.last_error or 'no error reported'}); daemon log: "
                f"{service.status.log_file or 'docker logs ' + getattr(service, 'container_id', '?')}"
            )
        logger.info("BentoML server ready after %.1f s at %s", time.monotonic() - started, service.prediction_url)
        return service


class HarBentoMLModelDeployerFlavor(BentoMLModelDeployerFlavor):
    """`bentoml14`: ZenML's BentoML model deployer flavor with the classes above."""

    @property
    def name(self) -> str:
        return FLAVOR

    @property
    def implementation_class(self) -> Type[HarBentoMLModelDeployer]:
        return HarBentoMLModelDeployer
