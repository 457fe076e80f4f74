"""The same training and deployment pipelines on the `docker` stack, in containers.

Real Docker: ZenML builds the step image from the project's Dockerfile (target
`runtime`: dependencies, no code) and pushes it to the stack's local registry; its
local Docker orchestrator runs a dynamic pipeline (training) in one container and a
static one with one container per step; the code comes from the artifact store; a
second run reuses the build; the deployment pipeline starts BentoML's container image. Needs a Docker engine; `.ci/run`
installs and starts one (scripts/docker_engine.sh). Without one these tests
are skipped with a banner in the summary (tests/conftest.py), never passed.
"""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import yaml

from tests.integration.conftest import ROOT, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.docker]

MODEL = "har-docker-test-classifier"  # its own model, so the local-stack tests' production version is untouched
PORT = 3317


@pytest.fixture(scope="module")
def docker_engine():
    from mlops.docker import DockerStackError, check_engine, docker_client

    try:
        check_engine()
    except DockerStackError as error:
        pytest.skip(f"DOCKER ENGINE NOT AVAILABLE - the docker stack was NOT tested: {error}")
    return docker_client()


@pytest.fixture(scope="module")
def docker_configs(tmp_path_factory, tiny_config):
    folder = tmp_path_factory.mktemp("docker-configs")
    train = yaml.safe_load(tiny_config.read_text())
    deploy = yaml.safe_load((ROOT / "configs" / "deploy.yaml").read_text())
    deploy["steps"]["deploy_model"]["parameters"]["port"] = PORT
    paths = {"train": folder / "train.yaml", "deploy": folder / "deploy.yaml"}
    paths["train"].write_text(yaml.safe_dump(train))
    paths["deploy"].write_text(yaml.safe_dump(deploy))
    return paths


@pytest.fixture(scope="module")
def docker_run(docker_engine, docker_configs, tiny_data):
    """One real training run on the docker stack; the local stack is active again afterwards."""
    from zenml.client import Client

    result = run_cli("--pipeline", "train", "--stack", "docker", "--model", MODEL,
                     "--config", str(docker_configs["train"]), "--data-dir", str(tiny_data), "--no-cache", timeout=2400)
    try:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "Active ZenML stack: har_docker" in result.stdout
        run = Client().get_pipeline("training_pipeline").runs[0]
        yield run
    finally:
        switched = run_cli("--list-deployments", "--stack", "local")
        assert "Active ZenML stack: har_local" in switched.stdout, switched.stdout + switched.stderr


def test_training_run_completes_on_docker_stack(docker_run):
    assert docker_run.status.value == "completed"
    assert docker_run.stack.name == "har_docker"
    assert {"ingest_recordings", "train_model", "promote_model"} <= set(docker_run.steps)
    assert all(step.status.value == "completed" for step in docker_run.steps.values())


def test_the_run_ran_in_containers_of_the_runtime_image(docker_run, docker_engine):
    """Dynamic pipeline: one container runs every step; static: one container per step."""
    from pipelines import training_pipeline

    containers = docker_engine.containers.list(all=True, filters={"label": "har.project=har"})
    ours = []
    for container in containers:
        env = dict(item.split("=", 1) for item in container.attrs["Config"]["Env"])
        if env.get("ZENML_DOCKER_ORCHESTRATOR_RUN_ID") == docker_run.orchestrator_run_id:
            ours.append(container)
    assert ours, "no container of this run"
    if training_pipeline.is_dynamic:
        assert len(ours) == 1, [c.name for c in ours]
    else:
        args = [c.attrs["Args"] for c in ours]
        assert {a[a.index("--step_name") + 1] for a in args} == set(docker_run.steps)
    for container in ours:
        assert container.attrs["State"]["ExitCode"] == 0, container.name
    # ZenML's build of the Dockerfile's `runtime` target, from the stack's registry: the pinned
    # venv, no project code baked in (it is downloaded from the artifact store per run).
    image = ours[0].image
    assert any(name.startswith("127.0.0.1:") and "/zenml" in name
               for name in image.tags + image.attrs.get("RepoDigests", [])), image.tags
    assert "VIRTUAL_ENV=/opt/venv" in image.attrs["Config"]["Env"]
    listing = docker_engine.containers.run(image.id, ["ls", "/app"], remove=True, entrypoint=[]).decode()
    assert "run.py" not in listing


def test_a_second_run_reuses_the_build(docker_run, docker_configs, tiny_data):
    """An unchanged project builds nothing: ZenML finds its earlier build in the stack's registry."""
    from zenml.client import Client

    builds_before = Client().list_builds(size=50).total
    result = run_cli("--pipeline", "train", "--stack", "docker", "--model", MODEL,
                     "--config", str(docker_configs["train"]), "--data-dir", str(tiny_data), "--no-cache", timeout=2400)
    try:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        assert "Building Docker image" not in result.stdout + result.stderr
        assert Client().list_builds(size=50).total == builds_before
    finally:
        run_cli("--list-deployments", "--stack", "local")


def test_artifacts_and_tracking_are_visible_from_the_host(docker_run, tiny_data):
    """What the containers wrote lands in the host's ZenML store, artifact store and MLflow store."""
    import mlflow
    from zenml.client import Client

    windows = docker_run.steps["split_windows"].outputs["train_windows"][0].load()
    assert windows.X.ndim == 3 and windows.X.shape[1:] == (128, 6) and len(windows.y) == len(windows.X)
    ingest = docker_run.steps["ingest_recordings"].outputs["sensor_data"][0]
    assert ingest.run_metadata["data_dir"] == str(tiny_data)  # the host path, mounted at the same place

    model = docker_run.steps["train_model"].outputs["trained_model"][0].load()
    normalizer = docker_run.steps["train_model"].outputs["normalizer"][0].load()
    probabilities = model.predict_proba(normalizer.transform(windows.X[:4]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)

    report = docker_run.steps["evaluate_model"].outputs["evaluation_report"][0].load()
    version = Client().get_model_version(MODEL, "latest")
    assert version.run_metadata["test_macro_f1"] == pytest.approx(report.macro_f1)

    mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
    runs = mlflow.search_runs(experiment_names=["training_pipeline"], output_format="list")
    ours = [run for run in runs if run.data.tags.get("mlflow.runName") == docker_run.name]
    assert ours, f"no MLflow run named {docker_run.name} in the host's tracking store"
    assert "cv_macro_f1_mean" in ours[0].data.metrics and ours[0].data.params["family"] == model.name


def test_deployment_pipeline_serves_from_a_bentoml_container(docker_run, docker_configs, docker_engine):
    """On the docker stack the deployer builds BentoML's image and runs it; the host gets answers."""
    result = run_cli("--pipeline", "deploy", "--stack", "docker", "--model", MODEL,
                     "--config", str(docker_configs["deploy"]), timeout=2400)
    try:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        serving = [c for c in docker_engine.containers.list(filters={"label": "har.bento"})
                   if f"{PORT}/tcp" in (c.attrs["NetworkSettings"]["Ports"] or {})]
        assert len(serving) == 1, [c.name for c in serving]
        base = f"http://127.0.0.1:{PORT}"
        info = httpx.post(f"{base}/model_info", json={}, timeout=30).json()
        assert info["model_name"] == MODEL
        window = np.zeros((1, info["window_size"], len(info["channel_names"])), dtype=np.float32)
        window[..., 2] = 1.0  # lying still: 1 g on z (all zeros is not 1 g and gets 422)
        window = window.tolist()
        response = httpx.post(f"{base}/predict", content=json.dumps({"windows": window}), timeout=30,
                              headers={"content-type": "application/json"})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"][0]["label"] in info["class_names"]
        bad = httpx.post(f"{base}/predict", json={"windows": [[[1.0, 2.0]]]}, timeout=30)
        assert bad.status_code == 400 and "window" in bad.text
    finally:
        stopped = run_cli("--stop-deployments", "--model", MODEL, "--stack", "docker")
        run_cli("--list-deployments", "--stack", "local")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not [c for c in docker_engine.containers.list(filters={"label": "har.bento"})
                if f"{PORT}/tcp" in (c.attrs["NetworkSettings"]["Ports"] or {})]
