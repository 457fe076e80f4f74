"""Put a trained model into BentoML's model store and build a Bento around `service.py`."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Sequence

from zenml.logger import get_logger

from har.serving import FAMILY_DIR, NORMALIZER_FILE, ONNX, ONNX_FILE, SERVING_CONFIG_FILE, ServingConfig

logger = get_logger(__name__)
ROOT = Path(__file__).resolve().parents[1]
SERVICE_NAME = "har_activity_service"
# What the Bento needs to run: the HTTP layer and the shared core package. The build runs in a
# staging folder holding only these, never in the repository (a BentoML home inside the build
# context would be copied into itself).
BENTO_SOURCES = ("service.py", "har")
# Keras/TensorFlow stay: models without an ONNX export (older versions) are served by Keras.
BENTO_PACKAGES = ("numpy", "pandas", "scikit-learn", "keras", "tensorflow-cpu", "onnxruntime", "pydantic", "orjson",
                  "bentoml")
# What a family served natively (no ONNX export in the Bento) needs besides those.
FAMILY_PACKAGES = {"minirocket": ("aeon",)}


def bento_packages(config: ServingConfig) -> tuple[str, ...]:
    """The Bento's Python packages for this contract (a natively served family brings its own)."""
    return BENTO_PACKAGES + (FAMILY_PACKAGES.get(config.family, ()) if config.runtime != ONNX else ())


def bentoml_version_tag(model_name: str, model_version: str) -> str:
    return f"{model_name}:zenml-v{model_version}"


def export_model(model: Any, config: ServingConfig, onnx_model: bytes | None = None) -> str:
    """Save model (any `har.families` family, in its own files) + serving config (+ the ONNX export) as one
    BentoML model; returns its tag.

    The normaliser file the native runtimes read is the contract's normaliser.

    `onnx_model` is the `.onnx` file of the version's `onnx_float32` export
    (normaliser inside); required when `config.runtime` is "onnx". The model
    itself is always stored too. A ZenML model version is immutable, so an
    existing export of it with the same serving config is reused.
    """
    import bentoml

    if config.runtime == ONNX and not onnx_model:
        raise ValueError(f"serving config says runtime 'onnx' but model version {config.model_version} has no "
                         "ONNX export to package")
    tag = bentoml_version_tag(config.model_name, config.model_version)
    try:
        existing = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        pass
    else:
        same_onnx = not onnx_model or (Path(existing.path_of(ONNX_FILE)).exists()
                                       and Path(existing.path_of(ONNX_FILE)).read_bytes() == onnx_model)
        if json.loads(Path(existing.path_of(SERVING_CONFIG_FILE)).read_text()) == config.to_dict() and same_onnx:
            return str(existing.tag)
        bentoml.models.delete(tag)  # same version, other serving settings (limits): export again
    with bentoml.models.create(
        tag,
        labels={"zenml_model": config.model_name, "zenml_version": config.model_version},
        metadata={"classes": config.class_names, "channels": config.channel_names,
                  "window_size": config.window_size, "sample_rate_hz": config.sample_rate_hz,
                  "runtime": config.runtime},
    ) as stored:
        target = Path(stored.path)
        model.save(target / FAMILY_DIR)
        (target / NORMALIZER_FILE).write_text(json.dumps(config.normalizer().to_dict(), indent=2))
        (target / SERVING_CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2))
        if onnx_model:
            (target / ONNX_FILE).write_bytes(onnx_model)
    return str(stored.tag)


def build_bento(model_tag: str, deployment: Dict[str, Any], docker_base_image: str | None = None,
                packages: Sequence[str] = BENTO_PACKAGES) -> Any:
    """Build the Bento from a staging copy of the service sources; returns the `bentoml.Bento`.

    The Bento version is the model version plus a hash of the sources and
    settings, so an unchanged Bento is reused and any change gets a new one.
    `docker_base_image` is the base of the Bento's container image (BentoML's
    default, python:3.11-slim, when None; offline machines use the Debian-built
    stand-in, see scripts/build_base_image.sh).
    """
    from importlib.metadata import version

    import bentoml
    from bentoml._internal.bento.build_config import BentoEnvSchema

    digest = hashlib.sha256(json.dumps({"model_tag": model_tag, **deployment, "docker_base_image": docker_base_image,
                                        "packages": list(packages)}, sort_keys=True).encode())
    for path in sorted(p for source in BENTO_SOURCES for p in [ROOT / source, *(ROOT / source).rglob("*.py")]
                       if p.is_file()):
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    bento_version = f"{model_tag.split(':', 1)[1]}-{digest.hexdigest()[:10]}"
    try:
        return bentoml.bentos.get(f"{SERVICE_NAME}:{bento_version}")
    except bentoml.exceptions.NotFound:
        pass

    with tempfile.TemporaryDirectory(prefix="har-bento-") as staging:
        for source in BENTO_SOURCES:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(path, Path(staging) / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, Path(staging) / source)
        (Path(staging) / "deployment.json").write_text(json.dumps({"model_tag": model_tag, **deployment}, indent=2))
        return bentoml.bentos.build(
            service="service:HARClassifier",
            name=SERVICE_NAME,
            version=bento_version,
            include=["service.py", "har/*.py", "har/families/*.py", "deployment.json"],
            labels={"model_tag": model_tag},
            # Explicit, pinned packages and no lock: `bentoml build` would otherwise resolve the
            # requirements against the package index (slow, and impossible offline).
            python={"packages": [f"{name}=={version(name)}" for name in packages], "lock_packages": False},
            docker={"base_image": docker_base_image} if docker_base_image else None,
            # uv (which installs the Bento's packages in its image) trusts only its built-in CA list;
            # the system's lets it work behind TLS-inspecting proxies that pip already works through.
            envs=[BentoEnvSchema(name="UV_NATIVE_TLS", value="true")],
            build_ctx=staging,
        )


def containerize_bento(bento_tag: str, image: str | None = None, timeout: int = 1800) -> str:
    """Build the Bento's container image with BentoML's generated Dockerfile; returns the image name.

    Through the Docker API (the `docker` Python package), not the `docker` CLI
    that `bentoml containerize` shells out to: pipeline steps on the docker stack
    reach the host's engine through its socket and have no CLI. An existing
    image of the same Bento is reused (a Bento version is immutable).
    """
    import bentoml
    import docker
    from bentoml._internal.container import construct_containerfile

    bento = bentoml.bentos.get(bento_tag)
    image = image or f"{bento.tag.name}:{bento.tag.version}"
    client = docker.from_env(timeout=timeout)
    try:
        client.images.get(image)
        return image
    except docker.errors.ImageNotFound:
        pass
    log = []
    with construct_containerfile(bento, enable_buildkit=False) as (context, dockerfile):
        for chunk in client.api.build(path=context, dockerfile=dockerfile, tag=image, rm=True, forcerm=True,
                                      decode=True):
            if "stream" in chunk and chunk["stream"].strip():
                log.append(chunk["stream"].rstrip())
                logger.info("bento image: %s", log[-1])
            if "error" in chunk:
                raise RuntimeError(f"building the image of Bento {bento_tag} failed: {chunk['error']}\n"
                                   + "\n".join(log[-20:]))
    return image
