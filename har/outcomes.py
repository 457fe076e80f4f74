"""Expected outcomes that end a run, and the exit code of each (one table, read by the CLI and the README).

A failed quality gate, a drift alert, bad input data, a config typo or a
model that does not exist yet are not crashes: each is an `ExpectedFailure`
subclass (or `har.errors.DataValidationError`) whose message says what
happened and what to do next. `run.py` prints that message and exits with
the code below; only unexpected errors print a traceback (and only with
`--debug`).

Steps may run in another process or container (Docker stack): ZenML then
records the exception's class path and message on the failed step run, and
`classify_source` maps them back to the same exit code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Tuple


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug or an environment problem: rerun with --debug for the traceback
    USAGE = 2  # bad command-line arguments or config file (click uses 2 for usage errors too)
    BAD_DATA = 3  # input data that breaks the data contract (file, column, line named)
    GATE_FAILED = 4  # the trained model missed the quality gate
    DRIFT = 5  # drift detected and the drift policy is `alert`
    NO_MODEL = 6  # no such model, or no production version of it yet
    NO_ENGINE = 7  # the chosen stack needs something that is not there (e.g. a Docker engine)

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @property
    def hint(self) -> str:
        return _HINTS.get(self, "")


_MEANINGS = {
    ExitCode.OK: "success", ExitCode.UNEXPECTED: "unexpected error", ExitCode.USAGE: "usage or config error",
    ExitCode.BAD_DATA: "bad input data", ExitCode.GATE_FAILED: "quality gate failed",
    ExitCode.DRIFT: "drift detected", ExitCode.NO_MODEL: "model not found", ExitCode.NO_ENGINE: "stack unavailable",
}

_HINTS = {
    ExitCode.BAD_DATA: "Fix what is named above, or describe how your files are written in a dataset profile "
                       "(README 'Your own watch data'); nothing was trained or written.",
    ExitCode.USAGE: "See --help, and README 'Your own watch data' for dataset profiles.",
}


class ExpectedFailure(Exception):
    """An outcome the user can act on; the message names the fix."""

    exit_code = ExitCode.UNEXPECTED


class ConfigError(ExpectedFailure, ValueError):
    """A config file or argument that would not do what it says."""

    exit_code = ExitCode.USAGE


class BadInput(ExpectedFailure, ValueError):
    """Input that cannot be used at all (a missing or empty data folder, no usable window)."""

    exit_code = ExitCode.BAD_DATA


class QualityGateFailed(ExpectedFailure, RuntimeError):
    exit_code = ExitCode.GATE_FAILED


class DriftDetected(ExpectedFailure, RuntimeError):
    exit_code = ExitCode.DRIFT


class ModelNotFound(ExpectedFailure, LookupError):
    exit_code = ExitCode.NO_MODEL


class StackUnavailable(ExpectedFailure, RuntimeError):
    exit_code = ExitCode.NO_ENGINE


# Exceptions defined elsewhere that are expected outcomes too (by class name, so that a class path
# recorded by ZenML for a step that failed in a container maps to the same code).
_BY_NAME = {"DataValidationError": ExitCode.BAD_DATA}


def classify(error: BaseException) -> ExitCode | None:
    """The exit code of an expected outcome anywhere in `error`'s chain; None if it is unexpected."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ExpectedFailure):
            return current.exit_code
        for klass in type(current).__mro__:
            if klass.__name__ in _BY_NAME:
                return _BY_NAME[klass.__name__]
        current = current.__cause__ or current.__context__
    return None


def classify_source(source: str | None) -> ExitCode | None:
    """The exit code for an exception class path such as `har.errors.DataValidationError`."""
    if not source:
        return None
    name = source.rsplit(".", 1)[-1]
    if name in _BY_NAME:
        return _BY_NAME[name]
    for klass in _all_subclasses(ExpectedFailure):
        if klass.__name__ == name:
            return klass.exit_code
    return None


def _all_subclasses(klass: type) -> Tuple[type, ...]:
    found = []
    for sub in klass.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return tuple(found)
