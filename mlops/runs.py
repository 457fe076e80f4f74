"""Run hygiene in the ZenML store: runs whose process died, and model versions of runs that produced nothing.

Two facts of ZenML 0.98 make these necessary:

- the local orchestrator runs a pipeline inside the process that started it and records
  no pid; if that process is killed (kill -9, a reboot) the run stays "running" forever;
- a training run creates its model version when it starts, so every failed or
  interrupted run leaves a version with no model, and "latest version" stops meaning
  "latest model".

Every `run.py` invocation calls `housekeeping()` first: it registers the process as a
*launcher* (a file under ZenML's config directory, held with an exclusive `flock` for
the life of the process; the kernel releases it however the process ends), marks runs
of this project failed when every launcher that could have started them is gone, and
deletes model versions that only failed runs ever touched and that hold no model.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Callable, Iterable, List, Sequence

PROJECT_PIPELINES = ("training_pipeline", "search_pipeline", "deployment_pipeline", "inference_pipeline",
                     "drift_pipeline", "retraining_pipeline")
ACTIVE_STATUSES = ("initializing", "provisioning", "queued", "running")
FAILED_STATUSES = ("failed", "stopped", "cancelled")
LAUNCHER_DIR = "har-launchers"
LAUNCHER_RETENTION_S = 7 * 24 * 3600
CLOCK_SLACK_S = 2.0

_registered: tuple[Path, IO[str]] | None = None


@dataclass(frozen=True)
class Launcher:
    """A process that may have started pipeline runs: when it started, when it ended, whether it lives."""

    path: Path
    pid: int
    started: float
    ended: float | None
    alive: bool

    def could_have_started(self, created: float) -> bool:
        return self.started - CLOCK_SLACK_S <= created and (self.ended is None or created <= self.ended + CLOCK_SLACK_S)


def stale_run_ids(runs: Iterable[tuple[str, float]], launchers: Sequence[Launcher]) -> List[str]:
    """Ids of the (id, created epoch s) active runs whose every possible launcher is dead.

    A run that no known launcher could have started (run from a notebook, a test, the ZenML
    CLI) is left alone: only runs started through `run.py` have a launcher to judge by.
    """
    stale = []
    for run_id, created in runs:
        candidates = [launcher for launcher in launchers if launcher.could_have_started(created)]
        if candidates and not any(launcher.alive for launcher in candidates):
            stale.append(run_id)
    return stale


def launcher_dir() -> Path:
    from zenml.config.global_config import GlobalConfiguration

    return Path(GlobalConfiguration().config_directory) / LAUNCHER_DIR


def register_launcher(directory: Path | None = None) -> Path:
    """Record this process as a launcher (idempotent); the record stays locked while it lives."""
    global _registered
    if _registered is not None:
        return _registered[0]
    directory = directory or launcher_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{os.getpid()}-{time.time_ns()}.json"
    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    json.dump({"pid": os.getpid(), "started": time.time(), "ended": None}, handle)
    handle.flush()
    _registered = (path, handle)
    atexit.register(_unregister)
    return path


def _unregister() -> None:
    """On a normal exit: write the end time and release the lock (kept for judging the runs it started)."""
    global _registered
    if _registered is None:
        return
    path, handle = _registered
    _registered = None
    try:
        record = json.loads(path.read_text())
        record["ended"] = time.time()
        path.write_text(json.dumps(record))
    except (OSError, ValueError):
        pass
    handle.close()


def _is_locked(path: Path) -> bool:
    if _registered is not None and _registered[0] == path:
        return True
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def read_launchers(directory: Path | None = None, now: float | None = None) -> List[Launcher]:
    """The launcher records; a dead one without an end time gets `now` as its end (it started nothing later)."""
    directory = directory or launcher_dir()
    now = time.time() if now is None else now
    launchers = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            record = json.loads(path.read_text() or "{}")
            alive = _is_locked(path)
        except (OSError, ValueError):
            continue
        if "started" not in record:  # a launcher between creating and writing its record
            continue
        ended = record.get("ended")
        if not alive and ended is None:
            ended = record["ended"] = now
            path.write_text(json.dumps(record))
        if not alive and now - ended > LAUNCHER_RETENTION_S:
            path.unlink(missing_ok=True)
            continue
        launchers.append(Launcher(path, int(record.get("pid", 0)), float(record["started"]), ended, alive))
    return launchers


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def mark_stale_runs(client=None, launchers: Sequence[Launcher] | None = None) -> List[str]:
    """Mark this project's runs failed whose process is gone; returns their names."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate, StepRunUpdate
    from zenml.utils.time_utils import utc_now

    client = client or Client()
    launchers = read_launchers() if launchers is None else launchers
    active = {}
    for status in ACTIVE_STATUSES:
        for run in client.list_pipeline_runs(status=status, size=100, sort_by="desc:created").items:
            if run.pipeline is not None and run.pipeline.name in PROJECT_PIPELINES:
                active[str(run.id)] = run
    stale = stale_run_ids([(run_id, _epoch(run.created)) for run_id, run in active.items()], launchers)
    names = []
    for run_id in stale:
        run = active[run_id]
        reason = "its process ended without finishing the run (killed or interrupted); marked failed by run.py"
        for step_run in run.steps.values():
            if not step_run.status.is_finished:
                client.zen_store.update_run_step(step_run.id, StepRunUpdate(status=ExecutionStatus.FAILED,
                                                                            end_time=utc_now()))
        client.zen_store.update_run(run.id, PipelineRunUpdate(status=ExecutionStatus.FAILED, status_reason=reason))
        names.append(run.name)
    return names


def is_abandoned_version(version, run_statuses: Sequence[str], has_model: Callable[[], bool]) -> bool:
    """A version no stage points to, that only failed runs ever touched, and that holds no model."""
    if version.stage:
        return False
    if not (bool(run_statuses) and all(status in FAILED_STATUSES for status in run_statuses)):
        return False
    return not has_model()


def _has_model(client, version) -> bool:
    from zenml.enums import ArtifactType

    models = client.list_artifact_versions(model_version_id=version.id, type=ArtifactType.MODEL, size=1)
    return models.total > 0 or version.get_artifact("trained_model") is not None


def remove_empty_versions(client=None, pipelines: Sequence[str] = ("training_pipeline", "search_pipeline",
                                                                   "retraining_pipeline"),
                          limit: int = 100) -> List[str]:
    """Delete the model versions of failed runs that hold no model; returns `model:version` of each."""
    from zenml.client import Client

    client = client or Client()
    removed, seen = [], set()
    for pipeline_name in pipelines:
        for status in FAILED_STATUSES:
            runs = client.list_pipeline_runs(pipeline_name=pipeline_name, status=status, size=limit,
                                             sort_by="desc:created")
            for run in runs.items:
                version = run.model_version
                if version is None or version.id in seen:
                    continue
                seen.add(version.id)
                statuses = [str(linked.status.value) for linked in
                            client.list_pipeline_runs(model_version_id=version.id, size=100).items]
                if is_abandoned_version(version, statuses, lambda v=version: _has_model(client, v)):
                    client.delete_model_version(version.id)
                    removed.append(f"{version.model.name}:{version.name}")
    return removed


def housekeeping(echo=None) -> None:
    """At the start of every `run.py` invocation: register, fail stale runs, remove empty versions.

    Best effort on purpose: a store that cannot be cleaned still lets the user's command run
    (and report the store's own error); what was done or skipped is printed.
    """
    import click

    echo = echo or (lambda text: click.echo(text, err=True))
    try:
        register_launcher()
        stale = mark_stale_runs()
        removed = remove_empty_versions()
    except Exception as error:  # noqa: BLE001 - cleanup must never block the command itself
        echo(f"Housekeeping skipped: {type(error).__name__}: {error}")
        return
    if stale:
        echo(f"Marked {len(stale)} run(s) failed whose process had died: {', '.join(stale)}")
    if removed:
        echo(f"Removed {len(removed)} empty model version(s) left by failed runs: {', '.join(removed)}")
