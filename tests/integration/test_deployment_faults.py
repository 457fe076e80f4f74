"""Deployments under faults, with real processes: newer model versions, failed runs, kill -9, stop.

A model of its own (`MODEL`) on a free port, so the other deployment tests' model and
port are never touched. The tests run in file order and share one deployment.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
import yaml
from zenml.client import Client

from mlops.deployments import find_deployments, marked_processes, port_is_free
from tests.integration.conftest import ROOT, run_cli
from tests.integration.test_deployment import STILL, _free_port

pytestmark = pytest.mark.integration
MODEL = "har-faults-model"


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def _train(config, data_dir) -> subprocess.CompletedProcess:
    return run_cli("--pipeline", "train", "--model", MODEL, "--config", str(config), "--data-dir", str(data_dir),
                   "--no-cache")


def _predicts(url: str) -> bool:
    try:
        response = httpx.post(url + "/predict", json={"windows": [STILL]}, timeout=30)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and len(response.json()["predictions"]) == 1


def _service():
    services = find_deployments(MODEL)
    assert len(services) == 1, [str(s.uuid) for s in services]
    return services[0]


def _versions() -> list:
    return Client().list_model_versions(model=MODEL, size=100).items


@pytest.fixture(scope="module")
def setup(tiny_data, tiny_config, tmp_path_factory):
    _ok(_train(tiny_config, tiny_data))
    port = _free_port()
    config = yaml.safe_load((ROOT / "configs" / "deploy.yaml").read_text())
    config["steps"]["deploy_model"]["parameters"]["port"] = port
    deploy_config = tmp_path_factory.mktemp("faults") / "deploy.yaml"
    deploy_config.write_text(yaml.safe_dump(config))
    bad = tmp_path_factory.mktemp("faults-bad") / "data"
    shutil.copytree(tiny_data, bad)
    labels = sorted(bad.glob("*/labels.csv"))[0]
    labels.write_text(labels.read_text().replace(",walking\n", ",walkng\n"))  # a typo'd activity
    state = {"port": port, "url": f"http://127.0.0.1:{port}", "deploy_config": deploy_config, "bad": bad,
             "tiny_config": tiny_config, "tiny_data": tiny_data}
    yield state
    run_cli("--stop-deployments", "--model", MODEL)


def _deploy(setup) -> str:
    return _ok(run_cli("--pipeline", "deploy", "--model", MODEL, "--config", str(setup["deploy_config"])))


def _production_number() -> str:
    return str(Client().get_model_version(MODEL, "production").number)


def test_deployment_stays_visible_and_manageable_after_newer_versions(setup):
    _deploy(setup)
    assert _predicts(setup["url"])
    deployed = _production_number()
    _ok(_train(setup["tiny_config"], setup["tiny_data"]))  # a newer version (promoted or not)
    failed = _train(setup["tiny_config"], setup["bad"])  # fails in the pipeline, after its version was created
    assert failed.returncode == 3, failed.stdout[-2000:] + failed.stderr[-2000:]

    listed = _ok(run_cli("--list-deployments", "--model", MODEL))
    assert f"version {deployed}  running" in listed, listed
    assert "No deployments" not in listed
    # the failed run's empty version is gone (housekeeping at the start of that command)
    assert all(v.stage or v.get_artifact("trained_model") is not None for v in _versions())

    out = _deploy(setup)  # redeploy: the old deployment is found and replaced, not "port still in use"
    assert "still in use" not in out
    info = httpx.post(setup["url"] + "/model_info", json={}, timeout=30).json()
    assert info["model_version"] == _production_number()
    assert len(find_deployments(MODEL)) == 1


def test_killed_daemon_is_listed_dead_and_deploy_restores(setup):
    service = _service()
    daemon = service.status.pid
    workers = set(marked_processes(str(service.uuid))) - {daemon}
    assert daemon and workers
    os.kill(daemon, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(daemon)], timeout=10)

    listed = _ok(run_cli("--list-deployments", "--model", MODEL))
    assert "dead" in listed and f"--pipeline deploy --model {MODEL}" in listed, listed

    _deploy(setup)  # the one documented recovery command
    assert _predicts(setup["url"])
    assert not any(psutil.pid_exists(pid) for pid in workers), "the orphaned worker survived the redeploy"


def test_killed_worker_then_deploy_restores(setup):
    service = _service()
    workers = set(marked_processes(str(service.uuid))) - {service.status.pid}
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    _deploy(setup)
    assert _predicts(setup["url"])


def test_stop_ends_every_process_and_frees_the_port(setup):
    service = _service()
    pids = set(marked_processes(str(service.uuid))) | {service.status.pid}
    out = _ok(run_cli("--stop-deployments", "--model", MODEL))
    assert "Stopped 1 deployment(s)" in out
    assert port_is_free("127.0.0.1", setup["port"])
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert "No deployments" in _ok(run_cli("--list-deployments", "--model", MODEL))


def test_killed_training_run_is_marked_failed_and_its_empty_version_removed(setup):
    before = {str(v.id) for v in _versions()}
    process = subprocess.Popen(
        [sys.executable, "run.py", "--pipeline", "train", "--model", MODEL, "--config", str(setup["tiny_config"]),
         "--data-dir", str(setup["tiny_data"]), "--no-cache"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 300
    for line in process.stdout:  # kill -9 in the middle of training
        if "train_model" in line and "has started" in line or time.monotonic() > deadline:
            break
    process.kill()
    process.wait(30)
    run = Client().get_pipeline("training_pipeline").runs[0]
    assert run.status.value == "running"  # what ZenML alone would show forever

    out = _ok(run_cli("--list-deployments", "--model", MODEL))
    assert "Marked 1 run(s) failed" in out, out
    assert Client().get_pipeline_run(run.id).status.value == "failed"
    assert f"{MODEL}:" in out and "empty model version" in out, out
    assert {str(v.id) for v in _versions()} == before
