"""The whole loop on the default data: train, deploy with the serving log on, traffic, monitoring, retraining,
promotion, redeploy behind the same URL. `make loop-demo`.

    python scripts/loop_demo.py [--port 3000] [--new-subjects 4] [--rotation 30]

Entry point only: the code is in mlops/loop_demo.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.loop_demo import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
