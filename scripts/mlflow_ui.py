"""The MLflow UI on the tracking store of the active ZenML stack's experiment tracker.

    python scripts/mlflow_ui.py start [--port 5000] [--host 127.0.0.1]   in the background; prints the URL
    python scripts/mlflow_ui.py stop                                      stops it and frees the port
    python scripts/mlflow_ui.py status                                    running or not, URL, pid
    python scripts/mlflow_ui.py foreground [--port 5000]                  in this terminal (Ctrl-C stops)
    python scripts/mlflow_ui.py --print-uri                               only print the tracking URI

Entry point only: the code is in mlops/mlflow_ui.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.mlflow_ui import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
