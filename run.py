"""Command-line entry point: `python run.py --pipeline train [--dataset NAME]` (or `har train`).

Parses arguments, resolves the dataset profile and the run config, checks the
input before any pipeline starts, runs the pipeline on the chosen ZenML stack
and turns expected outcomes (bad data, failed gate, drift alert, no model yet,
config typo) into a short message and a documented exit code (har/outcomes.py).
See README.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

# Telemetry off and framework chatter down before any of these libraries is imported.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

import click  # noqa: E402

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # the project's packages, also when started from another folder
    sys.path.insert(0, str(ROOT))

from har.outcomes import BadInput, ConfigError, ExitCode, ModelNotFound, StackUnavailable  # noqa: E402

DEFAULT_CONFIGS = {"train": "configs/train.yaml", "deploy": "configs/deploy.yaml",
                   "inference": "configs/inference.yaml", "drift": "configs/drift.yaml",
                   "retrain": "configs/retrain.yaml", "search": "configs/search.yaml"}
SERVING_LOG_DEFAULT = "<default>"  # bare --serving-log: the model's default log folder
PIPELINES = {"train": "training_pipeline", "deploy": "deployment_pipeline", "inference": "inference_pipeline",
             "drift": "drift_pipeline", "retrain": "retraining_pipeline", "search": "search_pipeline"}
# Stacks whose steps run in images built from the Dockerfile, and their run settings.
IMAGE_STACKS = {"har_docker": ROOT / "configs" / "stacks" / "docker.yaml",
                "har_k8s": ROOT / "configs" / "stacks" / "kubernetes" / "settings.yaml"}
def command(pipeline: str) -> str:
    """How the user runs `pipeline` (for the next-step hints): `har train` or `python run.py --pipeline train`."""
    return f"har {pipeline}" if os.environ.get("HAR_CLI") == "har" else f"python run.py --pipeline {pipeline}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pipeline", "pipeline_name", type=click.Choice(sorted(DEFAULT_CONFIGS)), default="train",
              show_default=True, help="Which pipeline to run.")
@click.option("--dataset", "dataset_name", default=None,
              help="Dataset profile: a name under configs/datasets/ or a YAML file's path (default: 'default', "
                   "the built-in data). It names the model and describes the data and its files.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Run config YAML with step parameters (default: configs/<pipeline>.yaml).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Recordings folder (one sub-folder per recording); beats the profile's data_dir.")
@click.option("--serving-log", "serving_log", is_flag=False, flag_value=SERVING_LOG_DEFAULT, default=None,
              help="Drift on production traffic: the serving log (README 'Serving log') instead of --data-dir. "
                   "Bare: the model's default log folder; or give the folder.")
@click.option("--since", default=None, help="With --serving-log: start of the range, ISO-8601 or a duration "
                                             "before now (30m, 1h, 2d). Default: everything logged.")
@click.option("--until", default=None, help="With --serving-log: end of the range (ISO-8601 or 30m, 1h, ...). "
                                             "Default: now.")
@click.option("--model", "model_name", default=None,
              help="Model name; beats the dataset profile's (train: the model to create a version of; "
                   "deploy/inference/drift/deployments: the model whose production version to use).")
@click.option("--no-cache", is_flag=True, help="Re-run every step instead of reusing cached outputs.")
@click.option("--stack", default="local", show_default=True,
              help="ZenML stack: local, docker (steps in containers) or k8s (registered separately, see README).")
@click.option("--retrain-config", type=click.Path(dir_okay=False),
              help="Drift with on_drift=retrain: the retraining run config (default: configs/retrain.yaml, "
                   "which extends configs/train.yaml).")
@click.option("--list-deployments", is_flag=True, help="List the model's deployments and exit.")
@click.option("--stop-deployments", is_flag=True, help="Stop and remove the model's deployments and exit.")
@click.option("--rollback", is_flag=True, help="With --pipeline deploy: make the version that was production "
                                                "before the current one production again, and deploy it.")
@click.option("--debug", is_flag=True, help="Show framework logs and full tracebacks.")
def main(pipeline_name: str, dataset_name: str | None, config_path: str | None, data_dir: str | None,
         serving_log: str | None, since: str | None, until: str | None, model_name: str | None, no_cache: bool,
         stack: str, retrain_config: str | None, list_deployments: bool,
         stop_deployments: bool, debug: bool, rollback: bool = False) -> None:
    """Run a HAR pipeline (train, deploy, inference, drift) on the chosen ZenML stack.

    Exit codes: 0 ok, 1 unexpected error, 2 usage or config error, 3 bad input data, 4 quality gate failed,
    5 drift detected, 6 model not found, 7 stack unavailable.
    """
    started = time.perf_counter()
    try:
        dispatch(pipeline_name, dataset_name, config_path, data_dir, model_name, no_cache, stack, retrain_config,
                 list_deployments, stop_deployments, debug, started, serving_log=serving_log, since=since,
                 until=until, rollback=rollback)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BaseException as error:  # every outcome ends here: a short message and its exit code
        if isinstance(error, SystemExit) and not isinstance(error.code, str):
            raise
        fail(error, pipeline_name, debug)


def dispatch(pipeline_name: str, dataset_name: str | None, config_path: str | None, data_dir: str | None,
             model_name: str | None, no_cache: bool, stack: str, retrain_config: str | None,
             list_deployments: bool, stop_deployments: bool, debug: bool, started: float,
             serving_log: str | None = None, since: str | None = None, until: str | None = None,
             rollback: bool = False) -> None:
    from har.profiles import load_dataset
    from mlops import housekeeping

    housekeeping()  # runs whose process died -> failed; empty model versions of failed runs -> removed
    dataset = load_dataset(dataset_name, ROOT)
    model_name = model_name or dataset.model_name
    if rollback and (pipeline_name != "deploy" or list_deployments or stop_deployments):
        raise ConfigError("--rollback goes with --pipeline deploy (it restores the previous production version "
                          "and deploys it)")
    if list_deployments or stop_deployments:
        start_stack(stack, debug)
        return manage_deployments(stop_deployments, model_name)

    pipeline = import_pipeline(pipeline_name, debug)
    config_file = Path(config_path or ROOT / DEFAULT_CONFIGS[pipeline_name])
    if not config_file.is_file():
        raise ConfigError(f"--config {config_file}: no such file")
    run_config = compose(config_file, pipeline, dataset, model_name, no_cache)

    if pipeline_name in ("train", "search"):
        data_path = training_data(dataset, data_dir)
        start_stack(stack, debug)
        inputs = {"champion": champion_recipe(model_name)} if pipeline_name == "search" else {}
        return run_train(pipeline, run_config, dataset, data_path, started, **inputs)
    if pipeline_name == "deploy":
        start_stack(stack, debug)
        if rollback:
            roll_back(model_name)
        production = production_version(model_name)
        return run_deploy(pipeline, run_config, production, dataset, started)
    if serving_log is not None or since is not None or until is not None:
        start_stack(stack, debug)
        return run_drift_on_serving_log(pipeline_name, pipeline, run_config, production_version(model_name),
                                        serving_log, since, until, data_dir, started)
    data_path = new_data(pipeline_name, data_dir)
    start_stack(stack, debug)
    production = production_version(model_name)
    if pipeline_name == "retrain":
        return run_retrain(pipeline, run_config, dataset, production, data_path, started)
    run_on_new_data(pipeline_name, pipeline, run_config, dataset, production, data_path, started, retrain_config)


# --------------------------------------------------------------------------- resolution, before any run


def import_pipeline(pipeline_name: str, debug: bool) -> Any:
    """The pipeline object; importing it imports TensorFlow, whose C++ start-up lines are silenced."""
    from har.console import quiet_native_stderr

    with quiet_native_stderr(enabled=not debug):
        import pipelines
    return getattr(pipelines, PIPELINES[pipeline_name])


def compose(config_file: Path, pipeline: Any, dataset: Any, model_name: str, no_cache: bool) -> Dict[str, Any]:
    from pipelines.run_config import compose_run_config, validate_run_config

    config = validate_run_config(config_file, pipeline)
    composed = compose_run_config(config, config_file, pipeline, dataset, model_name)
    return uncached(composed) if no_cache else composed


def training_data(dataset: Any, data_dir: str | None) -> Path:
    """--data-dir, else the profile's data_dir, else the profile's synthetic data (generated once)."""
    from har.datasets import ensure_default_data

    if data_dir is not None:
        return checked_data_dir(Path(data_dir), "--data-dir")
    if dataset.data_dir() is not None:
        return checked_data_dir(dataset.data_dir(), f"data_dir of {dataset.path}")
    synthetic = dataset.profile.synthetic
    if synthetic is None:
        raise ConfigError(f"no data to train on: give --data-dir, or set data_dir in {dataset.path}")
    path = ensure_default_data(ROOT / synthetic.output_dir, dataset.data, synthetic.generator())
    click.echo(f"Dataset '{dataset.name}': built-in synthetic recordings in {path}")
    return path


def new_data(pipeline_name: str, data_dir: str | None) -> Path:
    if data_dir is None:
        raise ConfigError(f"--pipeline {pipeline_name} needs --data-dir: a folder of new recordings in the "
                          "dataset's format (labels optional)")
    return checked_data_dir(Path(data_dir), "--data-dir")


def checked_data_dir(path: Path, what: str) -> Path:
    """The folder, absolute, if it holds recordings; otherwise a data error that says what to give."""
    from har.errors import DataValidationError
    from har.ingest import discover_recordings

    path = path.expanduser().resolve()
    try:
        discover_recordings(path)
    except DataValidationError as error:
        raise BadInput(f"{what}: {error.issues[0].message if error.issues else error}") from None
    return path


def production_version(model_name: str) -> Any:
    from zenml.client import Client

    try:
        Client().get_model(model_name)
    except KeyError:
        known = [m.name for m in Client().list_models(size=20).items]
        raise ModelNotFound(f"no model named '{model_name}' (known: {', '.join(known) or 'none yet'}); train it "
                            f"first: {command('train')} [--dataset NAME]") from None
    try:
        return Client().get_model_version(model_name, "production")
    except KeyError:
        raise ModelNotFound(f"model '{model_name}' has no production version yet (no training run passed its "
                            f"gate and promotion); train it: {command('train')} [--dataset NAME]") from None


def champion_recipe(model_name: str) -> Any:
    """The production version's recipe (family + hyperparameters), which the search re-runs; None without one."""
    from zenml.client import Client
    from zenml.enums import ModelStages

    from har.training import Recipe

    try:
        production = Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None
    recorded = production.run_metadata.get("recipe")
    if not recorded:
        click.echo(f"Production version {production.number} records no recipe (trained before model families): "
                   "the search runs without a champion")
        return None
    return Recipe.model_validate(recorded)


def serving_contract(version: Any) -> Any:
    """The version's `serving_config` artifact: how it is served and how its new data is windowed."""
    import materializers  # noqa: F401  (registers the artifact's materializer)

    try:
        return version.get_artifact("serving_config").load()
    except (KeyError, AttributeError):
        raise ModelNotFound(f"{version.model.name} version {version.number} has no serving_config artifact (trained "
                            f"before the serving contract); retrain it: {command('train')}") from None


def start_stack(stack: str, debug: bool) -> str:
    from har.console import install_log_filters
    from mlops.stacks import ensure_stack

    try:
        name = ensure_stack(stack)
    except SystemExit as error:
        raise StackUnavailable(str(error.code)) from None
    install_log_filters(debug)
    click.echo(f"Active ZenML stack: {name}")
    return name


# --------------------------------------------------------------------------- pipelines


def run_train(pipeline: Any, run_config: Dict[str, Any], dataset: Any, data_path: Path, started: float,
              extra_read_only: list[Path] = (), **inputs: Any) -> Any:
    from har.datasets import fingerprint_directory

    click.echo(f"Training model '{run_config['model']['name']}' on {data_path} (dataset '{dataset.name}', "
               f"{dataset.data.sampling_rate_hz:g} Hz, {len(dataset.data.activities)} activities)")
    run = launch(pipeline, run_config, read_only=[data_path, *extra_read_only],
                 data_dir=str(data_path), data_fingerprint=fingerprint_directory(data_path),
                 data_schema=dataset.schema, **inputs)
    report(run, started)
    model_name = run_config["model"]["name"]
    hint = dataset_flag(dataset)
    try:
        version = run.model_version
        promoted = version is not None and str(version.stage or "") == "production"
    except Exception:  # the run may carry no model version (e.g. an older ZenML record)
        promoted = False
    if promoted:
        click.echo(f"Model '{model_name}' version {version.number} is now production. "
                   f"Next: {command('deploy')}{hint}")
    else:
        click.echo(f"Model '{model_name}': this version was not promoted (see the promotion_decision artifact); "
                   f"production is unchanged. Next: {command('deploy')}{hint} to serve production")
    return run


def run_deploy(pipeline: Any, run_config: Dict[str, Any], production: Any, dataset: Any, started: float) -> None:
    click.echo(f"Deploying model '{production.model.name}' version {production.number} (production)")
    serving_contract(production)  # a version trained before the contract cannot be deployed: say so first
    run = launch(pipeline, run_config, docker_socket=True)
    report(run, started)
    from zenml.client import Client

    from mlops.deployments import list_deployments

    deployer = Client().active_stack.model_deployer
    rows = [r for r in list_deployments(deployer, production.model.name) if r["running"]] if deployer else []
    for row in rows[:1]:
        click.echo(f"Serving version {row['model_version']} at {row['url']}. Try: "
                   f"curl -s -X POST {row['url'].rstrip('/')}/model_info -H 'content-type: application/json' "
                   "-d '{}'")


def run_on_new_data(pipeline_name: str, pipeline: Any, run_config: Dict[str, Any], dataset: Any, production: Any,
                    data_path: Path, started: float, retrain_config: str | None = None) -> None:
    """Batch inference or drift on `--data-dir` with the production model's own data settings."""
    from har.datasets import fingerprint_directory

    model_name = production.model.name
    data_config = serving_contract(production).data_config()
    click.echo(f"{pipeline_name}: {data_path} with {model_name} version {production.number} "
               f"({data_config.sampling_rate_hz:g} Hz, channels from {', '.join(data_config.streams)})")
    run = launch(pipeline, run_config, read_only=[data_path], mounts=[ROOT / "outputs"],
                 data_dir=str(data_path), data_fingerprint=fingerprint_directory(data_path),
                 data_config=data_config, data_schema=dataset.schema)
    report(run, started)
    if pipeline_name == "inference":
        summary = run.steps["export_predictions"].outputs["export_summary"][0].load()
        click.echo(f"{summary['rows']} window predictions written to {summary['file']} and logged in "
                   f"{summary['prediction_log']}. Next: {command('drift')}{dataset_flag(dataset)} "
                   f"--data-dir {data_path}")
        return
    action = run.steps["act_on_drift"].outputs["drift_action"][0].load()
    click.echo(f"Drift check done: action '{action}'.")
    if action == "retrain":
        click.echo(f"Drift policy 'retrain': retraining on the production version's recordings + {data_path}")
        retrain_pipeline = import_pipeline("retrain", debug=False)
        config_file = Path(retrain_config or ROOT / DEFAULT_CONFIGS["retrain"])
        if not config_file.is_file():
            raise ConfigError(f"--retrain-config {config_file}: no such file")
        config = compose(config_file, retrain_pipeline, dataset, model_name, no_cache=False)
        run_retrain(retrain_pipeline, config, dataset, production, data_path, time.perf_counter())


def run_drift_on_serving_log(pipeline_name: str, pipeline: Any, run_config: Dict[str, Any], production: Any,
                             serving_log: str | None, since: str | None, until: str | None, data_dir: str | None,
                             started: float) -> None:
    """Drift and the label-free monitors on what the deployed service logged in [since, until)."""
    from har.serving_log import default_log_dir, parse_moment

    if pipeline_name != "drift" or serving_log is None or data_dir is not None:
        raise ConfigError("--serving-log [DIR] (with optional --since/--until) goes with --pipeline drift and "
                          "without --data-dir")
    try:
        since_at, until_at = (parse_moment(value) if value else None for value in (since, until))
    except ValueError as error:
        raise ConfigError(f"--since/--until: {error}") from None
    log_dir = default_log_dir(production.model.name) if serving_log == SERVING_LOG_DEFAULT else Path(serving_log)
    click.echo(f"drift: serving log {log_dir} ({since_at.isoformat() if since_at else 'start'} .. "
               f"{until_at.isoformat() if until_at else 'now'}) with {production.model.name} version "
               f"{production.number}")
    run = launch(pipeline, run_config, read_only=[log_dir] if log_dir.is_dir() else [],
                 serving_log_dir=str(log_dir.resolve()), since=since_at.isoformat() if since_at else None,
                 until=until_at.isoformat() if until_at else None)
    report(run, started)
    action = run.steps["act_on_drift"].outputs["drift_action"][0].load()
    click.echo(f"Drift check done: action '{action}'.")
    if action == "retrain":
        click.echo("Drift policy 'retrain' needs labelled recordings; the serving log has no labels. Label new "
                   f"recordings and run {command('retrain')} --data-dir DIR.")


def run_retrain(pipeline: Any, run_config: Dict[str, Any], dataset: Any, production: Any, data_path: Path,
                started: float) -> None:
    """The retraining pipeline on new labelled recordings; it decides itself whether to go on, promote, redeploy."""
    from zenml.client import Client

    from har.datasets import fingerprint_directory

    model_name = production.model.name
    click.echo(f"Retraining '{model_name}': production version {production.number}'s recordings + {data_path}")
    run = launch(pipeline, run_config, read_only=[data_path], docker_socket=True, model_name=model_name,
                 data_dir=str(data_path),
                 data_fingerprint=fingerprint_directory(data_path),
                 data_config=serving_contract(production).data_config(), data_schema=dataset.schema)
    report(run, started)
    run = Client().get_pipeline_run(run.id)
    decision = run.steps["decide_retraining"]
    if not decision.outputs["retrain"][0].load():
        reason = decision.run_metadata.get("reason", "")
        if run.model_version is not None:  # the version this run created holds no model: not a version
            Client().delete_model_version(run.model_version.id)
        click.echo(f"Retraining not needed: {reason}. Production stays version {production.number}.")
        return
    promotion = run.steps["promote_model"].outputs["promotion_decision"][0].load()
    if not promotion["promoted"]:
        click.echo(f"Retrained version {promotion['candidate_version']} was not promoted: {promotion['reason']}. "
                   f"Production stays version {production.number}.")
        return
    deployed = "deploy_model" in run.steps
    click.echo(f"Version {promotion['candidate_version']} is now production ({promotion['reason']})"
               + ("; deployed behind the same URL." if deployed else
                  f". Next: {command('deploy')}{dataset_flag(dataset)}"))


def roll_back(model_name: str) -> None:
    """Production back to the version before it (mlops/rollout.py); the deploy that follows serves it."""
    from mlops.rollout import RollbackError, rollback

    try:
        click.echo(rollback(model_name).message)
    except RollbackError as error:
        raise ModelNotFound(str(error)) from None


def manage_deployments(stop: bool, model_name: str) -> None:
    from zenml.client import Client

    from mlops.deployments import list_deployments, stop_deployments

    deployer = Client().active_stack.model_deployer
    if deployer is None:
        raise StackUnavailable("the active stack has no model deployer")
    if stop:  # every deployment of the model, any version, with all its processes; ports checked free
        click.echo(f"Stopped {stop_deployments(deployer, model_name)} deployment(s) of {model_name}")
        return
    rows = list_deployments(deployer, model_name)
    if not rows:
        click.echo(f"No deployments of {model_name}")
    for row in rows:
        click.echo(f"{row['uuid']}  version {row['model_version']}  {row['state']}  {row['url']}  "
                   f"server port {row['port']}  bento {row['bento']}  pids {' '.join(map(str, row['pids'])) or '-'}")
    if any(row["state"] != "running" for row in rows):
        click.echo(f"Not serving: its processes died (killed, reboot) or it was stopped. Restore the production "
                   f"version: {command('deploy')} --model {model_name} (replaces the dead deployment, ends "
                   "leftover processes and frees the port)")


def launch(pipeline: Any, run_config: Dict[str, Any], read_only: list[Path] = (), mounts: list[Path] = (),
           docker_socket: bool = False, **inputs: Any) -> Any:
    """Run `pipeline` with the composed run config (written to a temporary file for ZenML)."""
    import yaml

    handle = tempfile.NamedTemporaryFile("w", prefix="har-run-", suffix=".yaml", delete=False)
    with handle:
        yaml.safe_dump(run_config, handle, sort_keys=False)
    try:
        options = stack_options(read_only=read_only, mounts=mounts, docker_socket=docker_socket)
        return pipeline.with_options(config_path=handle.name, **options)(**inputs)
    finally:
        os.unlink(handle.name)


def uncached(run_config: Dict[str, Any]) -> Dict[str, Any]:
    """The run config with caching off everywhere.

    `with_options(enable_cache=False)` is not enough: ZenML re-applies the
    config file's own `enable_cache: true` over it when the run is compiled.
    """
    config = {**run_config, "enable_cache": False}
    steps = config.get("steps") or {}
    config["steps"] = {name: {**(step or {}), "enable_cache": False} for name, step in steps.items()}
    return config


def stack_options(read_only: list[Path] = (), mounts: list[Path] = (), docker_socket: bool = False) -> dict:
    """Extra `with_options` for the active stack: image build settings, and on the docker stack the mounts."""
    from zenml.client import Client

    settings_file = IMAGE_STACKS.get(Client().active_stack_model.name)  # main() activated it
    if settings_file is None:
        return {}
    from mlops.docker import DockerStackError, resolve_base_image, run_settings

    try:
        base_image = resolve_base_image()
    except DockerStackError as error:
        raise StackUnavailable(str(error)) from None
    click.echo(f"Step images built from {ROOT / 'Dockerfile'} on {base_image}")
    return {"settings": run_settings(base_image, mounts=mounts, read_only=read_only, docker_socket=docker_socket,
                                     settings_file=settings_file)}


def dataset_flag(dataset: Any) -> str:
    from har.profiles import DEFAULT_PROFILE

    if dataset.name == DEFAULT_PROFILE and dataset.path.parent == ROOT / "configs" / "datasets":
        return ""
    shown = dataset.name if dataset.path.parent == ROOT / "configs" / "datasets" else str(dataset.path)
    return f" --dataset {shown}"


def report(run: Any, started: float) -> None:
    status = getattr(run, "status", None)
    click.echo(f"Pipeline run '{getattr(run, 'name', run)}' finished with status {status} "
               f"in {time.perf_counter() - started:.1f} s")


# --------------------------------------------------------------------------- failures


def fail(error: BaseException, pipeline_name: str, debug: bool) -> None:
    """Print a failure in a few lines and exit with its code; the traceback only with --debug."""
    import traceback

    from har.console import failure_text
    from har.outcomes import classify, classify_source

    code = classify(error)
    message = str(error) if not isinstance(error, SystemExit) else str(error.code)
    if code is None:  # a step that failed in another process (Docker stack): ZenML kept its exception
        source, recorded = failed_step_exception(pipeline_name)
        code = classify_source(source)
        if code is not None and recorded:
            message = recorded
    if debug or code is None:
        if debug:
            traceback.print_exception(error)
    code = ExitCode.UNEXPECTED if code is None else code
    if code == ExitCode.UNEXPECTED and not message.strip():
        message = type(error).__name__
    click.echo(failure_text(int(code), message, debug), err=True)
    sys.exit(int(code))


def failed_step_exception(pipeline_name: str) -> tuple[str | None, str | None]:
    """(exception class path, message) of the failed step of the latest run of the pipeline, if any."""
    try:
        from zenml.client import Client
        from zenml.enums import ExecutionStatus

        run = Client().get_pipeline(PIPELINES[pipeline_name]).runs[0]
        for step in run.steps.values():
            if step.status == ExecutionStatus.FAILED and step.exception_info is not None:
                return step.exception_info.source, step.exception_info.message
    except Exception:  # no run, no store: nothing recorded to add
        pass
    return None, None


if __name__ == "__main__":
    sys.exit(main())
