"""Roll production back to the version before it, and tell whether a deployment lags behind production.

`promote_model` records on every version it promotes which version was
production before (`previous_production_version` metadata). `rollback` sets
that version back to stage production (the Model Control Plane moves the
current one to `archived`) and says what the deployment pipeline will deploy:
the version's Bento from BentoML's store, or, when that is gone, a Bento rebuilt
from the version's artifacts. A CLI dispatch is five lines:

    if rollback_flag:  # run.py --pipeline deploy --rollback
        click.echo(rollback(model_name).message)
    production = production_version(model_name)  # now the restored version
    return run_deploy(pipeline, run_config, production, dataset, started)

Redeploying is lossless behind the model's proxy (`steps/deployment/deploy_model.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List

PREVIOUS_KEY = "previous_production_version"
STAGE = "production"


class RollbackError(RuntimeError):
    """No version to roll back to, or it cannot be served (its model artifacts are gone)."""


@dataclass
class RollbackResult:
    model_name: str
    from_version: str  # the version that was production
    to_version: str  # the version that is production now
    bentoml_model_tag: str  # <model>:zenml-v<version> in BentoML's model store
    bento_tags: List[str]  # Bentos of that model in BentoML's store (newest first); empty: rebuilt on deploy
    bento_available: bool

    @property
    def message(self) -> str:
        head = (f"Rolled back {self.model_name}: version {self.to_version} is production again "
                f"(version {self.from_version} archived).")
        if self.bento_available:
            return f"{head} Its Bento {self.bento_tags[0]} is in BentoML's store; deploying it."
        return (f"{head} Version {self.to_version}'s Bento / BentoML model ({self.bentoml_model_tag}) is GONE from "
                "BentoML's store: the deployment pipeline rebuilds it from the version's artifacts "
                "(its trained model, serving config and ONNX export) before deploying.")


def _previous_of(version: Any) -> str | None:
    metadata = version.run_metadata
    previous = metadata.get(PREVIOUS_KEY)
    if previous is None:  # versions promoted before the key existed: the promotion decision names it
        previous = (metadata.get("promotion") or {}).get("previous_version")
    previous = str(previous) if previous is not None else None
    return None if previous in (None, "", "none", str(version.number), str(version.name)) else previous


def previous_production_version(model_name: str) -> str | None:
    """The version that was production before the current production version (its number), or None."""
    from zenml.client import Client

    try:
        production = Client().get_model_version(model_name, STAGE)
    except KeyError:
        return None
    return _previous_of(production)


def bentos_of(model_name: str, version: str) -> tuple[str, List[str]]:
    """(BentoML model tag, tags of the Bentos built around it) of a model version, as far as the store has them."""
    import bentoml

    from mlops.bento import SERVICE_NAME, bentoml_version_tag

    model_tag = bentoml_version_tag(model_name, version)
    try:
        bentoml.models.get(model_tag)
    except bentoml.exceptions.NotFound:
        return model_tag, []
    try:
        stored = bentoml.bentos.list(SERVICE_NAME)
    except bentoml.exceptions.NotFound:
        stored = []
    bentos = [bento for bento in stored if bento.info.labels.get("model_tag") == model_tag]
    bentos.sort(key=lambda bento: bento.info.creation_time, reverse=True)
    return model_tag, [str(bento.tag) for bento in bentos]


def rollback(model_name: str) -> RollbackResult:
    """Make the version that was production before the current one production again (force).

    Raises `RollbackError` when there is no production version, no recorded previous one, or the previous
    version's trained model is gone (nothing to rebuild a Bento from).
    """
    from zenml import log_metadata
    from zenml.client import Client

    client = Client()
    try:
        production = client.get_model_version(model_name, STAGE)
    except KeyError:
        raise RollbackError(f"model '{model_name}' has no production version: nothing to roll back") from None
    previous = _previous_of(production)
    if previous is None:
        raise RollbackError(f"{model_name} version {production.number} is production and no version was "
                            "production before it (recorded at promotion): nothing to roll back to")
    try:
        target = client.get_model_version(model_name, previous)
    except KeyError:
        raise RollbackError(f"{model_name} version {previous}, production before version {production.number}, "
                            "no longer exists") from None
    if target.get_artifact("trained_model") is None:
        raise RollbackError(f"{model_name} version {previous} has no trained_model artifact any more; it cannot "
                            "be served again")
    target.set_stage(STAGE, force=True)
    log_metadata(metadata={"rolled_back_from": str(production.number)}, model_name=model_name,
                 model_version=str(target.number))
    model_tag, bentos = bentos_of(model_name, str(target.number))
    result = RollbackResult(model_name=model_name, from_version=str(production.number),
                            to_version=str(target.number), bentoml_model_tag=model_tag, bento_tags=bentos,
                            bento_available=bool(bentos))
    return result


def redeploy_needed(model_name: str) -> bool:
    """Whether a running deployment of the model serves another version than production (then redeploy)."""
    from zenml.client import Client

    from mlops.deployments import list_deployments

    try:
        production = str(Client().get_model_version(model_name, STAGE).number)
    except KeyError:
        return False
    running = [row for row in list_deployments(model_name=model_name) if row["running"]]
    return bool(running) and any(row["model_version"] != production for row in running)
