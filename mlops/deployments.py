"""The project's model deployments: find, list, stop, and the processes and port behind each.

Keyed on what is really deployed - a ZenML service's own config (model name, model
version, host, port) - never on ZenML's `find_model_server(model_name=...)`, which
resolves a bare model name to the model's *latest* version: after any newer version
exists (even from a failed run) it finds nothing, and deployments turn invisible.

A local deployment is ZenML's daemon plus BentoML's worker processes. The workers
start their own sessions (circus calls `setsid`), so they outlive a killed daemon and
keep the port. Every process of a deployment carries `HAR_DEPLOYMENT_ID=<service uuid>`
in its environment (set by the daemon, inherited by BentoML's workers), so stopping
finds and ends all of them, also the orphans, and then checks the port is free.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from typing import Any, Callable, Dict, Iterable, List

import psutil

MARKER_ENV = "HAR_DEPLOYMENT_ID"
BENTOML_WORKER = "_bentoml_impl.worker"


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


# --------------------------------------------------------------------------- processes


def _environ(process: psutil.Process) -> Dict[str, str]:
    try:
        return process.environ()
    except (psutil.Error, OSError):
        return {}


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.Error, OSError):
        return ""


def marked_processes(marker: str | None = None) -> Dict[int, str]:
    """pid -> deployment id of every live process carrying the marker (of one deployment, if given)."""
    found = {}
    for process in psutil.process_iter():
        value = _environ(process).get(MARKER_ENV)
        if value and (marker is None or value == marker):
            found[process.pid] = value
    return found


def port_listeners(port: int) -> List[psutil.Process]:
    """Processes listening on a TCP port (only the current user's are visible without root)."""
    pids = set()
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        connections = []
    for connection in connections:
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port:
            if connection.pid:
                pids.add(connection.pid)
    processes = []
    for pid in sorted(pids):
        try:
            processes.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return processes


def service_pids(service: Any) -> List[int]:
    """The live processes of a deployment: its daemon, and every process with its marker.

    Deployments started before the marker existed are found by their BentoML workers
    listening on the deployment's port with the deployment's Bento.
    """
    pids = set(marked_processes(str(service.uuid)))
    daemon = getattr(service.status, "pid", None)
    if daemon:
        pids.add(daemon)
    port, bento = getattr(service.config, "port", None), getattr(service.config, "bento_tag", None)
    if port and bento:
        for process in port_listeners(port):
            command = _cmdline(process)
            if BENTOML_WORKER in command and bento in command and not _environ(process).get(MARKER_ENV):
                pids.add(process.pid)
    return sorted(pids)


def end_processes(pids: Iterable[int], timeout: float = 20.0) -> List[int]:
    """SIGTERM, wait, then SIGKILL; returns the pids that were alive."""
    processes = []
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            processes.append(psutil.Process(pid))
        except psutil.Error:
            continue
    for process in processes:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    return [process.pid for process in processes]


def describe_port(port: int) -> str:
    """Who holds a port, for error messages."""
    holders = []
    for process in port_listeners(port):
        marker = _environ(process).get(MARKER_ENV)
        holders.append(f"pid {process.pid} ({_cmdline(process)[:100]}"
                       f"{f'; deployment {marker}' if marker else ''})")
    return "; ".join(holders) or "a process this user cannot see"


# --------------------------------------------------------------------------- ZenML services


def find_deployments(model_name: str | None = None) -> List[Any]:
    """Every BentoML deployment in the ZenML store (of one model: any version), newest first."""
    from zenml.client import Client
    from zenml.services.service import BaseDeploymentService

    client = Client()
    services, page = [], 1
    while True:
        response = client.list_services(sort_by="desc:created", flavor="bentoml", page=page, size=100,
                                        hydrate=True)
        for item in response.items:
            if not item.service_source:
                continue
            if model_name is not None and (item.config or {}).get("model_name") != model_name:
                continue
            service = BaseDeploymentService.from_model(item)
            service.update_status()
            services.append(service)
        if page >= response.total_pages:
            return services
        page += 1


def deployment_state(service: Any) -> str:
    """running (answers), dead (should run but does not: its processes died), or stopped."""
    from zenml.services.service_status import ServiceState

    if service.is_running:
        return "running"
    return "dead" if service.admin_state == ServiceState.ACTIVE else "stopped"


def list_deployments(deployer: Any = None, model_name: str | None = None) -> List[Dict[str, Any]]:
    """One row per deployment of the model (every version). `deployer` is unused (kept for callers).

    A deployment behind its model's proxy (`mlops/proxy.py`) has the proxy's public URL as `url` and
    `public_port`, and its server's own port as `port`.
    """
    from mlops import proxy

    rows = []
    for service in find_deployments(model_name):
        config = service.config
        state = deployment_state(service)
        fronted = proxy.status(config.model_name)
        if fronted is not None and fronted.upstream_port != getattr(config, "port", None):
            fronted = None
        if fronted is not None and not fronted.running and state == "running":
            state = f"running (its proxy on port {fronted.public_port} is down)"
        rows.append({
            "uuid": str(service.uuid),
            "model": config.model_name,
            "model_version": getattr(config, "model_version", None),
            "bento": getattr(config, "bento_tag", None),
            "host": getattr(config, "host", None) or "127.0.0.1",
            "port": getattr(config, "port", None),
            "url": fronted.url + "/" if fronted else service.get_prediction_url() or "",
            "public_port": fronted.public_port if fronted else getattr(config, "port", None),
            "state": state,
            "running": state == "running",  # state: running, dead (processes died) or stopped
            "pid": getattr(service.status, "pid", None),
            "pids": service_pids(service),
        })
        if state != "running" and rows[-1]["pids"]:
            rows[-1]["state"] = f"{state} (leftover processes {' '.join(map(str, rows[-1]['pids']))} hold the port)"
    return rows


def stop_deployment(service: Any, timeout: int = 60) -> None:
    """Stop one deployment, end every process it left, delete its record and check its port is free.

    ZenML's own stop only signals the daemon (and a forced delete kills it): BentoML's
    worker can survive either and keep serving the old model on the port.
    """
    from zenml.client import Client

    pids = service_pids(service)
    try:
        service.stop(timeout=min(timeout, 30))
    except Exception:  # noqa: BLE001 - a dead or broken service is ended below by its processes
        pass
    end_processes(set(pids) | set(service_pids(service)))
    runtime_path = getattr(service.status, "runtime_path", None)
    if runtime_path:
        shutil.rmtree(runtime_path, ignore_errors=True)
    try:
        Client().delete_service(service.uuid)
    except KeyError:
        pass
    port = getattr(service.config, "port", None)
    host = getattr(service.config, "host", None) or "127.0.0.1"
    if port and not getattr(service, "container_id", None) and not wait_until(
            lambda: port_is_free(host, port), timeout=timeout):
        raise RuntimeError(f"deployment {service.uuid} stopped but port {port} is still in use by "
                           f"{describe_port(port)}")


def stop_deployments(deployer: Any = None, model_name: str | None = None, timeout: int = 60) -> int:
    """Stop and delete every deployment of the model (any version, running or dead) and the model's proxy
    (of every model when `model_name` is None); returns how many deployments."""
    from mlops import proxy

    for fronted in proxy.all_statuses():
        if model_name is None or fronted.model_name == model_name:
            proxy.stop_proxy(fronted.model_name, timeout=timeout)
    services = find_deployments(model_name)
    for service in services:
        stop_deployment(service, timeout=timeout)
    return len(services)


def free_port(host: str, port: int, timeout: int = 30) -> bool:
    """Free a port held by leftovers of this project's deployments whose record is gone; True if free.

    Only processes carrying the deployment marker of a deployment the store no longer knows
    are ended; anything else holding the port is left alone (the caller reports it).
    """
    if port_is_free(host, port):
        return True
    known = {str(service.uuid) for service in find_deployments()}
    orphaned = {_environ(process).get(MARKER_ENV) for process in port_listeners(port)} - known - {None, ""}
    if orphaned:  # the daemon and all workers of each orphaned deployment, not only the listener
        end_processes([pid for pid, marker in marked_processes().items() if marker in orphaned])
    return wait_until(lambda: port_is_free(host, port), timeout=timeout)
