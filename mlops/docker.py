"""What the `docker` stack needs beyond ZenML's components: an engine, a registry, a base image, run settings.

- `check_engine()` fails with the exact commands to run when no Docker engine answers.
- `ensure_registry()` makes sure the stack's local container registry answers at
  `127.0.0.1:$HAR_REGISTRY_PORT` (default 5050), starting Debian's `docker-registry`
  in the background if it is installed. ZenML reuses a build only when the stack has a
  container registry, so with it an unchanged project builds nothing on its next run.
- `resolve_base_image()` picks the Dockerfile's BASE_IMAGE: `$HAR_BASE_IMAGE`, else
  `python:3.11-slim` if present or pullable, else the Debian-built stand-in from
  `scripts/build_base_image.sh` (built on first use; no registry needed).
- `run_settings()` turns `configs/stacks/docker.yaml` into ZenML run settings for one
  run: the base image, a checksum of the runtime requirements (so a dependency change
  makes ZenML build again), and the host folders the steps read or write (the
  project, data, outputs) mounted at the same paths in the containers.

Usage: python scripts/docker_stack.py     (checks the engine and registry, prints the base image)
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterable

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "configs" / "stacks" / "docker.yaml"
REGISTRY_BASE_IMAGE = "python:3.11-slim"
LOCAL_BASE_IMAGE = "har-base:py3.11-bookworm"
BASE_IMAGE_ENV = "HAR_BASE_IMAGE"
# What the step image is built from: a change to any of these makes ZenML build it again.
RUNTIME_REQUIREMENTS = ("requirements.txt", "constraints.txt")
# The stack's container registry (not 5000: that is the MLflow UI's port). Docker treats
# registries on 127.0.0.0/8 as insecure (plain HTTP) out of the box.
REGISTRY_PORT = int(os.environ.get("HAR_REGISTRY_PORT", "5050"))
REGISTRY_URI = f"127.0.0.1:{REGISTRY_PORT}"
REGISTRY_DIR = Path(os.environ.get("HAR_REGISTRY_DIR", Path.home() / ".cache" / "har-registry"))
REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
"""

REGISTRY_HELP = """\
The `docker` stack keeps its images in a local container registry at {uri} (so an
unchanged project reuses its build instead of rebuilding), and none answers ({error}).
  Debian/Ubuntu, as root:  make docker-engine     (installs Debian's docker-registry; it is then
      started on demand, log in {dir}/registry.log)
  Elsewhere: run any registry there, e.g. `docker run -d -p {uri}:5000 registry:2`,
      or set HAR_REGISTRY_PORT to the port of one you run."""

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


def registry_answers(timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY_URI}/v2/", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def ensure_registry(wait: float = 15.0) -> str:
    """The registry's URI once it answers; starts Debian's `docker-registry` if needed."""
    if registry_answers():
        return REGISTRY_URI
    binary = shutil.which("docker-registry")
    if binary is None:
        raise DockerStackError(REGISTRY_HELP.format(uri=REGISTRY_URI, dir=REGISTRY_DIR,
                                                    error="docker-registry is not installed"))
    REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
    config = REGISTRY_DIR / "config.yml"
    config.write_text(REGISTRY_CONFIG.format(root=REGISTRY_DIR / "storage", addr=REGISTRY_URI))
    with open(REGISTRY_DIR / "registry.log", "ab") as log:
        subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                         start_new_session=True)  # outlives this process, like dockerd
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if registry_answers():
            return REGISTRY_URI
        time.sleep(0.2)
    raise DockerStackError(REGISTRY_HELP.format(uri=REGISTRY_URI, dir=REGISTRY_DIR,
                                                error=f"started {binary}, no answer after {wait:.0f} s; see "
                                                      f"{REGISTRY_DIR / 'registry.log'}"))


def requirements_checksum(root: Path = ROOT) -> str:
    """sha256 of what the runtime image installs; ZenML's build checksum does not read these files."""
    digest = hashlib.sha256()
    for name in RUNTIME_REQUIREMENTS:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


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

    The image holds dependencies only; ZenML downloads each run's code from the
    artifact store. The build settings hold nothing that differs between runs or
    machines (ZenML reuses a build only when they are equal), so per-run values
    go into the orchestrator's `run_args` instead.

    `mounts` (read-write) and `read_only` host folders are bound at the same path
    in every step container, so paths in parameters and metadata mean the same
    thing inside and outside; the project folder itself is bound read-only (its
    configs, relative paths through `$HAR_PROJECT_ROOT`). The local stores
    (ZenML's database, artifact store, MLflow) are mounted by ZenML's
    orchestrator itself. `docker_socket` gives the steps the host's Docker engine
    (the deployment pipeline builds and starts the BentoML container there).
    """
    from har.config import load_yaml
    from har.paths import PROJECT_ROOT_ENV

    settings = copy.deepcopy(load_yaml(settings_file)["settings"])
    docker = settings["docker"]
    build_args = docker["parent_image_build_config"]["build_options"]["build_args"]
    build_args["BASE_IMAGE"] = base_image
    build_args["REQUIREMENTS_SHA"] = requirements_checksum()
    docker["dockerfile"] = str(ROOT / docker["dockerfile"])
    docker["build_context_root"] = str(ROOT / docker["build_context_root"])
    environment = {PROJECT_ROOT_ENV: str(ROOT), BASE_IMAGE_ENV: base_image}
    if "orchestrator.local_docker" not in settings:  # a remote orchestrator: nothing of this machine to mount
        for name, value in environment.items():  # the k8s settings keep their own project root (/app)
            docker.setdefault("environment", {}).setdefault(name, value)
        return settings

    run_args = settings["orchestrator.local_docker"].setdefault("run_args", {})
    run_args["environment"] = {**run_args.get("environment", {}), **environment}
    volumes: Dict[str, Dict[str, str]] = {str(ROOT): {"bind": str(ROOT), "mode": "ro"}}
    for mode, paths in (("ro", read_only), ("rw", mounts)):
        for path in paths:
            path = Path(path).resolve()
            path.mkdir(parents=True, exist_ok=True)
            volumes[str(path)] = {"bind": str(path), "mode": mode}
    if docker_socket:
        socket = "/var/run/docker.sock"
        volumes[socket] = {"bind": socket, "mode": "rw"}
    run_args["volumes"] = volumes
    return settings


def main() -> int:
    try:
        print(f"Docker engine {check_engine()}; registry {ensure_registry()}; "
              f"base image for the Dockerfile: {resolve_base_image()}")
    except DockerStackError as error:
        print(error, file=sys.stderr)
        return 1
    return 0

