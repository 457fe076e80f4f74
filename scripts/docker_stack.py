"""What the `docker` stack needs beyond ZenML's components: an engine, a registry, a base image, run settings.

Usage: python scripts/docker_stack.py     (checks the engine and registry, prints the base image)

Entry point only: the code is in mlops/docker.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.docker import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
