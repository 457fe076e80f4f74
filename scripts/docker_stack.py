"""What the `docker` stack needs beyond ZenML's components: an engine, a base image, run settings.

- `check_engine()` fails with the exact commands to run when no Docker engine answers.
- `resolve_base_image()` picks the Dockerfile's BASE_IMAGE: `$HAR_BASE_IMAGE`, else
  `python:3.11-slim` if present or pullable, else the Debian-built stand-in from
  `scripts/build_base_image.sh` (built on first use; no registry needed).
- `run_settings()` turns `configs/stacks/docker.yaml` into ZenML run settings for one
  run: the base image, and the host folders the steps read or write (data, outputs)
  mounted at the same paths in every step container.

Usage: python scripts/docker_stack.py     (checks the engine and prints the base image)
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterable

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "configs" / "stacks" / "docker.yaml"
REGISTRY_BASE_IMAGE = "python:3.11-slim"
LOCAL_BASE_IMAGE = "har-base:py3.11-bookworm"
BASE_IMAGE_ENV = "HAR_BASE_IMAGE"

ENGINE_HELP = """\
The `docker` stack needs a running Docker engine, and none answers ({error}).
  Debian/Ubuntu, as root:  make docker-engine
      (= apt-get install -y docker.io debootstrap, then start `dockerd` in the background)
  Elsewhere: install Docker, start it, and check that `docker info` works.
Then re-run your command. `--stack local` works without Docker."""


class DockerStackError(RuntimeError):
    """The Docker stack cannot run here; the message says what to do."""


def docker_client():
    import docker

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # docker.errors.DockerException, requests' ConnectionError, missing socket ...
        raise DockerStackError(ENGINE_HELP.format(error=str(error).splitlines()[0][:200])) from None
    return client


def check_engine() -> str:
    """The engine's version, or DockerStackError with instructions."""
    return docker_client().version().get("Version", "?")


def image_exists(client, name: str) -> bool:
    import docker

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def resolve_base_image(build: bool = True) -> str:
    """The BASE_IMAGE for the project's Dockerfile (see module docstring)."""
    import docker

    if os.environ.get(BASE_IMAGE_ENV):
        return os.environ[BASE_IMAGE_ENV]
    client = docker_client()
    for name in (REGISTRY_BASE_IMAGE, LOCAL_BASE_IMAGE):
        if image_exists(client, name):
            return name
    try:
        client.images.pull(REGISTRY_BASE_IMAGE)
        return REGISTRY_BASE_IMAGE
    except docker.errors.APIError as error:
        print(f"Cannot pull {REGISTRY_BASE_IMAGE} ({str(error)[:160]}); building {LOCAL_BASE_IMAGE} "
              "from Debian's packages instead (once, a few minutes).", flush=True)
    if not build:
        raise DockerStackError(f"no base image: neither {REGISTRY_BASE_IMAGE} nor {LOCAL_BASE_IMAGE} is present")
    result = subprocess.run(["bash", str(ROOT / "scripts" / "build_base_image.sh"), LOCAL_BASE_IMAGE])
    if result.returncode != 0:
        raise DockerStackError(
            f"building {LOCAL_BASE_IMAGE} failed (see above). Either fix that (it needs root and debootstrap: "
            f"`make docker-engine` installs it), or point {BASE_IMAGE_ENV} at any Python 3.11 image you have.")
    return LOCAL_BASE_IMAGE


def run_settings(base_image: str, mounts: Iterable[Path | str] = (), read_only: Iterable[Path | str] = (),
                 docker_socket: bool = False, settings_file: Path = SETTINGS_FILE) -> Dict[str, Any]:
    """ZenML `settings` for one run on the docker stack.

    `mounts` (read-write) and `read_only` host folders are bound at the same path
    in every step container, so paths in parameters and metadata mean the same
    thing inside and outside. The local stores (ZenML's database, artifact store,
    MLflow) are mounted by ZenML's orchestrator itself. `docker_socket` gives the
    steps the host's Docker engine (the deployment pipeline builds and starts the
    BentoML container there).
    """
    from har.config import load_yaml
    from har.paths import PROJECT_ROOT_ENV

    settings = copy.deepcopy(load_yaml(settings_file)["settings"])
    docker = settings["docker"]
    docker["parent_image_build_config"]["build_options"]["build_args"]["BASE_IMAGE"] = base_image
    docker["dockerfile"] = str(ROOT / docker["dockerfile"])
    docker["build_context_root"] = str(ROOT / docker["build_context_root"])
    docker.setdefault("environment", {}).setdefault(PROJECT_ROOT_ENV, str(ROOT))
    docker["environment"][BASE_IMAGE_ENV] = base_image
    if "orchestrator.local_docker" not in settings:  # a remote orchestrator: nothing of this machine to mount
        return settings

    volumes: Dict[str, Dict[str, str]] = {}
    for mode, paths in (("ro", read_only), ("rw", mounts)):
        for path in paths:
            path = Path(path).resolve()
            path.mkdir(parents=True, exist_ok=True)
            volumes[str(path)] = {"bind": str(path), "mode": mode}
    if docker_socket:
        socket = "/var/run/docker.sock"
        volumes[socket] = {"bind": socket, "mode": "rw"}
    settings["orchestrator.local_docker"].setdefault("run_args", {})["volumes"] = volumes
    return settings


def main() -> int:
    try:
        print(f"Docker engine {check_engine()}; base image for the Dockerfile: {resolve_base_image()}")
    except DockerStackError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
