"""Start the MLflow UI on the tracking store of the active ZenML stack's experiment tracker.

    python scripts/mlflow_ui.py [--port 5000] [--print-uri]

ZenML's local MLflow tracker keeps its store under the ZenML home
(`<ZENML_CONFIG_PATH>/local_stores/<tracker id>/`), so a plain `mlflow ui`
in the project folder would show nothing. Ctrl-C stops the UI.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")


def tracking_uri() -> str:
    from zenml.client import Client

    tracker = Client().active_stack.experiment_tracker
    if tracker is None or tracker.flavor != "mlflow":
        raise SystemExit("the active ZenML stack has no MLflow experiment tracker; run `make setup` first")
    return tracker.get_tracking_uri()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--print-uri", action="store_true", help="only print the tracking URI")
    args = parser.parse_args()
    uri = tracking_uri()
    if args.print_uri:
        print(uri)
        return 0
    print(f"MLflow UI for {uri} on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", args.host,
               "--port", str(args.port)]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
