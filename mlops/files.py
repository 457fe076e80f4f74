"""Leftovers of writes that never finished: `*.partial` files of a process killed mid-export."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import List

from mlops.processes import alive

PARTIAL_SUFFIX = ".partial"


def partial_prefix(name: str) -> str:
    """Prefix for a temporary file written by this process: `<name>.pid<pid>.` (the pid tells if it is stale)."""
    return f"{name}.pid{os.getpid()}."


def _writer_pid(path: Path) -> int | None:
    for part in path.name.split("."):
        if part.startswith("pid") and part[3:].isdigit():
            return int(part[3:])
    return None


def clean_stale_partials(folder: Path, max_age_s: float = 3600.0, now: float | None = None) -> List[Path]:
    """Delete `*.partial` files in `folder` whose writer is gone; returns the deleted paths.

    A partial is stale when the pid in its name is no longer alive, or (no pid in the name,
    or a pid that may have been reused) when it is older than `max_age_s`. A live writer's
    recent partial is never touched.
    """
    now = time.time() if now is None else now
    removed = []
    for path in sorted(Path(folder).glob(f"*{PARTIAL_SUFFIX}")):
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:  # its writer just renamed it
            continue
        pid = _writer_pid(path)
        dead_writer = pid is not None and pid != os.getpid() and not alive(pid)
        if dead_writer or age > max_age_s:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed


def cap_log_file(path: str | Path, max_bytes: int, keep_tail: bool = True) -> bool:
    """Keep a log that processes append to under `max_bytes`: copy it to `<path>.1`, then truncate it.

    Copy-then-truncate (logrotate's `copytruncate`) is the rotation that works
    for writers we do not control: the deployment daemon and BentoML's workers
    hold the file open with O_APPEND, so after the truncation their next lines
    land at the new, empty end. Returns whether it rotated.
    """
    path = Path(path)
    try:
        if path.stat().st_size <= max_bytes:
            return False
        if keep_tail:
            with open(path, "rb") as source, open(f"{path}.1", "wb") as target:
                source.seek(max(0, path.stat().st_size - max_bytes))
                target.write(source.read(max_bytes))
        os.truncate(path, 0)
    except FileNotFoundError:
        return False
    return True
