"""Register the Kubernetes stack `har_k8s` from configs/stacks/kubernetes.yaml and activate it.

Usage:
    python scripts/register_k8s_stack.py [--file PATH] [--no-activate]
    python scripts/register_k8s_stack.py --print > har_k8s.yaml    # for `zenml stack import`

The YAML is in ZenML's `zenml stack import` format. On top of that importer, this script
- fills the `${NAME}` placeholders from the environment (a missing variable is an error naming it);
- creates or updates the ZenML secrets listed under `secrets:` from environment variables, so no
  credential is ever written to a file;
- is idempotent like scripts/setup_stack.py: components are kept, or updated when their
  configuration differs, never prompted for.

Pipelines on the stack need a ZenML server that the cluster reaches (`zenml login <url>` first)
and, on this machine, the Python packages of the stack's integrations (README: "Beyond one machine").
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping

import yaml

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
ROOT = Path(__file__).resolve().parents[1]
DEFINITION = ROOT / "configs" / "stacks" / "kubernetes.yaml"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Client-side packages of the stack's integrations (kubernetes: the orchestrator submits pods and
# validates pod settings with it; s3fs + boto3: ZenML's S3 artifact store).
CLIENT_PACKAGES = {"kubernetes": "kubernetes==25.3.0", "s3fs": "s3fs==2026.9.0", "boto3": "boto3==1.43.117"}


class StackDefinitionError(RuntimeError):
    """The definition cannot be registered as it is; the message says what to do."""


def fill_placeholders(value: Any, environ: Mapping[str, str], missing: List[str] | None = None) -> Any:
    """`value` with every `${NAME}` in its strings replaced by `environ[NAME]`; unset names go to `missing`."""
    missing = [] if missing is None else missing
    if isinstance(value, dict):
        return {key: fill_placeholders(item, environ, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(item, environ, missing) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if not environ.get(name):
            missing.append(name)
            return match.group(0)
        return environ[name]

    return PLACEHOLDER.sub(substitute, value)


def load_definition(path: Path = DEFINITION, environ: Mapping[str, str] = os.environ) -> Dict[str, Any]:
    """The stack definition with its placeholders filled; StackDefinitionError names any unset variable."""
    definition = yaml.safe_load(Path(path).read_text())
    missing: List[str] = []
    filled = {key: value if key == "secrets" else fill_placeholders(value, environ, missing)
              for key, value in definition.items()}
    if missing:
        raise StackDefinitionError(f"{path}: set the environment variable(s) {', '.join(sorted(set(missing)))} "
                                   "(README: 'Beyond one machine')")
    return filled


def secret_values(definition: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Dict[str, Dict[str, str]]:
    """Secret name -> key -> value, read from the environment variables named under `secrets:`."""
    values: Dict[str, Dict[str, str]] = {}
    missing = []
    for secret, keys in (definition.get("secrets") or {}).items():
        values[secret] = {}
        for key, variable in keys.items():
            if environ.get(variable):
                values[secret][key] = environ[variable]
            else:
                missing.append(variable)
    if missing:
        raise StackDefinitionError(f"set the environment variable(s) {', '.join(missing)} (values of ZenML secrets)")
    return values


def import_format(definition: Mapping[str, Any]) -> Dict[str, Any]:
    """Exactly what `zenml stack import` reads: the definition without the project's `secrets:`."""
    return {key: copy.deepcopy(value) for key, value in definition.items() if key != "secrets"}


def check_client_packages() -> None:
    missing = [spec for module, spec in CLIENT_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise StackDefinitionError(
            "this machine lacks the Python packages of the stack's integrations; install them with\n"
            f"  .venv/bin/pip install -c constraints.txt {' '.join(missing)}")


def ensure_secret(client: Any, name: str, values: Dict[str, str]) -> None:
    try:
        existing = client.get_secret(name, allow_partial_name_match=False, allow_partial_id_match=False)
    except KeyError:
        client.create_secret(name=name, values=values)
        return
    if existing.secret_values != values:
        client.update_secret(name, add_or_update_values=values)


def register(definition: Mapping[str, Any], secrets: Mapping[str, Dict[str, str]], activate: bool = True) -> str:
    """Create or update the secrets, components and stack of a filled definition; returns the stack name."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.logger import get_logger

    from mlops.stacks import ensure_component

    client = Client()
    if client.zen_store.is_local_store():
        get_logger(__name__).warning(
            "Connected to a local ZenML store: pipelines on %s need a ZenML server the cluster can reach "
            "(`zenml login <url>`, then run this script again).", definition["stack_name"])
    for name, values in secrets.items():
        ensure_secret(client, name, values)
    components = {}
    for kind_name, entries in definition["components"].items():
        kind = StackComponentType(kind_name)
        entries = entries if isinstance(entries, list) else [entries]
        components[kind] = [ensure_component(client, kind, entry["name"], entry["flavor"],
                                             entry.get("configuration") or {}).id for entry in entries]
    name = definition["stack_name"]
    try:
        existing = client.get_stack(name, allow_name_prefix_match=False)
    except KeyError:
        client.create_stack(name=name, components=components)
    else:
        current = {kind: [c.id for c in comps] for kind, comps in existing.components.items()}
        if current != components:
            client.update_stack(name, component_updates={**{kind: [] for kind in current if kind not in components},
                                                         **components})
    if activate and client.active_stack_model.name != name:
        client.activate_stack(name)
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=DEFINITION, help="Stack definition (default: %(default)s).")
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="Print the filled definition in `zenml stack import` format and exit (no secrets).")
    parser.add_argument("--no-activate", action="store_true", help="Register without activating the stack.")
    args = parser.parse_args(argv)
    try:
        definition = load_definition(args.file)
        if args.print_only:
            print(yaml.safe_dump(import_format(definition), sort_keys=False), end="")
            return 0
        check_client_packages()
        name = register(definition, secret_values(definition), activate=not args.no_activate)
    except StackDefinitionError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{'Registered' if args.no_activate else 'Active ZenML stack:'} {name}")
    return 0

