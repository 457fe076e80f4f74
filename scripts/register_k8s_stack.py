"""Register the Kubernetes stack `har_k8s` from configs/stacks/kubernetes.yaml and activate it.

    python scripts/register_k8s_stack.py [--file PATH] [--no-activate]
    python scripts/register_k8s_stack.py --print > har_k8s.yaml    # for `zenml stack import`

Entry point only: the code is in mlops/kubernetes.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops.kubernetes import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
