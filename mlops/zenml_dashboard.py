"""The local ZenML server with its dashboard, offline, landing on the real pages.

    python scripts/zenml_dashboard.py start [--port 8237] [--no-connect]   start (idempotent), print the URL
    python scripts/zenml_dashboard.py stop                                 stop it, reconnect the client to the local DB
    python scripts/zenml_dashboard.py status                               running or not, URL, pid

`start` is `zenml login --local` (ZenML's LocalServerDeployer: a daemon process
whose pid file and log are in `<ZENML_CONFIG_PATH>/zen_server/daemon/`) plus
skipping the dashboard's first-visit account form; `stop` is `zenml logout
--local` plus waiting until the process is gone and the port is free (the CLI
returns while the server is still shutting down). By default the client is
connected to the server, as `zenml login --local` does, so runs go through it;
`--no-connect` leaves the client on the local database (for read-only viewing,
the browser test and the screenshot script).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # also run as `python scripts/<name>.py`
    sys.path.insert(0, str(ROOT))

from mlops.processes import alive, healthy, port_open  # noqa: E402

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")

DEFAULT_PORT = 8237
START_TIMEOUT_S = 180  # the server needs ~12 s on an idle 2-core machine, much longer under load
STOP_TIMEOUT_S = 30


def skip_onboarding_form(client=None) -> bool:
    """Mark the local server's user as having completed the dashboard's first-visit form.

    On a fresh server every dashboard URL redirects to `/survey` ("Add your account details"),
    because the dashboard (zenml/zen_server/dashboard, 0.98) shows that form while
    `user.email_opted_in is None` or the user metadata lacks `finished_onboarding_survey`
    (and `awareness_channels`). Submitting the form writes exactly these two fields through the
    users API: `email_opted_in` (false when the "receive news" box is unticked) and
    `user_metadata.finished_onboarding_survey = true`. We write the same two fields for the
    user the local server authenticates every request as (`NO_AUTH` -> `DEFAULT_USERNAME`),
    leaving any other metadata and an existing opt-in choice untouched.

    Two ZenML 0.98 quirks shape the calls: over REST, `PUT /users/{id}` silently drops
    `email_opted_in` (only `PUT /current-user` applies it), so a client connected to the
    server uses the latter; on the local SQL store `Client.update_user` applies both.

    Returns True if the user was updated, False if nothing was left to do.
    """
    from zenml.client import Client
    from zenml.constants import CURRENT_USER, DEFAULT_USERNAME
    from zenml.models import UserUpdate
    from zenml.zen_stores.rest_zen_store import RestZenStore

    client = client or Client()
    user = client.get_user(DEFAULT_USERNAME, allow_name_prefix_match=False)
    if user.email_opted_in is not None and user.user_metadata.get("finished_onboarding_survey"):
        return False
    metadata = {**user.user_metadata, "finished_onboarding_survey": True}
    opted_in = False if user.email_opted_in is None else None
    if isinstance(client.zen_store, RestZenStore):
        client.zen_store.put(CURRENT_USER, body=UserUpdate(email_opted_in=opted_in, user_metadata=metadata))
    else:
        client.update_user(DEFAULT_USERNAME, updated_email_opt_in=opted_in, updated_metadata=metadata)
    return True


def _deployer():
    from zenml.zen_server.deploy.deployer import LocalServerDeployer

    return LocalServerDeployer()


def _daemon_pid() -> int | None:
    from zenml.zen_server.deploy.daemon.daemon_zen_server import DaemonZenServer

    try:
        return int((Path(DaemonZenServer.config_path()) / "service.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _disconnect_if_connected_to_local_server() -> bool:
    """Point the client back at the local database if it is connected to this home's local server.

    `LocalServerDeployer.is_connected_to_server()` (used by `zenml logout --local`) only knows a
    running server's URL; after a crash or reboot the client stays connected to a dead URL and
    every `zenml` command fails with "connection refused". The configured URL is compared too.
    """
    from zenml.config.global_config import GlobalConfiguration
    from zenml.enums import StoreType
    from zenml.zen_server.deploy.exceptions import ServerDeploymentNotFoundError

    store = GlobalConfiguration().store_configuration
    if store.type != StoreType.REST:
        return False
    deployer = _deployer()
    try:
        server = deployer.get_server()
    except ServerDeploymentNotFoundError:
        return False
    if store.url not in {server.status.url if server.status else None, getattr(server.config, "url", None)}:
        return False
    deployer.disconnect_from_server()
    return True


def running_url() -> str | None:
    """URL of the running local server of this ZenML home, or None."""
    from zenml.zen_server.deploy.exceptions import ServerDeploymentNotFoundError

    try:
        server = _deployer().get_server()
    except ServerDeploymentNotFoundError:
        return None
    url = server.status.url if server.status else None
    return url if url and server.is_running and healthy(url) else None


def start(port: int = DEFAULT_PORT, connect: bool = True) -> str:
    """Start (or find) the local server, skip the first-visit form, optionally connect; return the URL."""
    from zenml.enums import ServerProviderType
    from zenml.zen_server.deploy.deployment import LocalServerDeploymentConfig

    deployer = _deployer()
    url = running_url()
    if url is None:
        if _disconnect_if_connected_to_local_server():
            print("The client was connected to a local ZenML server that is not running; "
                  "reconnected it to the local database")
        if port_open("127.0.0.1", port):
            raise SystemExit(f"port {port} is in use by another program; choose one with --port")
        skip_onboarding_form()  # on the local database, before the server caches anything
        config = LocalServerDeploymentConfig(provider=ServerProviderType.DAEMON, port=port)
        server = deployer.deploy_server(config, timeout=START_TIMEOUT_S)
        url = server.status.url if server.status else None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (url and healthy(url)):
            if time.monotonic() > deadline:
                raise SystemExit(f"the local ZenML server did not answer; see {_log_file()}")
            time.sleep(0.5)
            url = running_url()
        started = "started"
    else:
        skip_onboarding_form()
        started = "already running"
    if connect:
        deployer.connect_to_server()
    print(f"ZenML dashboard {started} at {url} (pid {_daemon_pid()}, log {_log_file()}); "
          f"client {'connected to it' if connect else 'on the local database'}; "
          "stop it with `make dashboard-stop`", flush=True)
    return url


def stop() -> bool:
    """Stop the local server (disconnecting the client first) and wait until it is really gone."""
    from zenml.zen_server.deploy.exceptions import ServerDeploymentNotFoundError

    deployer = _deployer()
    try:
        server = deployer.get_server()
    except ServerDeploymentNotFoundError:
        server = None
    pid = _daemon_pid()
    _disconnect_if_connected_to_local_server()
    if server is None and pid is None:
        print("ZenML dashboard is not running")
        return False
    port = getattr(server.config, "port", None) if server is not None else None
    deployer.remove_server(timeout=STOP_TIMEOUT_S)  # what `zenml logout --local` does
    if pid is not None:
        for sig in (None, signal.SIGTERM, signal.SIGKILL):  # first wait for the graceful shutdown
            if sig is not None and alive(pid):
                os.kill(pid, sig)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not alive(pid):
                break
    if port and port_open("127.0.0.1", port):
        raise SystemExit(f"ZenML server stopped but port {port} is still in use")
    print(f"ZenML dashboard stopped (pid {pid}); port {port} is free; client on the local database")
    return True


def _log_file() -> str:
    from zenml.zen_server.deploy.daemon.daemon_zen_server import DaemonZenServer

    return os.path.join(DaemonZenServer.config_path(), "service.log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ZENML_DASHBOARD_PORT", DEFAULT_PORT)))
    parser.add_argument("--no-connect", action="store_true",
                        help="leave the client on the local database instead of connecting it to the server")
    args = parser.parse_args(argv)
    if args.action == "start":
        start(args.port, connect=not args.no_connect)
    elif args.action == "stop":
        stop()
    else:
        url = running_url()
        print(f"ZenML dashboard running at {url} (pid {_daemon_pid()})" if url else "ZenML dashboard is not running")
        return 0 if url else 1
    return 0

