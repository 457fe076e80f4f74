"""Process and port checks: the server scripts (zenml_dashboard.py, mlflow_ui.py) and stale-file cleanup."""

from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (exited, not yet reaped: not a running server)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def port_open(host: str, port: int) -> bool:
    """Something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def healthy(url: str) -> bool:
    """`GET <url>/health` answers 200 (both ZenML's server and MLflow's UI have that route)."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
