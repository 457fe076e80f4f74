"""The `har` console command: the checkout's `run.py` from any folder.

    har train|search|deploy|inference|drift|retrain [OPTIONS]  =  python run.py --pipeline <that> [OPTIONS]
    har deployments [list|stop] [OPTIONS]       =  python run.py --list-deployments|--stop-deployments [OPTIONS]

The options go to run.py unchanged. Relative paths in them (`--data-dir`,
`--config`, ...) mean what they mean to `python run.py` run from here: the
working directory is left alone. What `python run.py` gets from being started
in the repository root is set up instead, in this process only:

- ZenML's source root is the checkout (`har.use_project()`); otherwise it would
  be the folder of this console script, and neither the pipelines' steps nor
  the stack's custom flavor could be resolved. Deployment daemons inherit it;
- the checkout is first on `sys.path`, so run.py imports `pipelines`, `steps`, ...;
- relative paths in step parameters (e.g. inference's `output_dir`) point into
  the checkout (`HAR_PROJECT_ROOT`, see `har/paths.py`), unless already set.

MLflow needs no working directory: the stack's tracker keeps its store in the
artifact store, an absolute path.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Sequence

from har.paths import PROJECT_ROOT_ENV
from har.project import ProjectNotFoundError, use_project

PIPELINES = ("train", "search", "deploy", "inference", "drift", "retrain")  # run.py's --pipeline choices
DEPLOYMENT_ACTIONS = {"list": "--list-deployments", "stop": "--stop-deployments"}
USAGE = """\
Usage: har COMMAND [OPTIONS]

Run the HAR MLOps project's pipelines from any folder (the checkout's run.py).

Commands:
  train        python run.py --pipeline train [OPTIONS]
  search       python run.py --pipeline search [OPTIONS]  (model families and hyperparameters)
  deploy       python run.py --pipeline deploy [OPTIONS]
  inference    python run.py --pipeline inference [OPTIONS]
  drift        python run.py --pipeline drift [OPTIONS]
  retrain      python run.py --pipeline retrain [OPTIONS]
  deployments  [list|stop]: python run.py --list-deployments|--stop-deployments [OPTIONS]

`har COMMAND --help` lists the options.
"""


def to_run_args(argv: Sequence[str]) -> tuple[str, list[str]]:
    """`har` arguments -> (command name, run.py arguments). Raises ValueError on a bad command."""
    if not argv:
        raise ValueError("missing COMMAND")
    command, rest = argv[0], list(argv[1:])
    if command in PIPELINES:
        return command, ["--pipeline", command, *rest]
    if command == "deployments":
        action = "list"
        if rest and not rest[0].startswith("-"):
            action = rest.pop(0)
        if action not in DEPLOYMENT_ACTIONS:
            raise ValueError(f"unknown action 'deployments {action}' (expected: {', '.join(DEPLOYMENT_ACTIONS)})")
        return f"{command} {action}", [DEPLOYMENT_ACTIONS[action], *rest]
    raise ValueError(f"unknown command '{command}'")


def main(argv: Sequence[str] | None = None) -> int | str | None:
    """Entry point of the `har` console script; returns run.py's exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE, end="")
        return 0
    try:
        command, run_args = to_run_args(argv)
    except ValueError as error:
        print(f"{USAGE}\nError: {error}", file=sys.stderr)
        return 2
    try:
        root = use_project()
    except ProjectNotFoundError as error:
        print(f"har: {error}", file=sys.stderr)
        return 2
    os.environ.setdefault(PROJECT_ROOT_ENV, str(root))
    os.environ["HAR_CLI"] = "har"  # run.py words its next-step hints as `har <command>`
    if sys.path[:1] != [str(root)]:
        sys.path.insert(0, str(root))
    run = importlib.import_module("run")  # the checkout's run.py
    try:
        run.main(args=run_args, prog_name=f"har {command}", standalone_mode=True)
    except SystemExit as exit_:
        return exit_.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
