"""Command-line entry point: `python run.py --pipeline train`.

Sets up (idempotently) the ZenML stack, locates or generates the data and
runs a pipeline with its YAML config. See README.md.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

# Telemetry off before any of these libraries is imported.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIGS = {"train": "configs/train.yaml", "deploy": "configs/deploy.yaml",
                   "inference": "configs/inference.yaml", "drift": "configs/drift.yaml"}
MODEL_NAME = "har-activity-classifier"
# Stacks whose steps run in images built from the Dockerfile, and their run settings.
IMAGE_STACKS = {"har_docker": ROOT / "configs" / "stacks" / "docker.yaml",
                "har_k8s": ROOT / "configs" / "stacks" / "kubernetes" / "settings.yaml"}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pipeline", "pipeline_name", type=click.Choice(sorted(DEFAULT_CONFIGS)), default="train",
              show_default=True, help="Which pipeline to run.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Run config YAML (default: configs/<pipeline>.yaml).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Recordings folder (one sub-folder per recording). Default: built-in synthetic data.")
@click.option("--no-cache", is_flag=True, help="Re-run every step instead of reusing cached outputs.")
@click.option("--stack", default="local", show_default=True,
              help="ZenML stack: local, docker (steps in containers) or k8s (registered separately, see README).")
@click.option("--retrain-config", type=click.Path(exists=True, dir_okay=False),
              help="Drift with on_drift=retrain: training config for the retraining (default: configs/train.yaml).")
@click.option("--list-deployments", is_flag=True, help="List the model's deployments and exit.")
@click.option("--stop-deployments", is_flag=True, help="Stop and remove the model's deployments and exit.")
@click.option("--model", "model_name", default=MODEL_NAME, show_default=True,
              help="Model whose deployments --list-deployments/--stop-deployments act on.")
def main(pipeline_name: str, config_path: str | None, data_dir: str | None, no_cache: bool, stack: str,
         retrain_config: str | None, list_deployments: bool, stop_deployments: bool, model_name: str) -> None:
    """Run a HAR pipeline (train, deploy, inference, drift) on the chosen ZenML stack."""
    started = time.perf_counter()
    from scripts.setup_stack import ensure_stack

    config_path = config_path or str(ROOT / DEFAULT_CONFIGS[pipeline_name])
    stack_name = ensure_stack(stack)
    click.echo(f"Active ZenML stack: {stack_name}")
    if list_deployments or stop_deployments:
        return manage_deployments(stop_deployments, model_name)
    if pipeline_name == "deploy":
        return run_deploy(config_path, no_cache, started)
    if pipeline_name in ("inference", "drift"):
        return run_on_new_data(pipeline_name, config_path, data_dir, started, retrain_config)
    run_train(config_path, data_dir, no_cache, started)


def run_on_new_data(pipeline_name: str, config_path: str, data_dir: str | None, started: float,
                    retrain_config: str | None = None) -> None:
    """Batch inference or drift on `--data-dir` with the production model's own data settings."""
    from zenml.client import Client

    from har.config import DataConfig, load_schema
    from har.datasets import fingerprint_directory
    from pipelines import drift_pipeline, inference_pipeline
    from pipelines.run_config import validate_run_config

    if data_dir is None:
        raise click.UsageError(f"--pipeline {pipeline_name} needs --data-dir (recordings in the input format)")
    pipeline = {"inference": inference_pipeline, "drift": drift_pipeline}[pipeline_name]
    run_config = validate_run_config(config_path, pipeline)
    model_name = run_config["model"]["name"]
    try:
        production = Client().get_model_version(model_name, "production")
    except KeyError:
        raise click.ClickException(f"no production version of {model_name}; run the training pipeline first") from None
    if "data_config" not in production.run_metadata:
        raise click.ClickException(f"{model_name} version {production.number} has no data_config metadata; retrain it")
    data_config = DataConfig.model_validate(production.run_metadata["data_config"])
    data_path = Path(data_dir).resolve()
    click.echo(f"{pipeline_name}: {data_path} with {model_name} version {production.number} "
               f"({data_config.sampling_rate_hz:g} Hz, channels from {', '.join(data_config.streams)})")
    run = pipeline.with_options(config_path=config_path, **stack_options(read_only=[data_path],
                                                                        mounts=[ROOT / "outputs"]))(
        data_dir=str(data_path), data_fingerprint=fingerprint_directory(data_path), data_config=data_config,
        data_schema=load_schema(ROOT / "configs" / "schema.yaml"))
    report(run, started)
    if pipeline_name == "drift":
        action = run.steps["act_on_drift"].outputs["drift_action"][0].load()
        if action == "retrain":
            retrain(production, data_path, retrain_config or str(ROOT / DEFAULT_CONFIGS["train"]))


def retrain(production, new_data: Path, train_config: str) -> None:
    """Train on the production model's recordings plus the new (labelled) ones; promotion decides."""
    # Follow lineage: the run that produced the version's training windows, and what its ingest read.
    # (Inference and drift runs also link a `sensor_data` artifact to the production version.)
    from zenml.client import Client

    training_run = Client().get_pipeline_run(production.get_artifact("train_windows").producer_pipeline_run_id)
    training_dir = training_run.steps["ingest_recordings"].outputs["sensor_data"][0].run_metadata.get("data_dir")
    if not training_dir or not Path(training_dir).is_dir():
        raise click.ClickException(f"cannot retrain: the production model's training data {training_dir} is gone")
    retrain_root = Path(os.environ.get("HAR_RETRAIN_DIR", ROOT / "data" / "retrain"))
    merged = retrain_root / f"v{production.number}-{new_data.name}"
    if merged.exists():
        shutil.rmtree(merged)
    merged.mkdir(parents=True)
    for source in (Path(training_dir), new_data):
        for recording in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not (recording / "labels.csv").exists():
                raise click.ClickException(f"cannot retrain on unlabelled recording {recording}")
            link = merged / f"{source.name}__{recording.name}"
            if not link.exists():
                link.symlink_to(recording, target_is_directory=True)
    click.echo(f"Drift policy 'retrain': training on {merged} (production data {training_dir} + new data {new_data})")
    run_train(train_config, str(merged), False, time.perf_counter(), extra_read_only=[Path(training_dir), new_data])


def manage_deployments(stop: bool, model_name: str = MODEL_NAME) -> None:
    from zenml.client import Client

    from deployment.deployments import list_deployments, stop_deployments

    deployer = Client().active_stack.model_deployer
    if deployer is None:
        raise click.ClickException("the active stack has no model deployer")
    if stop:
        click.echo(f"Stopped {stop_deployments(deployer, model_name)} deployment(s) of {model_name}")
        return
    rows = list_deployments(deployer, model_name)
    if not rows:
        click.echo(f"No deployments of {model_name}")
    for row in rows:
        click.echo(f"{row['uuid']}  version {row['model_version']}  {'running' if row['running'] else 'stopped'}  "
                   f"{row['url']}  bento {row['bento']}  pid {row['pid']}")


def run_deploy(config_path: str, no_cache: bool, started: float) -> None:
    from pipelines import deployment_pipeline
    from pipelines.run_config import validate_run_config

    validate_run_config(config_path, deployment_pipeline)
    run = deployment_pipeline.with_options(config_path=config_path, **stack_options(docker_socket=True))()
    report(run, started)


def run_train(config_path: str, data_dir: str | None, no_cache: bool, started: float,
              extra_read_only: list[Path] = ()) -> None:
    from har.config import DataConfig, load_schema, load_yaml
    from har.datasets import ensure_default_data, fingerprint_directory
    from pipelines import training_pipeline
    from pipelines.run_config import validate_run_config

    run_config = validate_run_config(config_path, training_pipeline)
    data_config = DataConfig.model_validate((run_config.get("parameters") or {}).get("data_config", {}))
    schema = load_schema(ROOT / "configs" / "schema.yaml")

    if data_dir is None:
        defaults = load_yaml(ROOT / "configs" / "default_data.yaml")
        data_path = ensure_default_data(ROOT / defaults["output_dir"], data_config, defaults["generator"])
        click.echo(f"No --data-dir given: using the built-in synthetic dataset in {data_path}")
    else:
        data_path = Path(data_dir).resolve()
        if not data_path.is_dir():
            raise click.BadParameter(f"{data_path} is not a directory", param_hint="--data-dir")

    if no_cache:
        config_path = uncached_copy(config_path, run_config)
    pipeline = training_pipeline.with_options(config_path=config_path,
                                              **stack_options(read_only=[data_path, *extra_read_only]))
    try:
        run = pipeline(
            data_dir=str(data_path),
            data_fingerprint=fingerprint_directory(data_path),
            data_schema=schema,
        )
    finally:
        if no_cache:
            os.unlink(config_path)
    report(run, started)


def uncached_copy(config_path: str, run_config: dict) -> str:
    """The run config with caching off everywhere, as a temporary file.

    `with_options(enable_cache=False)` is not enough: ZenML re-applies the
    config file's own `enable_cache: true` over it when the run is compiled.
    """
    import tempfile

    import yaml

    config = {**run_config, "enable_cache": False}
    steps = config.get("steps") or {}
    config["steps"] = {name: {**(step or {}), "enable_cache": False} for name, step in steps.items()}
    handle = tempfile.NamedTemporaryFile("w", prefix="har-no-cache-", suffix=".yaml", delete=False)
    with handle:
        yaml.safe_dump(config, handle)
    return handle.name


def stack_options(read_only: list[Path] = (), mounts: list[Path] = (), docker_socket: bool = False) -> dict:
    """Extra `with_options` for the active stack: image build settings, and on the docker stack the mounts."""
    from zenml.client import Client

    settings_file = IMAGE_STACKS.get(Client().active_stack_model.name)  # main() activated it
    if settings_file is None:
        return {}
    from scripts.docker_stack import DockerStackError, resolve_base_image, run_settings

    try:
        base_image = resolve_base_image()
    except DockerStackError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Step images built from {ROOT / 'Dockerfile'} on {base_image}")
    return {"settings": run_settings(base_image, mounts=mounts, read_only=read_only, docker_socket=docker_socket,
                                     settings_file=settings_file)}


def report(run: object, started: float) -> None:
    status = getattr(run, "status", None)
    click.echo(f"Pipeline run '{getattr(run, 'name', run)}' finished with status {status} "
               f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
