"""Every YAML file under configs/ is validated; typos must fail here, not be ignored by ZenML."""

import inspect
from pathlib import Path

import pytest
import yaml

from har.config import DataConfig, channel_names, load_schema, load_yaml
from har.synthetic import generate_dataset
from pipelines import deployment_pipeline, drift_pipeline, inference_pipeline, training_pipeline
from pipelines.run_config import ConfigError, validate_run_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PIPELINE_CONFIGS = {"train.yaml": training_pipeline, "train_watch_10hz.yaml": training_pipeline,
                    "deploy.yaml": deployment_pipeline, "inference.yaml": inference_pipeline,
                    "drift.yaml": drift_pipeline}
OTHER_CONFIGS = {"schema.yaml", "default_data.yaml"}


def test_every_config_file_is_known():
    files = {p.name for p in CONFIGS.glob("*.yaml")}
    assert files == set(PIPELINE_CONFIGS) | OTHER_CONFIGS, "add a validation for the new config file"


@pytest.mark.parametrize("name", sorted(PIPELINE_CONFIGS))
def test_pipeline_configs_are_valid(name):
    config = validate_run_config(CONFIGS / name, PIPELINE_CONFIGS[name])
    assert config["model"]["name"].startswith("har-")
    if "data_config" in config.get("parameters", {}):
        data = DataConfig.model_validate(config["parameters"]["data_config"])
        assert channel_names(data, load_schema(CONFIGS / "schema.yaml"))


def test_schema_is_valid():
    schema = load_schema(CONFIGS / "schema.yaml")
    for stream in schema.streams.values():
        assert stream.unit in stream.unit_factors and stream.unit_factors[stream.unit] == 1.0
        assert stream.value_range[0] < stream.value_range[1]


def test_default_data_config_matches_generator():
    config = load_yaml(CONFIGS / "default_data.yaml")
    assert set(config) == {"output_dir", "generator"}
    accepted = set(inspect.signature(generate_dataset).parameters)
    assert set(config["generator"]) <= accepted - {"out_dir", "sampling_rate_hz", "activities"}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["steps"]["train_model"]["parameters"].update(epochz=3), "epochz"),
        (lambda c: c["steps"]["train_model"]["parameters"]["hyperparameters"].update(lstm_unit=3), "lstm_unit"),
        (lambda c: c["steps"]["check_quality_gate"].update(min_macro_f1=0.5), "belong under"),
        (lambda c: c["steps"].update(train=None), "not a step"),
        (lambda c: c["parameters"]["data_config"].update(overlap=1.5), "overlap"),
        (lambda c: c.update(stepz={}), "unknown top-level"),
    ],
)
def test_typos_are_rejected(tmp_path, mutate, message):
    config = yaml.safe_load((CONFIGS / "train.yaml").read_text())
    mutate(config)
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=message):
        validate_run_config(path, training_pipeline)
