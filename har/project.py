"""Use the project's ZenML stack and artifacts from any folder.

The stack's `bentoml14` model-deployer flavor, the materializers and the steps
are recorded in ZenML by module path (`mlops.bentoml_flavor....`,
`materializers.keras_model_materializer....`). ZenML imports such user sources
from its *source root*, which is, in this order: a custom source root, the
nearest folder with a `.zen` repository, the folder of the main script. Outside
the checkout none of them is the checkout (from `python -c` or a notebook there
is not even a script folder), so loading the stack fails with
`CustomFlavorImportError` and `.load()` cannot find the materializer.

`use_project()` sets the custom source root to the checkout this `har` package
was installed from (`pip install -e .`), in this process and, through
`ZENML_CUSTOM_SOURCE_ROOT`, in the processes it starts (deployment daemons).
ZenML then puts the checkout on `sys.path` only while it imports one of those
sources: the folders with generic names (`steps`, `pipelines`, ...) are never
installed into the environment.

Only the module-level imports below: `import har` stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE_ROOT_ENV = "ZENML_CUSTOM_SOURCE_ROOT"  # zenml.constants.ENV_ZENML_CUSTOM_SOURCE_ROOT
# Files that only a checkout of this project has beside the `har` package.
CHECKOUT_MARKERS = ("run.py", "mlops/bentoml_flavor.py", "materializers/__init__.py", "steps/__init__.py")


class ProjectNotFoundError(RuntimeError):
    """`har` is not imported from a checkout of the project (e.g. a wheel install)."""


def project_root() -> Path:
    """The checkout that holds this `har` package.

    Raises:
        ProjectNotFoundError: `har` was installed without the checkout (not editable).
    """
    package = Path(__file__).resolve().parent
    root = package.parent
    missing = [marker for marker in CHECKOUT_MARKERS if not (root / marker).is_file()]
    if missing:
        raise ProjectNotFoundError(
            f"`har` is imported from {package}, which is not inside a checkout of the HAR MLOps project "
            f"(missing beside it: {', '.join(missing)}). The project's ZenML stack and artifacts need the "
            "checkout's code: install it editable from your clone, `pip install -e /path/to/clone` "
            "(`make install` does), not from a wheel or a plain `pip install .`."
        )
    return root


def use_project() -> Path:
    """Make ZenML load this project's sources from its checkout; returns the checkout.

    Call it before the first `Client()` call. It overrides any other source
    root for this process and its children, so ZenML steps of your own must
    then live inside the checkout too.

    Raises:
        ProjectNotFoundError: `har` was installed without the checkout (not editable).
    """
    root = project_root()
    from zenml.utils import source_utils  # here, not at the top: importing zenml takes 1-2 s

    os.environ[SOURCE_ROOT_ENV] = str(root)
    source_utils.set_custom_source_root(str(root))
    return root
