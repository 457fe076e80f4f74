"""Blue/green redeploy behind the model's nginx and rollback, for real: BentoML servers, nginx, HTTP under load.

A model of its own (`MODEL`) whose two versions are made of the session's trained production version's
artifacts (no extra training): what a deployment serves is told apart by the version number it reports.
The tests run in file order and share the deployment.
"""

import threading
import time
from dataclasses import replace

import bentoml
import httpx
import pytest
import yaml
from zenml import save_artifact
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.model.utils import link_artifact_version_to_model_version

from mlops import proxy, rollout
from mlops.bento import bentoml_version_tag
from tests.integration.conftest import ROOT, run_cli
from tests.integration.test_deployment import STILL, _free_port

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(proxy.nginx_binary() is None,
                                 reason="NGINX NOT AVAILABLE: `make proxy-deps` (Debian nginx-light)")]
MODEL = "har-redeploy-model"
SOURCE = "har-activity-classifier"


def _ok(result) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _new_version(source, previous: str | None) -> str:
    """A version of MODEL holding `source`'s artifacts and data settings, promoted as promote_model does."""
    from zenml import log_metadata

    client = Client()
    version = client.create_model_version(MODEL)
    for link in client.list_model_version_artifact_links(model_version_id=source.id, size=1000).items:
        if link.artifact_version.artifact.name != "serving_config":
            link_artifact_version_to_model_version(link.artifact_version, version)
    if source.get_artifact("serving_config") is not None:  # the serving contract names its model and version
        import materializers  # noqa: F401 - registers the project's materializers

        contract = replace(source.get_artifact("serving_config").load(), model_name=MODEL,
                           model_version=str(version.number))
        link_artifact_version_to_model_version(save_artifact(contract, name="serving_config"), version)
    log_metadata(metadata={**{key: source.run_metadata[key] for key in ("data_config",) if key in source.run_metadata},
                           "previous_production_version": previous or "none"},
                 model_version_id=version.id)
    version.set_stage(ModelStages.PRODUCTION, force=True)
    return str(version.number)


@pytest.fixture(scope="module")
def setup(trained_run, tmp_path_factory):
    source = Client().get_model_version(SOURCE, ModelStages.PRODUCTION)
    Client().create_model(MODEL)
    port = _free_port()
    config = yaml.safe_load((ROOT / "configs" / "deploy.yaml").read_text())
    config["steps"]["deploy_model"]["parameters"]["port"] = port
    path = tmp_path_factory.mktemp("redeploy") / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    state = {"source": source, "port": port, "url": f"http://127.0.0.1:{port}", "config": path,
             "a": _new_version(source, None)}
    yield state
    run_cli("--stop-deployments", "--model", MODEL)


def _deploy(setup) -> str:
    return _ok(run_cli("--pipeline", "deploy", "--model", MODEL, "--config", str(setup["config"])))


def _served_version(url: str) -> str:
    return httpx.post(url + "/model_info", json={}, timeout=30).json()["model_version"]


class Load:
    """Client threads posting /predict with a valid window until stopped; every failure is kept."""

    def __init__(self, url: str, clients: int = 4):
        self.url, self.stop, self.answers, self.errors = url, threading.Event(), [], []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    response = client.post(self.url + "/predict", json={"windows": [STILL]})
                    if response.status_code == 200:
                        self.answers.append((sent, response.json()["predictions"][0]["model_version"]))
                    else:
                        self.errors.append(f"{response.status_code} {response.text[:300]}")
                except httpx.HTTPError as error:
                    self.errors.append(repr(error))
                time.sleep(0.01)  # leave the 2 cores to the deploy as well

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        time.sleep(1.0)  # load from before the swap
        return self

    def __exit__(self, *exc):
        time.sleep(1.0)  # ... until after it
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def _swap_metadata() -> dict:
    run = Client().get_pipeline("deployment_pipeline").runs[0]
    metadata = run.steps["deploy_model"].outputs["bentoml_deployment"][0].run_metadata
    return {key: metadata.get(key) for key in ("proxy_reload_seconds", "proxy_drain_seconds", "swap_seconds",
                                               "swap_requests", "swap_failed_requests", "server_port",
                                               "behind_proxy")}


def test_promotion_records_the_previous_production_version(trained_run):
    production = Client().get_model_version(SOURCE, ModelStages.PRODUCTION)
    assert "previous_production_version" in production.run_metadata  # "none" for the first, else a number


def test_first_deploy_starts_the_proxy_on_the_public_port(setup):
    _deploy(setup)
    assert _served_version(setup["url"]) == setup["a"]
    status = proxy.status(MODEL)
    assert status.running and status.public_port == setup["port"] and status.upstream_port != setup["port"]
    listed = _ok(run_cli("--list-deployments", "--model", MODEL))
    assert f"version {setup['a']}  running" in listed and f"{setup['url']}/" in listed
    assert str(status.upstream_port) in listed, listed


def test_redeploy_under_load_changes_the_version_without_a_failed_request(setup):
    old_server = proxy.status(MODEL).upstream_port
    setup["b"] = _new_version(setup["source"], setup["a"])
    with Load(setup["url"]) as load:
        started = time.monotonic()
        _deploy(setup)
        deployed = time.monotonic()
    figures = _swap_metadata()
    print(f"\nredeploy {setup['a']} -> {setup['b']}: {len(load.answers)} requests in {deployed - started:.1f} s of "
          f"deploy, {len(load.errors)} failed; swap {figures}")
    assert load.errors == []
    answers = sorted(load.answers)  # by the time each request was sent
    assert answers[0][1] == setup["a"] and answers[-1][1] == setup["b"]
    last_old = max(sent for sent, version in answers if version == setup["a"])
    first_new = min(sent for sent, version in answers if version == setup["b"])
    print(f"requests to both versions were sent within {max(0.0, last_old - first_new) * 1000:.0f} ms")
    assert last_old < first_new + 0.5  # one switch: no request goes to the old server after the new one answered
    assert figures["behind_proxy"] and figures["swap_failed_requests"] == 0 and figures["swap_requests"] > 0
    assert _served_version(setup["url"]) == setup["b"]
    assert proxy.status(MODEL).upstream_port not in (old_server, setup["port"])
    assert len([row for row in _ok(run_cli("--list-deployments", "--model", MODEL)).splitlines()
                if "  running" in row]) == 1  # the old deployment was stopped


def test_rollback_restores_the_previous_version_and_says_when_its_bento_is_gone(setup):
    assert rollout.previous_production_version(MODEL) == setup["a"]
    model_tag = bentoml_version_tag(MODEL, setup["a"])
    _, bentos = rollout.bentos_of(MODEL, setup["a"])
    assert bentos  # built by the first deploy
    for tag in bentos:
        bentoml.bentos.delete(tag)
    bentoml.models.delete(model_tag)

    with Load(setup["url"]) as load:  # the documented command: restore the previous version, then deploy it
        out = _ok(run_cli("--pipeline", "deploy", "--rollback", "--model", MODEL, "--config", str(setup["config"])))
    assert (f"Rolled back {MODEL}: version {setup['a']} is production again (version {setup['b']} archived)"
            in out), out
    assert f"({model_tag}) is GONE from BentoML's store" in out and "rebuilds it" in out
    assert str(Client().get_model_version(MODEL, ModelStages.PRODUCTION).number) == setup["a"]
    assert Client().get_model_version(MODEL, setup["b"]).stage == "archived"
    print(f"\nrollback redeploy -> {setup['a']}: {len(load.answers)} requests, {len(load.errors)} failed; "
          f"swap {_swap_metadata()}")
    assert load.errors == []
    assert _served_version(setup["url"]) == setup["a"]
    assert rollout.bentos_of(MODEL, setup["a"])[1]  # rebuilt
    assert not rollout.redeploy_needed(MODEL)
    assert rollout.previous_production_version(MODEL) is None  # version 1 was the first production version
    nothing = run_cli("--pipeline", "deploy", "--rollback", "--model", MODEL, "--config", str(setup["config"]))
    assert nothing.returncode == 6 and "nothing to roll back to" in nothing.stderr, nothing.stderr


def test_killed_server_answers_502_in_the_error_shape_and_redeploy_restores(setup):
    import os
    import signal

    from mlops.deployments import find_deployments, marked_processes

    service = find_deployments(MODEL)[0]
    for pid in set(marked_processes(str(service.uuid))) | {service.status.pid}:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    down = httpx.post(setup["url"] + "/predict", json={"windows": [STILL]}, timeout=30)
    assert down.status_code == 502 and set(down.json()) == {"error", "status"}, down.text
    _deploy(setup)
    assert _served_version(setup["url"]) == setup["a"]

    assert "Stopped 1 deployment" in _ok(run_cli("--stop-deployments", "--model", MODEL))
    assert proxy.status(MODEL) is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(setup["url"] + "/readyz", timeout=5)
