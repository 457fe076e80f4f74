"""The MLflow UI on the tracking store of the active ZenML stack's experiment tracker.

    python scripts/mlflow_ui.py start [--port 5000] [--host 127.0.0.1]   in the background; prints the URL
    python scripts/mlflow_ui.py stop                                      stops it and frees the port
    python scripts/mlflow_ui.py status                                    running or not, URL, pid
    python scripts/mlflow_ui.py foreground [--port 5000]                  in this terminal (Ctrl-C stops)
    python scripts/mlflow_ui.py --print-uri                               only print the tracking URI

ZenML's local MLflow tracker keeps its store under the ZenML home
(`<ZENML_CONFIG_PATH>/local_stores/<artifact store id>/mlflow.db`), so a plain
`mlflow ui` in the project folder would show nothing. The background server's
pid file, state and log live next to ZenML's own local-server files, in
`<ZENML_CONFIG_PATH>/har_ui/`; a second `start` finds it running and only
prints its URL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also run as `python scripts/<name>.py`
    sys.path.insert(0, str(ROOT))

from mlops.processes import alive, healthy, port_open  # noqa: E402

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20


def state_dir() -> Path:
    """`<ZenML home>/har_ui` (zenml.utils.io_utils.get_global_config_directory, without importing zenml)."""
    import click

    home = os.environ.get("ZENML_CONFIG_PATH")
    return (Path(home).resolve() if home else Path(click.get_app_dir("zenml"))) / "har_ui"


def _files() -> tuple[Path, Path, Path]:
    directory = state_dir()
    return directory / "mlflow_ui.pid", directory / "mlflow_ui.json", directory / "mlflow_ui.log"


def tracking_uri() -> str:
    """The active stack's MLflow tracking URI, without loading every component of the stack.

    `Client().active_stack.experiment_tracker.get_tracking_uri()` instantiates all components
    (BentoML, Evidently, the project's own deployer flavor: ~8 s of imports, and it fails outside
    the repository root). For a local tracker the URI is ZenML's `_local_mlflow_backend()`:
    the SQLite file `mlflow.db` in the stack's artifact store.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack import StackComponent

    stack = Client().active_stack_model
    trackers = stack.components.get(StackComponentType.EXPERIMENT_TRACKER) or []
    if not trackers or trackers[0].flavor_name != "mlflow":
        raise SystemExit(f"the active ZenML stack '{stack.name}' has no MLflow experiment tracker; "
                         "run `make setup` first")
    tracker = StackComponent.from_model(trackers[0])
    if tracker.config.tracking_uri:
        return tracker.get_tracking_uri()
    from zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker import (
        LOCAL_MLFLOW_BACKEND_FILENAME,
    )

    artifact_store = StackComponent.from_model(stack.components[StackComponentType.ARTIFACT_STORE][0])
    return "sqlite:///" + os.path.abspath(os.path.join(artifact_store.path, LOCAL_MLFLOW_BACKEND_FILENAME))


def _is_our_server(pid: int) -> bool:
    """The pid is alive and is an `mlflow ui` (not an unrelated process that reused the pid)."""
    if not alive(pid):
        return False
    try:
        return b"mlflow" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # no /proc (macOS): trust the pid file
        return True


def _command(uri: str, host: str, port: int) -> list[str]:
    # `mlflow ui` is `mlflow server` with 4 uvicorn workers; one is plenty for a local UI.
    return [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", host,
            "--port", str(port), "--workers", "1"]


def _env() -> dict[str, str]:
    # MLflow 3 also starts a job runner with 7 huey consumer processes (GenAI jobs, trace
    # roll-ups) by default; the UI of a training store needs none of them.
    return {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}


def running() -> dict | None:
    """State of the background UI started by `start`, or None (stale files are removed)."""
    pid_file, state_file, _ = _files()
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
        state = json.loads(state_file.read_text())
    except (ValueError, OSError):
        pid, state = -1, {}
    if pid > 0 and _is_our_server(pid):
        return {**state, "pid": pid}
    pid_file.unlink(missing_ok=True)
    state_file.unlink(missing_ok=True)
    return None


def start(host: str, port: int) -> dict:
    """Start the UI in the background (own process group, log file); idempotent."""
    current = running()
    if current:
        print(f"MLflow UI already running at {current['url']} (pid {current['pid']}, "
              f"store {current['tracking_uri']})")
        return current
    if port_open(host, port):
        raise SystemExit(f"port {port} on {host} is in use by another program; choose one with --port")
    uri = tracking_uri()
    pid_file, state_file, log_file = _files()
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    with open(log_file, "ab") as log:
        # Own session: `stop` ends the UI and the workers it spawns as one process group.
        # cwd: `mlflow ui` creates ./mlartifacts in its working directory.
        process = subprocess.Popen(_command(uri, host, port), env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=pid_file.parent, start_new_session=True)
    state = {"url": url, "tracking_uri": uri, "host": host, "port": port, "log": str(log_file)}
    pid_file.write_text(str(process.pid))
    state_file.write_text(json.dumps(state))
    deadline = time.monotonic() + START_TIMEOUT_S
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log_file.read_text(errors="replace")[-3000:]
            stop(quiet=True)
            raise SystemExit(f"MLflow UI did not start (exit code {process.poll()}); log {log_file}:\n{tail}")
        time.sleep(0.5)
    print(f"MLflow UI running at {url} (pid {process.pid}, store {uri}, log {log_file}); "
          "stop it with `make mlflow-ui-stop`", flush=True)
    return {**state, "pid": process.pid}


def stop(quiet: bool = False) -> bool:
    """Stop the background UI (SIGTERM to its process group, SIGKILL after a timeout)."""
    pid_file, state_file, _ = _files()
    current = running()
    if current is None:
        if not quiet:
            print("MLflow UI is not running")
        return False
    pid = current["pid"]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not alive(pid):
            break
    pid_file.unlink(missing_ok=True)
    state_file.unlink(missing_ok=True)
    host, port = current.get("host", "127.0.0.1"), current.get("port")
    if port and port_open(host, port):
        raise SystemExit(f"MLflow UI (pid {pid}) was stopped but port {port} is still in use")
    if not quiet:
        print(f"MLflow UI (pid {pid}) stopped; port {port} is free")
    return True


def foreground(host: str, port: int) -> int:
    uri = tracking_uri()
    print(f"MLflow UI for {uri} on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(_command(uri, host, port), env=_env(), cwd=state_dir().parent)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", default="foreground", choices=["start", "stop", "status", "foreground"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("MLFLOW_UI_PORT", 5000)))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--print-uri", action="store_true", help="only print the tracking URI")
    args = parser.parse_args(argv)
    if args.print_uri:
        print(tracking_uri())
        return 0
    if args.action == "start":
        start(args.host, args.port)
    elif args.action == "stop":
        stop()
    elif args.action == "status":
        current = running()
        print(f"MLflow UI running at {current['url']} (pid {current['pid']})" if current else
              "MLflow UI is not running")
        return 0 if current else 1
    else:
        return foreground(args.host, args.port)
    return 0

