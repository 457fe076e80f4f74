"""Where relative paths in step parameters point."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT_ENV = "HAR_PROJECT_ROOT"


def project_path(path: str | Path) -> Path:
    """An absolute path; relative ones are taken from the project root.

    The project root is `$HAR_PROJECT_ROOT` when set (steps in a container get
    the host's repository path there, with that folder mounted at the same
    path), else the working directory (run.py runs from the repository root).
    """
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    return (Path(os.environ.get(PROJECT_ROOT_ENV) or os.getcwd()) / path).resolve()
