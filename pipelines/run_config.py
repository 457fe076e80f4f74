"""Validation of pipeline run configs (`configs/<pipeline>.yaml`) before ZenML sees them.

ZenML silently ignores step parameters it does not know; this check turns a
typo into an error naming the file and the key.
"""

from __future__ import annotations

import copy
import inspect
import re
from pathlib import Path
from typing import Any, Dict

from pydantic import BaseModel, TypeAdapter

from har.config import DataConfig
from har.outcomes import ConfigError
from har.profiles import Dataset, deep_merge, read_yaml
from har.search import SearchSpace
from har.training import with_default_augmentation

RUN_CONFIG_KEYS = {"enable_cache", "model", "parameters", "steps", "settings", "run_name", "tags", "extra"}
STEP_CONFIG_KEYS = {"parameters", "experiment_tracker", "enable_cache", "settings", "step_operator", "extra"}
PIPELINE_PARAMETERS = {"training_pipeline": {"data_config": DataConfig},
                       "search_pipeline": {"data_config": DataConfig, "search": SearchSpace},
                       "deployment_pipeline": {},
                       "inference_pipeline": {}, "drift_pipeline": {}, "retraining_pipeline": {"redeploy": bool}}

TRAINING_PIPELINES = ("training_pipeline", "search_pipeline")  # they create model versions

__all__ = ["ConfigError", "compose_run_config", "validate_run_config"]


def validate_run_config(path: str | Path, pipeline: Any) -> Dict[str, Any]:
    """Check a run config against the pipeline's steps and their signatures; return it parsed.

    A config may extend another one (`extends: train.yaml`, relative to its own folder): the retraining config
    runs the training steps with the training config's parameters, plus its own; its keys win.
    """
    config = read_yaml(Path(path))
    if "extends" in config:
        base = Path(path).parent / str(config.pop("extends"))
        if not base.is_file():
            raise ConfigError(f"{path}: extends {base}, which does not exist")
        config = deep_merge(read_yaml(base), config)
    unknown = set(config) - RUN_CONFIG_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(RUN_CONFIG_KEYS)}")
    allowed = PIPELINE_PARAMETERS[pipeline.name]
    for name, value in (config.get("parameters") or {}).items():
        if name not in allowed:
            raise ConfigError(f"{path}: parameters.{name} is not a parameter of {pipeline.name} ({sorted(allowed)})")
        _validate(allowed[name], value, f"{path}: parameters.{name}")

    steps = {invocation_name: step for invocation_name, step in _pipeline_steps(pipeline).items()}
    for step_name, step_config in (config.get("steps") or {}).items():
        if step_name not in steps:
            raise ConfigError(f"{path}: steps.{step_name} is not a step of {pipeline.name} ({sorted(steps)})")
        extra = set(step_config or {}) - STEP_CONFIG_KEYS
        if extra:
            raise ConfigError(f"{path}: steps.{step_name} has unknown key(s) {sorted(extra)}; "
                              f"step parameters belong under steps.{step_name}.parameters")
        signature = inspect.signature(steps[step_name].entrypoint)
        for param, value in ((step_config or {}).get("parameters") or {}).items():
            if param not in signature.parameters:
                raise ConfigError(f"{path}: steps.{step_name}.parameters.{param} is not a parameter of "
                                  f"{step_name} ({sorted(signature.parameters)})")
            annotation = signature.parameters[param].annotation
            if annotation is not inspect.Parameter.empty:
                _validate(annotation, value, f"{path}: steps.{step_name}.parameters.{param}")
    return config


def _pipeline_steps(pipeline: Any) -> Dict[str, Any]:
    """Step objects a pipeline wires, by function name (also through the shared wiring helpers)."""
    import steps as step_package
    from pipelines import wiring

    source = inspect.getsource(pipeline.entrypoint)
    for name, helper in inspect.getmembers(wiring, inspect.isfunction):
        if re.search(rf"\b{name}\(", source):
            source += inspect.getsource(helper)
    return {name: getattr(step_package, name) for name in step_package.__all__
            if re.search(rf"\b{name}\(", source)}


def _validate(annotation: Any, value: Any, where: str) -> None:
    try:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation.model_validate(value)
        else:
            TypeAdapter(annotation).validate_python(value, strict=False)
    except Exception as error:  # pydantic's message names the field and the expectation
        raise ConfigError(f"{where}: {error}") from error


def compose_run_config(config: Dict[str, Any], path: str | Path, pipeline: Any, dataset: Dataset,
                       model_name: str | None = None) -> Dict[str, Any]:
    """The run config ZenML gets: `config` (validated) plus the model and data settings of `dataset`.

    `model_name` (the --model flag) beats the profile's model name. A run config
    that names a model or data settings of its own must agree with the profile:
    a copied config cannot silently train another dataset's model.
    """
    composed = copy.deepcopy(config)
    model = dict(config.get("model") or {})
    profile_model = dataset.profile.model
    if "name" in model and model["name"] != profile_model.name and model_name is None:
        raise ConfigError(f"{path}: model.name '{model['name']}' disagrees with the dataset profile "
                          f"{dataset.path} (model.name '{profile_model.name}'); remove model.name from the run "
                          "config (the dataset profile names the model) or pass --model")
    model["name"] = model_name or profile_model.name
    if pipeline.name in TRAINING_PIPELINES:
        for key in ("description", "license", "tags"):
            value = getattr(profile_model, key)
            if value and key not in model:
                model[key] = list(value) if isinstance(value, list) else value
        parameters = dict(config.get("parameters") or {})
        given = parameters.get("data_config")
        if given is not None and DataConfig.model_validate(given) != dataset.data:
            raise ConfigError(f"{path}: parameters.data_config disagrees with the dataset profile {dataset.path}; "
                              "remove it from the run config (the dataset profile's `data:` owns it)")
        parameters["data_config"] = dataset.data.model_dump()
        # the dataset's augmentation, for every recipe that sets none of its own
        augmentation = dataset.profile.augmentation
        if parameters.get("search"):
            parameters["search"] = with_default_augmentation(parameters["search"], augmentation)
        section = ((composed.get("steps") or {}).get("cross_validate_model") or {}).get("parameters") or {}
        if section.get("recipe") is not None:
            section["recipe"] = with_default_augmentation(section["recipe"], augmentation)
        composed["parameters"] = parameters
    if pipeline.name == "search_pipeline":
        # Every trial runs `cross_validate_model` with its own recipe; the training config's single recipe
        # (inherited through `extends: train.yaml`) would conflict with it. The candidates are the recipes.
        steps = {name: dict(section or {}) for name, section in (composed.get("steps") or {}).items()}
        section = steps.get("cross_validate_model", {})
        section["parameters"] = {k: v for k, v in (section.get("parameters") or {}).items() if k != "recipe"}
        steps["cross_validate_model"] = section
        composed["steps"] = steps
    composed["model"] = model
    return composed
