"""Register the project's ZenML stacks idempotently and activate one.

Usage: python scripts/setup_stack.py [--stack local|docker]

Both stacks share the artifact store, MLflow tracker, Evidently validator and
BentoML deployer, so runs of either land in one ZenML dashboard and one MLflow
UI. `docker` swaps in ZenML's local Docker orchestrator, local image builder and a
local container registry (so ZenML reuses an unchanged build instead of rebuilding
it) and needs a Docker engine and the registry (checked, the registry started, here).

Everything goes through one `Client` in one process: each `zenml ... register`
CLI call costs 3-5 s of start-up, this costs ~2 s in total. Re-running is safe:
existing components are kept when their flavor matches and updated when their
configuration differs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Tuple

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # the project's flavor sources are imported from the repository root
    sys.path.insert(0, ROOT)

from zenml.client import Client  # noqa: E402
from zenml.enums import StackComponentType  # noqa: E402

from mlops.docker import REGISTRY_URI  # noqa: E402  (stdlib only: cheap to import)

EXPERIMENT_TRACKER = "har_mlflow"
DATA_VALIDATOR = "har_evidently"
MODEL_DEPLOYER = "har_bentoml"

# What both stacks share, so runs of either land in one dashboard and one MLflow UI.
SHARED: Dict[StackComponentType, Tuple[str, str, Dict[str, Any]]] = {
    StackComponentType.ARTIFACT_STORE: ("default", "local", {}),
    StackComponentType.EXPERIMENT_TRACKER: (EXPERIMENT_TRACKER, "mlflow", {}),
    StackComponentType.DATA_VALIDATOR: (DATA_VALIDATOR, "evidently", {}),
    StackComponentType.MODEL_DEPLOYER: (MODEL_DEPLOYER, "bentoml14", {}),
}
# stack name -> component type -> (component name, flavor, configuration)
STACKS: Dict[str, Dict[StackComponentType, Tuple[str, str, Dict[str, Any]]]] = {
    "har_local": {StackComponentType.ORCHESTRATOR: ("default", "local", {}), **SHARED},
    "har_docker": {
        StackComponentType.ORCHESTRATOR: ("har_docker", "local_docker", {}),
        StackComponentType.IMAGE_BUILDER: ("har_image_builder", "local", {}),
        StackComponentType.CONTAINER_REGISTRY: ("har_registry", "default", {"uri": REGISTRY_URI}),
        **SHARED,
    },
}
ALIASES = {"local": "har_local", "docker": "har_docker", "k8s": "har_k8s"}
# Stacks registered from their own definitions (credentials, cluster): activated here, never created.
EXTERNAL = {"har_k8s": "scripts/register_k8s_stack.py (see configs/stacks/kubernetes.yaml)"}
NEEDS_DOCKER = {"har_docker"}
# Project flavors: ZenML's BentoML deployer made to serve BentoML 1.4 services (see the module).
CUSTOM_FLAVORS = {"bentoml14": ("mlops.bentoml_flavor.HarBentoMLModelDeployerFlavor",
                                StackComponentType.MODEL_DEPLOYER)}


def ensure_flavors(client: Client) -> None:
    """Register the project's flavors; one registered from an older module path is re-registered from the new one
    (components refer to a flavor by name, so they keep working)."""
    for name, (source, kind) in CUSTOM_FLAVORS.items():
        registered = [f for f in client.get_flavors_by_type(kind) if f.name == name]
        if registered and registered[0].source == source:
            continue
        for flavor in registered:  # only user flavors carry a source of ours; ZenML's own are never touched
            if flavor.is_custom:
                client.delete_flavor(str(flavor.id))
        client.create_flavor(source=source, component_type=kind)


def ensure_component(client: Client, kind: StackComponentType, name: str, flavor: str, config: Dict[str, Any]):
    try:
        component = client.get_stack_component(kind, name)
    except KeyError:
        return client.create_stack_component(name=name, flavor=flavor, component_type=kind, configuration=config)
    if component.flavor_name != flavor:
        raise RuntimeError(
            f"A {kind.value} named '{name}' exists with flavor '{component.flavor_name}', expected '{flavor}'. "
            f"Rename or delete it (zenml {kind.value.replace('_', '-')} delete {name}) and re-run."
        )
    if any(component.configuration.get(k) != v for k, v in config.items()):
        component = client.update_stack_component(name, kind, configuration=config)
    return component


def ensure_stack(stack: str = "local", activate: bool = True) -> str:
    """Create or update the named project stack; returns its full name."""
    name = ALIASES.get(stack, stack)
    if name in EXTERNAL:
        client = Client()
        try:
            client.get_stack(name)
        except KeyError:
            raise SystemExit(f"stack '{name}' is not registered; register it with {EXTERNAL[name]}") from None
        if activate and client.active_stack_model.name != name:
            client.activate_stack(name)
        return name
    if name not in STACKS:
        raise SystemExit(f"unknown stack '{stack}'; choose one of {sorted(ALIASES)}")
    if name in NEEDS_DOCKER:
        from mlops.docker import DockerStackError, check_engine, ensure_registry

        try:
            check_engine()
            ensure_registry()
        except DockerStackError as error:
            raise SystemExit(str(error)) from None
    client = Client()
    ensure_flavors(client)
    components = {
        kind: ensure_component(client, kind, *spec).id for kind, spec in STACKS[name].items()
    }
    try:
        existing = client.get_stack(name)
    except KeyError:
        client.create_stack(name=name, components=components)
    else:
        current = {kind: [c.id for c in comps] for kind, comps in existing.components.items()}
        if current != {kind: [cid] for kind, cid in components.items()}:
            client.update_stack(name, component_updates={
                **{k: [] for k in current if k not in components}, **{k: [v] for k, v in components.items()}})
    if activate and client.active_stack_model.name != name:
        client.activate_stack(name)
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="local", help="Stack to register and activate: local (default) or docker.")
    args = parser.parse_args(argv)
    name = ensure_stack(args.stack)
    print(f"Active ZenML stack: {name}")
    return 0

