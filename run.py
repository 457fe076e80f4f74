"""Command-line entry point: `python run.py --pipeline train`.

Sets up (idempotently) the ZenML stack, locates or generates the data and
runs a pipeline with its YAML config. See README.md.
"""

from __future__ import annotations

import os
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
DEFAULT_CONFIGS = {"train": "configs/train.yaml", "deploy": "configs/deploy.yaml"}
MODEL_NAME = "har-activity-classifier"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pipeline", "pipeline_name", type=click.Choice(sorted(DEFAULT_CONFIGS)), default="train",
              show_default=True, help="Which pipeline to run.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Run config YAML (default: configs/<pipeline>.yaml).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Recordings folder (one sub-folder per recording). Default: built-in synthetic data.")
@click.option("--no-cache", is_flag=True, help="Re-run every step instead of reusing cached outputs.")
@click.option("--stack", default="local", show_default=True, help="ZenML stack to set up and use.")
@click.option("--list-deployments", is_flag=True, help="List the model's deployments and exit.")
@click.option("--stop-deployments", is_flag=True, help="Stop and remove the model's deployments and exit.")
def main(pipeline_name: str, config_path: str | None, data_dir: str | None, no_cache: bool, stack: str,
         list_deployments: bool, stop_deployments: bool) -> None:
    """Run a HAR pipeline (train, deploy) on the chosen ZenML stack."""
    started = time.perf_counter()
    from scripts.setup_stack import ensure_stack

    config_path = config_path or str(ROOT / DEFAULT_CONFIGS[pipeline_name])
    stack_name = ensure_stack(stack)
    click.echo(f"Active ZenML stack: {stack_name}")
    if list_deployments or stop_deployments:
        return manage_deployments(stop_deployments)
    if pipeline_name == "deploy":
        return run_deploy(config_path, no_cache, started)
    run_train(config_path, data_dir, no_cache, started)


def manage_deployments(stop: bool) -> None:
    from zenml.client import Client

    from deployment.deployments import list_deployments, stop_deployments

    deployer = Client().active_stack.model_deployer
    if deployer is None:
        raise click.ClickException("the active stack has no model deployer")
    if stop:
        click.echo(f"Stopped {stop_deployments(deployer, MODEL_NAME)} deployment(s) of {MODEL_NAME}")
        return
    rows = list_deployments(deployer, MODEL_NAME)
    if not rows:
        click.echo(f"No deployments of {MODEL_NAME}")
    for row in rows:
        click.echo(f"{row['uuid']}  version {row['model_version']}  {'running' if row['running'] else 'stopped'}  "
                   f"{row['url']}  bento {row['bento']}  pid {row['pid']}")


def run_deploy(config_path: str, no_cache: bool, started: float) -> None:
    from pipelines import deployment_pipeline
    from pipelines.run_config import validate_run_config

    validate_run_config(config_path, deployment_pipeline)
    run = deployment_pipeline.with_options(config_path=config_path)()
    report(run, started)


def run_train(config_path: str, data_dir: str | None, no_cache: bool, started: float) -> None:
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

    pipeline = training_pipeline.with_options(config_path=config_path, enable_cache=False if no_cache else None)
    run = pipeline(
        data_dir=str(data_path),
        data_fingerprint=fingerprint_directory(data_path),
        data_schema=schema,
    )
    report(run, started)


def report(run: object, started: float) -> None:
    status = getattr(run, "status", None)
    click.echo(f"Pipeline run '{getattr(run, 'name', run)}' finished with status {status} "
               f"in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
