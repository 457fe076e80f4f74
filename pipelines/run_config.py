"""Validation of pipeline run configs (`configs/<pipeline>.yaml`) before ZenML sees them.

ZenML silently ignores step parameters it does not know; this check turns a
typo into an error naming the file and the key.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, Dict

from pydantic import BaseModel, TypeAdapter

from har.config import DataConfig, load_yaml

RUN_CONFIG_KEYS = {"enable_cache", "model", "parameters", "steps", "settings", "run_name", "tags", "extra"}
STEP_CONFIG_KEYS = {"parameters", "experiment_tracker", "enable_cache", "settings", "step_operator", "extra"}
PIPELINE_PARAMETERS = {"training_pipeline": {"data_config": DataConfig}, "deployment_pipeline": {},
                       "inference_pipeline": {}, "drift_pipeline": {}}


class ConfigError(ValueError):
    """A run config that would not do what it says."""


def validate_run_config(path: str | Path, pipeline: Any) -> Dict[str, Any]:
    """Check a run config against the pipeline's steps and their signatures; return it parsed."""
    config = load_yaml(path)
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
    from pipelines import new_data

    source = inspect.getsource(pipeline.entrypoint)
    for name, helper in inspect.getmembers(new_data, inspect.isfunction):
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
