"""A thin layer over ZenML's BentoML model deployer so it serves BentoML 1.4 services.

Why: ZenML 0.98 tells old (<1.2) from new BentoML services with
`isinstance(svc, bentoml.Service)`, but in BentoML 1.4 that name *is* the new
service class. A 1.4 `@bentoml.service` therefore takes the legacy code path,
the deployment daemon dies with `AttributeError: 'Service' object has no
attribute 'runners'`, and the deploy step waits out its timeout and still
reports success. Here:

- `HarBentoMLLocalDeploymentService.run` serves new-style services with
  BentoML's new HTTP server (the branch ZenML meant to take);
- `HarBentoMLModelDeployer` creates that service class (ZenML's hard-codes its
  own in `_create_new_service`) and refuses to call a deployment started
  unless the server answers its readiness probe;
- `HarBentoMLModelDeployerFlavor` registers both as the `bentoml14` model
  deployer flavor (`scripts/setup_stack.py`).

Everything else - service bookkeeping in the ZenML store, daemons, `zenml
model-deployer models list` - is ZenML's own BentoML integration.
"""

from __future__ import annotations

import time
from typing import Type
from uuid import UUID

from zenml.integrations.bentoml.flavors.bentoml_model_deployer_flavor import BentoMLModelDeployerFlavor
from zenml.integrations.bentoml.model_deployers.bentoml_model_deployer import BentoMLModelDeployer
from zenml.integrations.bentoml.services.bentoml_local_deployment import (
    BentoMLLocalDeploymentConfig,
    BentoMLLocalDeploymentService,
    SSLBentoMLParametersConfig,
)
from zenml.logger import get_logger
from zenml.services.service import BaseService, ServiceConfig

logger = get_logger(__name__)

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


class HarBentoMLModelDeployer(BentoMLModelDeployer):
    """ZenML's BentoML model deployer, creating services that work with BentoML 1.4."""

    def _create_new_service(self, id: UUID, timeout: int, config: ServiceConfig) -> BaseService:
        if not isinstance(config, BentoMLLocalDeploymentConfig):
            return super()._create_new_service(id=id, timeout=timeout, config=config)
        config.root_runtime_path = self.local_path
        service = HarBentoMLLocalDeploymentService(uuid=id, config=config)
        started = time.monotonic()
        service.start(timeout=timeout)
        if not service.is_running:
            # ZenML would log a warning and carry on; a deployment that does not answer is a failure.
            raise RuntimeError(
                f"BentoML server for {config.bento_tag} did not become ready on port {config.port} within "
                f"{timeout} s ({service.status.last_error or 'no error reported'}); daemon log: "
                f"{service.status.log_file}"
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
