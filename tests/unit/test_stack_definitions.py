"""The stack definitions under configs/stacks/ are valid ZenML stack component configurations.

Every component is built with its flavor's real config class (ZenML's, or the project's
`bentoml14`), every run setting with ZenML's settings class, and unknown keys fail at any depth:
ZenML's registration rejects only unknown top-level component keys, and its settings classes
accept any key (a typo under `pod_settings` or `build_options` would be dropped at run time).
Flavors come from ZenML's flavor registry classes, not from a Client: no ZenML store, cluster
or network is touched.
"""

import copy
import importlib.util
import inspect
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple, get_args

import docker
import pytest
import yaml
import zenml
from docker.models.containers import RUN_CREATE_KWARGS, RUN_HOST_CONFIG_KWARGS
from pydantic import BaseModel
from zenml.enums import StackComponentType
from zenml.integrations.kubernetes.flavors.kubernetes_orchestrator_flavor import KubernetesOrchestratorSettings
from zenml.integrations.kubernetes.pod_settings import KubernetesPodSettings
from zenml.integrations.mlflow.flavors.mlflow_experiment_tracker_flavor import is_remote_mlflow_tracking_uri
from zenml.orchestrators.local_docker.local_docker_orchestrator import LocalDockerOrchestratorSettings
from zenml.secret.schemas import BasicAuthSecretSchema
from zenml.stack.flavor import Flavor
from zenml.stack.flavor_registry import FlavorRegistry
from zenml.stack.stack_component import StackComponent
from zenml.utils import pydantic_utils, secret_utils, settings_utils, source_utils

from mlops import kubernetes as register_k8s_stack
from mlops import stacks as setup_stack
from mlops.docker import run_settings

ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = ROOT / "configs" / "stacks"
K8S_STACK = STACKS_DIR / "kubernetes.yaml"
K8S_SETTINGS = STACKS_DIR / "kubernetes" / "settings.yaml"
BENTO_MANIFEST = STACKS_DIR / "kubernetes" / "bento-service.yaml"
# What a user exports before registering (README: "Beyond one machine").
SAMPLE_ENV = {
    "HAR_K8S_CONTEXT": "har-cluster",
    "HAR_S3_BUCKET": "har-artifacts",
    "HAR_MINIO_ENDPOINT": "https://minio.example.com",
    "HAR_REGISTRY_URI": "registry.example.com/har",
    "HAR_MLFLOW_URI": "https://mlflow.example.com",
}
SETTINGS_CLASSES = {**settings_utils.get_general_settings(),
                    "orchestrator.local_docker": LocalDockerOrchestratorSettings,
                    "orchestrator.kubernetes": KubernetesOrchestratorSettings}
# Pod-settings fields that ZenML converts with the `kubernetes` package (a client-side install
# for this stack, not a project dependency).
K8S_MODEL_FIELDS = {field for validator in KubernetesPodSettings.__pydantic_decorators__.field_validators.values()
                    for field in validator.info.fields}
K8S_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")


@pytest.fixture(scope="module")
def flavors() -> Dict[Tuple[str, str], Flavor]:
    """(component type, flavor name) -> flavor: ZenML's built-in and integration flavors + the project's."""
    registry = FlavorRegistry()
    classes = registry.builtin_flavors + registry.integration_flavors
    classes += [source_utils.load(source) for source, _ in setup_stack.CUSTOM_FLAVORS.values()]
    found = {}
    for flavor_class in classes:
        flavor = flavor_class()
        found[(flavor.type.value, str(getattr(flavor.name, "value", flavor.name)))] = flavor
    return found


@pytest.fixture(scope="module")
def k8s_definition() -> Dict[str, Any]:
    return register_k8s_stack.load_definition(K8S_STACK, SAMPLE_ENV)


def unknown_keys(model: type, data: Mapping[str, Any], where: str) -> List[str]:
    """Keys of `data` that the pydantic `model` does not define, recursing into nested models."""
    problems = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            # ZenML's DockerBuildOptions passes extra keys on to docker-py's build call (e.g. `target`)
            if model.__name__ == "DockerBuildOptions" and key in inspect.signature(docker.APIClient.build).parameters:
                continue
            problems.append(f"{where}: unknown key '{key}'")
            continue
        nested = [t for t in (field.annotation, *get_args(field.annotation))
                  if isinstance(t, type) and issubclass(t, BaseModel)]
        if nested and isinstance(value, Mapping):
            problems += unknown_keys(nested[0], value, f"{where}.{key}")
    return problems


def pod_settings(data: Mapping[str, Any]) -> KubernetesPodSettings:
    """ZenML's pod settings; without the `kubernetes` package, its fields are checked here instead."""
    resources = data.get("resources") or {}
    assert set(resources) <= {"requests", "limits", "claims"}, f"pod resources: unknown keys in {sorted(resources)}"
    for part in ("requests", "limits"):
        for name, quantity in (resources.get(part) or {}).items():
            assert K8S_QUANTITY.fullmatch(str(quantity)), f"pod resources: {part}.{name}={quantity!r} is no quantity"
    if importlib.util.find_spec("kubernetes") is not None:
        return KubernetesPodSettings(**data)
    plain = {key: value for key, value in data.items() if key not in K8S_MODEL_FIELDS}
    return KubernetesPodSettings(**plain).model_copy(update={k: v for k, v in data.items() if k in K8S_MODEL_FIELDS})


def build_config(flavor: Flavor, configuration: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]],
                 where: str) -> Tuple[Any, List[str]]:
    """The flavor's config object (or None) and the problems found on the way."""
    config_class = flavor.config_class
    problems = unknown_keys(config_class, configuration, where)
    kwargs = dict(configuration)
    for key, value in configuration.items():
        field = config_class.model_fields.get(key)
        if field is None:
            continue
        if secret_utils.is_secret_field(field) and value is not None and not secret_utils.is_secret_reference(value):
            problems.append(f"{where}.{key}: a credential must be a {{{{secret.key}}}} reference, not a value")
        if secret_utils.is_secret_reference(value):
            reference = secret_utils.parse_secret_reference(value)
            if reference.key not in (secrets.get(reference.name) or {}):
                problems.append(f"{where}.{key}: secret {reference.name}.{reference.key} is not declared in secrets:")
            if pydantic_utils.has_validators(config_class, key):  # ZenML refuses these at registration
                problems.append(f"{where}.{key}: ZenML allows no secret reference on a validated field")
            kwargs[key] = f"stand-in for {reference.name}.{reference.key}"  # what ZenML resolves it to
    try:
        for key in ("pod_settings", "orchestrator_pod_settings"):
            if isinstance(kwargs.get(key), Mapping):
                kwargs[key] = pod_settings(kwargs[key])
        config = config_class(**kwargs)
    except Exception as error:  # pydantic, ZenML (ArtifactStoreInterfaceError) and the checks above
        return None, problems + [f"{where}: {error}"]
    if not config.is_valid:
        problems.append(f"{where}: ZenML reports the configuration invalid")
    return config, problems


def keeps_local_state(flavor: Flavor, config: Any) -> bool:
    """Whether ZenML's Kubernetes orchestrator refuses the component (KubernetesOrchestrator.validator:
    a component with a `local_path` keeps state on the machine that runs it, which a pod is not)."""
    try:
        implementation = flavor.implementation_class
    except ImportError:  # needs integration packages this machine lacks (kubernetes, s3fs): remote flavors
        return False
    if implementation.local_path is StackComponent.local_path:
        return False
    if (flavor.type, flavor.name) == (StackComponentType.EXPERIMENT_TRACKER, "mlflow"):
        return not is_remote_mlflow_tracking_uri(config.tracking_uri or "")
    return True


def stack_problems(definition: Mapping[str, Any], flavors: Mapping[Tuple[str, str], Flavor]) -> List[str]:
    """Everything wrong with a filled `zenml stack import` definition meant for a Kubernetes cluster."""
    problems = [f"top level: unknown key '{key}'" for key in definition
                if key not in {"stack_name", "zenml_version", "components", "secrets"}]
    if definition.get("zenml_version") != zenml.__version__:  # `zenml stack import` refuses other versions
        problems.append(f"zenml_version {definition.get('zenml_version')} != installed {zenml.__version__}")
    secrets = definition.get("secrets") or {}
    components = definition.get("components") or {}
    for required in ("orchestrator", "artifact_store", "container_registry", "image_builder"):
        if required not in components:
            problems.append(f"no {required}: the Kubernetes orchestrator needs one")
    configs = {}
    for kind, entries in components.items():
        if kind not in {t.value for t in StackComponentType}:
            problems.append(f"{kind}: not a ZenML stack component type")
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            where = f"{kind} {entry.get('name')}"
            if entry.get("type", kind) != kind or not entry.get("name"):
                problems.append(f"{where}: needs a name, and type '{kind}' if it gives one")
            flavor = flavors.get((kind, entry.get("flavor")))
            if flavor is None:
                problems.append(f"{where}: ZenML has no {kind} flavor '{entry.get('flavor')}'")
                continue
            config, found = build_config(flavor, entry.get("configuration") or {}, secrets, where)
            problems += found
            if config is None:
                continue
            configs[kind] = config
            if config.is_local:
                problems.append(f"{where}: ZenML marks it local (is_local), unusable from pods")
            if keeps_local_state(flavor, config):
                problems.append(f"{where}: keeps state on the local disk; the Kubernetes orchestrator refuses it")
            if kind == "container_registry" and config.authentication_secret:
                keys = set(secrets.get(config.authentication_secret) or {})
                if keys != set(BasicAuthSecretSchema.model_fields):
                    problems.append(f"{where}: secret {config.authentication_secret} needs keys username, password")
    orchestrator, store = configs.get("orchestrator"), configs.get("artifact_store")
    if orchestrator is not None:
        if getattr(orchestrator, "skip_local_validations", False) or not orchestrator.is_remote:
            problems.append("orchestrator: must run remotely, with ZenML's local-component checks on")
        if not (orchestrator.kubernetes_context or orchestrator.incluster):
            problems.append("orchestrator: needs a kubernetes_context")
    if store is not None and not store.path.startswith("s3://"):
        problems.append(f"artifact_store: path {store.path} is not s3://")
    tracker = configs.get("experiment_tracker")
    if tracker is not None and not re.match(r"https?://", tracker.tracking_uri or ""):
        problems.append(f"experiment_tracker: tracking_uri {tracker.tracking_uri} is not an http(s) server")
    return problems


def settings_problems(settings: Mapping[str, Any], where: str) -> List[str]:
    problems = []
    for key, values in settings.items():
        settings_class = SETTINGS_CLASSES.get(key)
        if settings_class is None or not settings_utils.is_valid_setting_key(key):
            problems.append(f"{where}: no ZenML settings class known for '{key}'")
            continue
        problems += unknown_keys(settings_class, values, f"{where}.{key}")
        try:
            settings_class(**values)
        except ValueError as error:
            problems.append(f"{where}.{key}: {error}")
    return problems


# --- the Kubernetes stack -------------------------------------------------------------------------


def test_k8s_stack_is_valid(k8s_definition, flavors):
    assert stack_problems(k8s_definition, flavors) == []
    assert k8s_definition["stack_name"] == "har_k8s"


def test_k8s_stack_declares_exactly_the_secrets_it_uses(k8s_definition):
    configurations = [entry["configuration"] for entries in k8s_definition["components"].values() for entry in entries]
    used = {secret_utils.parse_secret_reference(value).name for configuration in configurations
            for value in configuration.values() if secret_utils.is_secret_reference(value)}
    used |= {configuration["authentication_secret"] for configuration in configurations
             if "authentication_secret" in configuration}
    assert used == set(k8s_definition["secrets"])
    variables = [v for keys in k8s_definition["secrets"].values() for v in keys.values()]
    assert len(variables) == len(set(variables)) and all(v.startswith("HAR_") for v in variables)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["components"]["orchestrator"][0]["configuration"].update(kubernetes_namespce="x"),
         "unknown key 'kubernetes_namespce'"),
        (lambda d: d["components"]["orchestrator"][0]["configuration"]["pod_settings"].update(resource={}),
         "pod_settings: unknown key 'resource'"),
        (lambda d: d["components"]["orchestrator"][0]["configuration"]["pod_settings"]["resources"]["requests"]
         .update(memory="2 GB"), "no quantity"),
        (lambda d: d["components"]["orchestrator"][0]["configuration"].update(skip_local_validations=True),
         "local-component checks"),
        (lambda d: d["components"]["orchestrator"][0].update(flavor="kubernetez"), "no orchestrator flavor"),
        (lambda d: d["components"].update(artifact_store=[{"name": "default", "flavor": "local", "configuration": {}}]),
         "keeps state on the local disk"),
        (lambda d: d["components"]["artifact_store"][0]["configuration"].update(path="/data/zenml"), "s3://"),
        (lambda d: d["components"]["artifact_store"][0]["configuration"].update(key="AKIA-plain"),
         "must be a {{secret.key}} reference"),
        (lambda d: d["components"]["artifact_store"][0]["configuration"]["client_kwargs"]
         .update(endpoint_url="minio:9000"), "endpoint url"),
        (lambda d: d["components"]["experiment_tracker"][0]["configuration"].update(tracking_uri="file:/tmp/mlruns"),
         "not an http(s) server"),
        (lambda d: d["components"]["experiment_tracker"][0]["configuration"]
         .update(tracking_password="{{har_mlflow_secret.passwd}}"), "har_mlflow_secret.passwd is not declared"),
        (lambda d: d["components"]["container_registry"][0]["configuration"].update(uri="localhost:5000"),
         "is_local"),
        (lambda d: d["components"].update(model_deployer=[{"name": "har_bentoml", "flavor": "bentoml14",
                                                           "configuration": {}}]),
         "keeps state on the local disk"),
        (lambda d: d["components"].pop("container_registry"), "no container_registry"),
        (lambda d: d.update(zenml_version="0.97.0"), "zenml_version"),
    ],
)
def test_broken_k8s_stacks_are_rejected(k8s_definition, flavors, mutate, message):
    broken = copy.deepcopy(k8s_definition)
    mutate(broken)
    problems = stack_problems(broken, flavors)
    assert any(message in problem for problem in problems), problems


# --- the registration script ----------------------------------------------------------------------


def test_register_script_fills_every_placeholder(k8s_definition, monkeypatch, capsys):
    assert "${" not in yaml.safe_dump(register_k8s_stack.import_format(k8s_definition))
    for name, value in SAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    assert register_k8s_stack.main(["--print"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == register_k8s_stack.import_format(k8s_definition) and "secrets" not in printed


def test_register_script_names_what_is_missing(k8s_definition):
    with pytest.raises(register_k8s_stack.StackDefinitionError, match="HAR_MLFLOW_URI"):
        register_k8s_stack.load_definition(K8S_STACK, {k: v for k, v in SAMPLE_ENV.items() if k != "HAR_MLFLOW_URI"})
    with pytest.raises(register_k8s_stack.StackDefinitionError, match="HAR_MINIO_SECRET_KEY"):
        register_k8s_stack.secret_values(k8s_definition, {"HAR_MINIO_ACCESS_KEY": "minio"})
    values = {v: f"value-of-{v}" for keys in k8s_definition["secrets"].values() for v in keys.values()}
    assert register_k8s_stack.secret_values(k8s_definition, values)["har_minio_secret"] == {
        "aws_access_key_id": "value-of-HAR_MINIO_ACCESS_KEY", "aws_secret_access_key": "value-of-HAR_MINIO_SECRET_KEY"}


# --- run settings ---------------------------------------------------------------------------------


def test_docker_stack_settings_are_valid(tmp_path):
    raw = yaml.safe_load((STACKS_DIR / "docker.yaml").read_text())["settings"]
    assert raw["docker"]["parent_image_build_config"]["build_options"]["build_args"] == {}  # filled at run time
    filled = run_settings("python:3.11-slim", mounts=[tmp_path / "out"], read_only=[tmp_path / "data"],
                          docker_socket=True)
    for where, settings in (("docker.yaml", raw), ("run_settings()", filled)):
        assert settings_problems(settings, where) == []
        accepted = {*RUN_CREATE_KWARGS, *RUN_HOST_CONFIG_KWARGS, "volumes"}  # what containers.run() takes
        assert set(settings["orchestrator.local_docker"]["run_args"]) <= accepted


def test_k8s_run_settings_are_valid():
    settings = yaml.safe_load(K8S_SETTINGS.read_text())["settings"]
    assert settings_problems(settings, "kubernetes/settings.yaml") == []
    unpinned = [r for r in settings["docker"]["requirements"] if not re.fullmatch(r"[\w.-]+==[\w.]+", r)]
    assert unpinned == [], "pin every extra requirement exactly, as requirements.txt does"
    requirements = dict(r.lower().split("==") for r in settings["docker"]["requirements"])
    pins = {name.lower(): version for name, version in
            (line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)}
    assert requirements["s3fs"] == pins["fsspec"], "s3fs pins fsspec to its own version"
    assert set(requirements) & set(pins) == set(), "already in the parent image: do not install it twice"


def test_setup_stack_uses_existing_flavors(flavors):
    for stack, components in setup_stack.STACKS.items():
        for kind, (name, flavor_name, configuration) in components.items():
            flavor = flavors.get((kind.value, flavor_name))
            assert flavor is not None, f"{stack}: ZenML has no {kind.value} flavor '{flavor_name}'"
            _, problems = build_config(flavor, configuration, {}, f"{stack} {kind.value} {name}")
            assert problems == []
    for name, (_, kind) in setup_stack.CUSTOM_FLAVORS.items():
        assert flavors[(kind.value, name)].type == kind


# --- the BentoML service manifest -----------------------------------------------------------------


def test_bento_manifest_runs_the_bento_image(k8s_definition):
    from bentoml._internal.container.generate import BENTO_UID_GID

    documents = {d["kind"]: d for d in yaml.safe_load_all(BENTO_MANIFEST.read_text())}
    assert set(documents) == {"Deployment", "Service"}
    deployment, service = documents["Deployment"], documents["Service"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "${HAR_BENTO_IMAGE}" and "command" not in container  # the image's entrypoint
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 3000}  # `bentoml serve`'s port in BentoML's image
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] in {"/livez", "/readyz"}  # BentoML's endpoints
        assert container[probe]["httpGet"]["port"] == "http"
    assert pod["spec"]["securityContext"]["runAsUser"] == BENTO_UID_GID
    orchestrator = k8s_definition["components"]["orchestrator"][0]["configuration"]
    assert {deployment["metadata"]["namespace"], service["metadata"]["namespace"]} == {
        orchestrator["kubernetes_namespace"]}
    assert [s["name"] for s in pod["spec"]["imagePullSecrets"]] == orchestrator["pod_settings"]["image_pull_secrets"]
