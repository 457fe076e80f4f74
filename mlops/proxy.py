"""A per-model, user-level nginx in front of the model's BentoML server: a fixed public URL, swappable servers.

Clients and Prometheus keep one address (`configs/deploy.yaml`'s port); each
BentoML server listens on an internal port, and a redeploy moves the proxy
from the old server to the new one without losing a request:

1. the new server answers `/readyz` on its own port (the deploy step checks it);
2. `switch()` rewrites the config and sends nginx a graceful reload: new
   workers proxy every *new* connection to the new server, the old workers
   finish the requests they hold (still on the old server) and exit;
3. `switch()` returns once those old workers are gone; only then may the old
   server stop.

Client keep-alive is off by default (`Connection: close` on every answer): an
old worker closes its *idle* keep-alive connections when told to quit, and a
request a client sends on such a connection at that instant is lost (the
classic keep-alive race). Without keep-alive no connection is idle, so a reload
loses nothing; a TCP connect on the local machine costs ~0.1 ms. The proxy keeps
its own keep-alive connections to the server (shorter-lived than the server's
5 s idle timeout, so nginx never reuses one the server is closing).

Each model gets its own nginx (never the system one: no root, no /etc/nginx, no
/var/log/nginx): a prefix folder under the ZenML local stores path (or
`$HAR_PROXY_DIR`) holding `nginx.conf`, `nginx.pid`, `state.json`, the logs and
temp folders. Errors nginx itself answers (502 when the server is down, 504,
413 over its body limit) use the service's one JSON error shape.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List

import psutil

from mlops.deployments import describe_port, port_is_free, wait_until
from mlops.files import cap_log_file
from mlops.processes import alive, port_open

PROXY_DIR_ENV = "HAR_PROXY_DIR"
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
LOG_MAX_BYTES = 10 * 1024 * 1024
# nginx answers these itself (no server, timeout, its own limits); the service answers everything else.
PROXY_ERRORS = {
    400: "bad request (rejected by the proxy)",
    408: "request timeout: the body did not arrive in time",
    413: "request body too large (proxy limit)",
    500: "internal proxy error",
    502: "the model server is not reachable; the deployment may be down or restarting "
         "(python run.py --list-deployments)",
    503: "service unavailable",
    504: "the model server did not answer in time",
}


class ProxyError(RuntimeError):
    """nginx is missing, its config is invalid, or it did not start/stop/reload."""


@dataclass
class ProxyStatus:
    model_name: str
    host: str
    public_port: int
    upstream_port: int
    prefix: str
    pid: int | None
    running: bool

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.public_port}"


@dataclass
class SwitchResult:
    """What a switch did: from/to upstream port, how long until the old workers were gone."""

    old_upstream_port: int
    new_upstream_port: int
    reload_seconds: float
    drain_seconds: float
    drained: bool


def nginx_binary() -> str | None:
    """Path of nginx, or None when it is not installed (`make proxy-deps` installs it)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(p, os.X_OK)), None)


def proxy_root() -> Path:
    if os.environ.get(PROXY_DIR_ENV):
        return Path(os.environ[PROXY_DIR_ENV])
    from zenml.config.global_config import GlobalConfiguration

    return Path(GlobalConfiguration().local_stores_path) / "har-proxy"


def prefix_for(model_name: str) -> Path:
    return proxy_root() / re.sub(r"[^A-Za-z0-9_.-]", "_", model_name)


def _error_location(status: int) -> str:
    body = json.dumps({"error": PROXY_ERRORS[status], "status": status}).replace("'", "\\'")
    return (f"        location @error{status} {{\n"
            f"            default_type application/json;\n"
            f"            return {status} '{body}';\n"
            f"        }}\n")


def render_config(prefix: Path | str, host: str, public_port: int, upstream_port: int,
                  max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, client_keepalive: bool = False) -> str:
    """nginx.conf of a model's proxy: `listen host:public_port` -> the server on 127.0.0.1:upstream_port.

    Every path nginx would otherwise take from its build (/var/log/nginx, /var/lib/nginx, /run) is set
    to the prefix. The body limit is twice the service's (at least 1 MiB over it), so bodies just over
    the service's limit get the service's own 413 with its message; the body is streamed to the server
    (no buffering), which refuses an oversized one from its Content-Length before reading it.
    """
    prefix = Path(prefix)
    body_limit = max(2 * max_body_bytes, max_body_bytes + 1024 * 1024)
    errors = "".join(_error_location(status) for status in PROXY_ERRORS)
    error_pages = "\n".join(f"        error_page {status} @error{status};" for status in PROXY_ERRORS)
    keepalive = "keepalive_timeout 5s;" if client_keepalive else "keepalive_timeout 0;  # see mlops/proxy.py"
    return f"""# Generated by mlops/proxy.py; rewritten on every deploy (do not edit).
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_shutdown_timeout 120s;  # an old worker still holding a request after a reload is ended then

events {{
    worker_connections 1024;
}}

http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    log_format har '$msec $status $upstream_status $request_time "$request_method $uri" $upstream_addr';
    access_log {prefix}/access.log har;
    server_tokens off;
    {keepalive}
    client_max_body_size {body_limit};

    upstream har_model_server {{
        server 127.0.0.1:{upstream_port} max_fails=0;
        keepalive 16;
        keepalive_timeout 2s;  # under the server's 5 s: never reuse a connection it is closing
    }}

    server {{
        listen {host}:{public_port};

        location / {{
            proxy_pass http://har_model_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering off;  # the server sees the body as it arrives (and refuses early)
            proxy_connect_timeout 5s;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            proxy_next_upstream error timeout;  # never non_idempotent: a POST is not sent twice
        }}

{error_pages}
{errors}    }}
}}
"""


# --------------------------------------------------------------------------- state


def _state_file(prefix: Path) -> Path:
    return prefix / "state.json"


def _read_state(prefix: Path) -> Dict | None:
    try:
        return json.loads(_state_file(prefix).read_text())
    except (OSError, ValueError):
        return None


def _master_pid(prefix: Path) -> int | None:
    try:
        pid = int((prefix / "nginx.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    if not alive(pid):
        return None
    try:
        if "nginx" not in psutil.Process(pid).name():
            return None  # a recycled pid
    except psutil.Error:
        return None
    return pid


def status(model_name: str) -> ProxyStatus | None:
    """The model's proxy as last configured (running or not), or None if it never had one."""
    prefix = prefix_for(model_name)
    state = _read_state(prefix)
    if state is None:
        return None
    pid = _master_pid(prefix)
    return ProxyStatus(model_name=model_name, host=state["host"], public_port=int(state["public_port"]),
                       upstream_port=int(state["upstream_port"]), prefix=str(prefix), pid=pid,
                       running=pid is not None)


def all_statuses() -> List[ProxyStatus]:
    root = proxy_root()
    found = []
    for state_file in sorted(root.glob("*/state.json")) if root.is_dir() else []:
        state = _read_state(state_file.parent)
        if state:
            found.append(status(state["model_name"]))
    return [s for s in found if s is not None]


def _nginx(prefix: Path, *args: str, conf: Path | None = None) -> subprocess.CompletedProcess:
    binary = nginx_binary()
    if binary is None:
        raise ProxyError("nginx is not installed: `make proxy-deps` (Debian's nginx-light)")
    # -e: nginx opens its build-time error log before reading the config; never /var/log/nginx.
    return subprocess.run([binary, "-p", str(prefix), "-c", str(conf or prefix / "nginx.conf"),
                           "-e", str(prefix / "error.log"), *args], capture_output=True, text=True, timeout=30)


def _write_config(prefix: Path, model_name: str, host: str, public_port: int, upstream_port: int,
                  max_body_bytes: int, client_keepalive: bool) -> None:
    """Write and test the config (a bad one is never left for a reload to choke on)."""
    for folder in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    candidate = prefix / "nginx.conf.new"
    candidate.write_text(render_config(prefix, host, public_port, upstream_port, max_body_bytes, client_keepalive))
    tested = _nginx(prefix, "-t", "-q", conf=candidate)
    if tested.returncode != 0:
        raise ProxyError(f"nginx refused the proxy config {candidate}: {tested.stderr.strip()[-1500:]}")
    candidate.replace(prefix / "nginx.conf")
    _state_file(prefix).write_text(json.dumps({
        "model_name": model_name, "host": host, "public_port": public_port, "upstream_port": upstream_port,
        "max_body_bytes": max_body_bytes, "client_keepalive": client_keepalive}, indent=2))
    for log in ("access.log", "error.log"):
        cap_log_file(prefix / log, LOG_MAX_BYTES)


def _workers(master: int) -> set[int]:
    try:
        return {child.pid for child in psutil.Process(master).children()
                if "worker" in " ".join(child.cmdline())}
    except psutil.Error:
        return set()


def ensure_proxy(model_name: str, host: str, public_port: int, upstream_port: int,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, client_keepalive: bool = False,
                 timeout: float = 15.0) -> ProxyStatus:
    """Make the model's proxy listen on host:public_port and forward to upstream_port (idempotent).

    Running with the same address: switches the upstream gracefully (see `switch`). Running on another
    address: stopped and started on the new one. Not running: started; if the public port is taken by
    anything else, raises `ProxyError` naming the process.
    """
    prefix = prefix_for(model_name)
    current = status(model_name)
    if current and current.running and (current.host, current.public_port) == (host, public_port):
        state = _read_state(prefix) or {}
        if current.upstream_port != upstream_port or state.get("max_body_bytes") != max_body_bytes \
                or state.get("client_keepalive") != client_keepalive:
            switch(model_name, upstream_port, max_body_bytes=max_body_bytes, client_keepalive=client_keepalive)
        return status(model_name)
    if current and current.running:
        stop_proxy(model_name)
    if not port_is_free(host, public_port):
        raise ProxyError(f"cannot start the proxy of {model_name} on {host}:{public_port}: the port is in use by "
                         f"{describe_port(public_port)}")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.pid").unlink(missing_ok=True)
    _write_config(prefix, model_name, host, public_port, upstream_port, max_body_bytes, client_keepalive)
    started = _nginx(prefix)  # daemonizes: the master outlives this process in its own session
    if started.returncode != 0:
        raise ProxyError(f"nginx did not start for {model_name} on {host}:{public_port}: "
                         f"{started.stderr.strip()[-1500:]} (log: {prefix / 'error.log'})")
    if not wait_until(lambda: _master_pid(prefix) is not None and port_open(host, public_port), timeout, 0.1):
        raise ProxyError(f"nginx for {model_name} did not listen on {host}:{public_port} within {timeout:.0f} s; "
                         f"see {prefix / 'error.log'}")
    return status(model_name)


def switch(model_name: str, upstream_port: int, max_body_bytes: int | None = None,
           client_keepalive: bool | None = None, drain_timeout: float = 150.0) -> SwitchResult:
    """Point the running proxy at upstream_port with a graceful reload; returns once the old workers are gone.

    After the reload every new connection goes to the new server; connections the old workers hold are
    served to the end by the old server. Only after this returns may the old server stop.
    """
    prefix = prefix_for(model_name)
    state = _read_state(prefix)
    master = _master_pid(prefix)
    if state is None or master is None:
        raise ProxyError(f"the proxy of {model_name} is not running; start it with ensure_proxy")
    old_workers = _workers(master)
    _write_config(prefix, model_name, state["host"], int(state["public_port"]), upstream_port,
                  state.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES) if max_body_bytes is None else max_body_bytes,
                  state.get("client_keepalive", False) if client_keepalive is None else client_keepalive)
    started = time.monotonic()
    reloaded = _nginx(prefix, "-s", "reload")
    if reloaded.returncode != 0:
        raise ProxyError(f"nginx reload of {model_name}'s proxy failed: {reloaded.stderr.strip()[-1500:]}")
    # New workers run the new config once they exist; the master starts them before it tells the old to quit.
    if not wait_until(lambda: bool(_workers(master) - old_workers), timeout=15, interval=0.02):
        raise ProxyError(f"nginx of {model_name} started no workers with the new config; see {prefix / 'error.log'}")
    reload_seconds = time.monotonic() - started
    drained = wait_until(lambda: not any(alive(pid) and pid in _workers(master) for pid in old_workers),
                         timeout=drain_timeout, interval=0.05)
    return SwitchResult(old_upstream_port=int(state["upstream_port"]), new_upstream_port=upstream_port,
                        reload_seconds=round(reload_seconds, 3),
                        drain_seconds=round(time.monotonic() - started - reload_seconds, 3), drained=drained)


def stop_proxy(model_name: str, timeout: float = 30.0) -> bool:
    """Stop the model's proxy gracefully (in-flight requests finish) and check its port is free.

    Returns whether one was running. Its state is removed, so `status` returns None afterwards.
    """
    prefix = prefix_for(model_name)
    state = _read_state(prefix)
    master = _master_pid(prefix)
    if master is not None:
        _nginx(prefix, "-s", "quit")
        if not wait_until(lambda: not alive(master), timeout=timeout, interval=0.1):
            processes = [psutil.Process(pid) for pid in {master, *_workers(master)} if alive(pid)]
            for process in processes:
                process.kill()
            psutil.wait_procs(processes, timeout=5)
    _state_file(prefix).unlink(missing_ok=True)
    if state and master is not None:
        host, port = state["host"], int(state["public_port"])
        if not wait_until(lambda: port_is_free(host, port), timeout=timeout):
            raise ProxyError(f"the proxy of {model_name} stopped but {host}:{port} is still in use by "
                             f"{describe_port(port)}")
    return master is not None


def access_log_offset(model_name: str) -> int:
    """Current size of the proxy's access log: count requests from here with `requests_since`."""
    try:
        return (prefix_for(model_name) / "access.log").stat().st_size
    except OSError:
        return 0


def requests_since(model_name: str, offset: int) -> Dict[str, int]:
    """Requests the proxy answered since `offset` of its access log: total, and those it failed itself
    (502/503/504 without an answer from a server: the requests a swap would lose)."""
    path = prefix_for(model_name) / "access.log"
    try:
        with open(path, "rb") as log:
            log.seek(offset if offset <= path.stat().st_size else 0)  # rotated meanwhile: count what is there
            lines = log.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    failed = 0
    for line in lines:
        fields = line.split()
        if len(fields) > 2 and fields[1] in ("502", "503", "504") and fields[2] in ("-", "502", "503", "504"):
            failed += 1
    return {"requests": len(lines), "failed": failed}


def as_dict(proxy: ProxyStatus | None) -> Dict | None:
    return None if proxy is None else {**asdict(proxy), "url": proxy.url}
