"""Listing and stopping the project's model deployments (used by the deploy step and run.py)."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Dict, List


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def list_deployments(deployer: Any, model_name: str | None = None) -> List[Dict[str, Any]]:
    rows = []
    for service in deployer.find_model_server(model_name=model_name):
        config = service.config
        rows.append({
            "uuid": str(service.uuid),
            "model": config.model_name,
            "model_version": getattr(config, "model_version", None),
            "bento": getattr(config, "bento_tag", None),
            "url": service.get_prediction_url() or "",
            "running": service.is_running,
            "pid": getattr(service.status, "pid", None),
        })
    return rows


def stop_deployments(deployer: Any, model_name: str | None = None, timeout: int = 60) -> int:
    """Gracefully stop and delete every deployment (of one model); returns how many.

    Graceful (SIGTERM, then wait) on purpose: a forced delete kills ZenML's
    daemon but can leave BentoML's worker holding the port with the old model.
    """
    services = deployer.find_model_server(model_name=model_name)
    for service in services:
        port = getattr(service.config, "port", None)
        host = getattr(service.config, "host", None) or "127.0.0.1"
        deployer.stop_model_server(service.uuid, timeout=timeout)
        deployer.delete_model_server(service.uuid, timeout=timeout)
        if port and not wait_until(lambda h=host, p=port: port_is_free(h, p), timeout=timeout):
            raise RuntimeError(f"deployment {service.uuid} stopped but port {port} is still in use")
    return len(services)
