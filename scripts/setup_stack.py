"""Register the project's ZenML stacks idempotently and activate one.

Usage: python scripts/setup_stack.py [--stack local|docker]

Entry point only: the code is in mlops/stacks.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.stacks import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
