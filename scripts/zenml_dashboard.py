"""The local ZenML server with its dashboard, offline, landing on the real pages.

    python scripts/zenml_dashboard.py start [--port 8237] [--no-connect]   start (idempotent), print the URL
    python scripts/zenml_dashboard.py stop                                 stop it, reconnect the client to the local DB
    python scripts/zenml_dashboard.py status                               running or not, URL, pid

Entry point only: the code is in mlops/zenml_dashboard.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.zenml_dashboard import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
