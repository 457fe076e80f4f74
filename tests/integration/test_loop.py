"""The whole loop on tiny data, for real: `make loop-demo`'s code with the tiny training config.

train -> deploy (serving log on) -> unshifted and shifted traffic -> monitoring on the log flags the shifted
phase -> retraining on the shifted people's labelled recordings -> promotion -> redeploy behind the same URL
while a client keeps sending -> rollback restores the previous version.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import httpx
import pytest
from zenml.client import Client

from tests.integration.conftest import ROOT, run_cli

pytestmark = pytest.mark.integration
MODEL = "har-loop-demo"  # the demo's own model (mlops.loop_demo.DEMO_MODEL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def loop(trained_run, tiny_data, tiny_config, tmp_path_factory):
    port = _free_port()
    work = tmp_path_factory.mktemp("loop")
    # A 3-epoch model on 5 people cannot be relied on to beat another one: promotion's margin is opened here,
    # the default (configs/retrain.yaml) is what make loop-demo uses.
    result = subprocess.run(
        [sys.executable, "scripts/loop_demo.py", "--train-config", str(tiny_config), "--data-dir", str(tiny_data),
         "--port", str(port), "--new-subjects", "2", "--min-improvement", "-1", "--work-dir", str(work),
         "--keep-serving"],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    yield {"result": result, "url": f"http://127.0.0.1:{port}", "port": port}
    run_cli("--stop-deployments", "--model", MODEL)


def test_loop_closes_with_a_new_served_version_and_no_failed_request(loop):
    result = loop["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    out = result.stdout
    assert "unshifted traffic" in out and "shifted traffic" in out and "(flagged)" in out
    before, after = out.split("Served model_version before: ")[-1].split("\n")[0].split(", after: ")
    assert before != after
    assert ", 0 failed" in out
    served = httpx.post(loop["url"] + "/model_info", json={}, timeout=30).json()["model_version"]
    assert served == after == str(Client().get_model_version(MODEL, "production").number)


def test_retraining_run_is_linked_to_the_data_and_versions_it_came_from(loop):
    run = Client().list_pipeline_runs(pipeline_name="retraining_pipeline", sort_by="desc:created", size=1).items[0]
    merge = run.steps["merge_recordings"]
    inputs = {name: artifacts[0] for name, artifacts in merge.inputs.items()}
    assert inputs["production_data"].producer_pipeline_run_id != run.id  # the production version's recordings
    decision = run.steps["decide_retraining"].run_metadata["reason"]
    assert "drift detected" in decision
    assert run.model_version is not None and str(run.model_version.number) == loop["result"].stdout.split(
        ", after: ")[-1].split("\n")[0]


def test_rollback_restores_the_previous_version(loop):
    before = loop["result"].stdout.split("Served model_version before: ")[-1].split(",")[0].strip()
    config = loop["result"].stdout  # the demo's work folder holds the deploy config with the port
    work = config.split("(work folder ")[-1].split(")")[0]
    result = run_cli("--pipeline", "deploy", "--rollback", "--model", MODEL, "--config", f"{work}/deploy.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    served = httpx.post(loop["url"] + "/model_info", json={}, timeout=30).json()["model_version"]
    assert served == before == str(Client().get_model_version(MODEL, "production").number)
