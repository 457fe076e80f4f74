"""Screenshots of the ZenML dashboard and the MLflow UI for the README, from a real store.

    python scripts/screenshots.py [--out docs/screenshots] [--zenml-port 8237] [--mlflow-port 5000]

Entry point only: the code is in mlops/screenshots.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.screenshots import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
