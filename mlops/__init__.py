"""Run and model-version lifecycle of the project in ZenML: stale runs, empty versions, partial files.

Platform code that `run.py` and the steps call; not part of the installed `har` package.
"""

from mlops.files import clean_stale_partials, partial_prefix
from mlops.runs import housekeeping, mark_stale_runs, register_launcher, remove_empty_versions

__all__ = [
    "clean_stale_partials",
    "housekeeping",
    "mark_stale_runs",
    "partial_prefix",
    "register_launcher",
    "remove_empty_versions",
]
