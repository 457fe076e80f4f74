"""What a user sees in the terminal: progress and results, not framework noise or tracebacks.

- `quiet_native_stderr`: TensorFlow's C++ start-up lines ("All log messages
  before absl::InitializeLog() ...", the oneDNN notice) are written straight to
  file descriptor 2 before any Python logging exists; no environment variable
  of TF 2.21 silences them, so the import runs with fd 2 pointed at /dev/null.
- `install_log_filters`: drops lines a user cannot act on from the console
  (ZenML Pro adverts and login hints, the stack component listing, first-run
  database set-up, MLflow's table creation and Keras signature notice, the
  fastai autolog warning) and, unless `--debug`, the framework's own report of
  a failed step with its traceback: the CLI prints the failure once, short.
  The step logs kept by ZenML's log store (dashboard) are untouched.
- `failure_text`: the final message, with the exit code's meaning and a hint.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from typing import Iterator

from har.outcomes import ExitCode

NOISE = re.compile(
    "|".join([
        r"ZenML Pro", r"zenml\.io/pro", r"zenml login", r"ZenML Dashboard", r"dashboard using ZenML Pro",
        r"^Using user:", r"^Using stack:", r"^Registered new pipeline",
        r"^Initializing the ZenML global configuration", r"^Creating database tables", r"^Creating default ",
        r"^Setting the global active ", r"^Migrating the ZenML global configuration",
        r"Failed to disable MLflow autologging", r"Creating initial MLflow database tables",
        r"^Updating database tables", r"without specifying model signature",
        r"^Reusing existing build", r"^Caching is disabled", r"^Tracking URI",
        r"^Deploying model server for .* with the following configuration", r"^Adding BentoML requirement",
        r"^Created a new BentoML deployment service", r"is deprecated and will be removed",
        r"^Uploading external artifact", r"^Finished uploading external artifact",
        r"^Computed \d+ values for constant folding", r"^Optimizing ONNX model", r"^After optimization: ",
        r"^Using tensorflow=", r"^Using opset ",
    ])
)
STACK_LISTING = re.compile(r"^\s{2}[a-z_]+: \S+$")  # "  orchestrator: default" under "Using stack:"
STEP_FAILURE = re.compile(
    r"^(Failed to run step|Step \S+ failed\.|Pipeline run \S* ?has failed|Failed to execute|Skipping step )"
)


class _ConsoleFilter(logging.Filter):
    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        plain = _strip_ansi(message).strip()
        from_framework = record.name.startswith(("zenml", "mlflow", "bentoml", "evidently", "tf2onnx"))
        if from_framework and (NOISE.search(plain) or STACK_LISTING.match(_strip_ansi(message))):
            return self.debug
        if self.debug:
            return True
        if from_framework and STEP_FAILURE.match(plain):
            return False
        record.exc_info = None  # tracebacks only with --debug
        record.exc_text = None
        return True


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def install_log_filters(debug: bool) -> None:
    """Filter every console handler of the root logger and of MLflow's logger (call after importing zenml)."""
    console = _ConsoleFilter(debug)
    for logger in (logging.getLogger(), logging.getLogger("mlflow")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not any(
                isinstance(f, _ConsoleFilter) for f in handler.filters
            ):
                handler.addFilter(console)
    if not debug:
        import warnings

        warnings.filterwarnings("ignore", message=".*fastai.*")
        logging.getLogger("absl").setLevel(logging.ERROR)


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (Python's own sys.stderr is kept)."""
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some test runners): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def failure_text(code: int, message: str, debug: bool, max_lines: int = 14) -> str:
    """The failure as a few lines: what happened (capped), the exit code, how to see more."""
    lines = [line for line in str(message).strip().splitlines() if line.strip()] or ["(no message)"]
    if len(lines) > max_lines - 2:
        hidden = len(lines) - (max_lines - 3)
        lines = lines[: max_lines - 3] + [f"  ... {hidden} more line(s): see the step's logs in the dashboard"]
    meaning = ExitCode(code).meaning if code in ExitCode._value2member_map_ else "error"
    head = f"Error ({meaning}, exit code {code}): {lines[0]}"
    text = [head, *lines[1:]]
    if code in ExitCode._value2member_map_ and ExitCode(code).hint:
        text.append(ExitCode(code).hint)
    if code == 1 and not debug:
        text.append("This is not an expected outcome; rerun with --debug for the full traceback.")
    return "\n".join(text)
