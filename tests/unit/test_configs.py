"""Every YAML file under configs/ is validated; typos must fail here, not be ignored by ZenML."""

import inspect
from pathlib import Path

import pytest
import yaml

from har.config import channel_names, load_schema
from har.outcomes import ConfigError
from har.profiles import load_dataset
from har.synthetic import generate_dataset
from pipelines import (
    deployment_pipeline,
    drift_pipeline,
    inference_pipeline,
    retraining_pipeline,
    search_pipeline,
    training_pipeline,
)
from pipelines.run_config import compose_run_config, validate_run_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
PIPELINE_CONFIGS = {"train.yaml": training_pipeline, "deploy.yaml": deployment_pipeline,
                    "inference.yaml": inference_pipeline, "drift.yaml": drift_pipeline,
                    "retrain.yaml": retraining_pipeline, "search.yaml": search_pipeline}
OTHER_CONFIGS = {"schema.yaml"}
PROFILES = sorted(p.stem for p in (CONFIGS / "datasets").glob("*.yaml"))


def test_every_config_file_is_known():
    files = {p.name for p in CONFIGS.glob("*.yaml")}
    assert files == set(PIPELINE_CONFIGS) | OTHER_CONFIGS, "add a validation for the new config file"
    assert "default" in PROFILES


@pytest.mark.parametrize("name", sorted(PIPELINE_CONFIGS))
def test_pipeline_configs_are_valid(name):
    config = validate_run_config(CONFIGS / name, PIPELINE_CONFIGS[name])
    assert "name" not in (config.get("model") or {}), "the dataset profile names the model"
    assert "data_config" not in (config.get("parameters") or {}), "the dataset profile holds the data settings"


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(PIPELINE_CONFIGS))
def test_every_profile_composes_with_every_run_config(profile, name):
    dataset = load_dataset(profile, ROOT)
    pipeline = PIPELINE_CONFIGS[name]
    composed = compose_run_config(validate_run_config(CONFIGS / name, pipeline), CONFIGS / name,
                                  pipeline, dataset)
    assert composed["model"]["name"] == dataset.model_name
    assert channel_names(dataset.data, dataset.schema)
    if pipeline is search_pipeline:  # the trials' recipes come from the candidates, not train.yaml's recipe
        assert "recipe" not in composed["steps"]["cross_validate_model"]["parameters"]
    if pipeline in (training_pipeline, search_pipeline):
        assert composed["parameters"]["data_config"] == dataset.data.model_dump()
        generator = dataset.profile.synthetic.generator() if dataset.profile.synthetic else {}
        assert set(generator) <= set(inspect.signature(generate_dataset).parameters)
    assert compose_run_config(validate_run_config(CONFIGS / name, pipeline), CONFIGS / name,
                              pipeline, dataset, model_name="other")["model"]["name"] == "other"


def test_profiles_name_distinct_models():
    names = [load_dataset(profile, ROOT).model_name for profile in PROFILES]
    assert len(set(names)) == len(names), "two datasets sharing a model would compare unrelated versions"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["data"].update(overlapp=0.5), "data.overlapp: unknown key"),
        (lambda c: c["data"].update(overlap=1.5), "data.overlap"),
        (lambda c: c["model"].update(name="has space"), "model.name"),
        (lambda c: c.update(schema={"recording": {"max_gap": 2}}), "schema.recording.max_gap: unknown key"),
        (lambda c: c.update(schema={"recording": {"min_duration_s": -1}}), "schema.recording.min_duration_s"),
        (lambda c: c.update(schema={"streams": {"accelerometer": {"input_unit": "furlongs"}}}), "input_unit"),
        (lambda c: c.update(schema={"labels": {"activity_names": {"jog": "jogging"}}}), "activity_names maps to"),
        (lambda c: c["data"].update(streams=["magnetometer"]), "data.streams"),
        (lambda c: c.update(data_dir="x", synthetic={}), "either data_dir"),
    ],
)
def test_profile_typos_are_rejected(tmp_path, mutate, message):
    content = yaml.safe_load((CONFIGS / "datasets" / "default.yaml").read_text())
    mutate(content)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ConfigError, match=message):
        load_dataset(str(path), ROOT)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known: .*default"):
        load_dataset("no-such-dataset", ROOT)


def test_profile_schema_overrides_merge_into_the_project_schema(tmp_path):
    path = tmp_path / "watch.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"name": "my-watch"}, "data_dir": "recordings",
        "schema": {"recording": {"max_gap_s": 3.0}, "streams": {"gyroscope": {"input_unit": "deg/s"}}}}))
    dataset = load_dataset(str(path), ROOT)
    base = load_schema(CONFIGS / "schema.yaml")
    assert dataset.schema.recording.max_gap_s == 3.0
    assert dataset.schema.recording.min_duration_s == base.recording.min_duration_s
    assert dataset.schema.streams["gyroscope"].default_unit == "deg/s"
    assert dataset.schema.streams["gyroscope"].unit_factors == base.streams["gyroscope"].unit_factors
    assert dataset.data_dir() == tmp_path / "recordings"  # relative to the profile's folder


def test_run_config_cannot_silently_rename_the_model(tmp_path):
    config = yaml.safe_load((CONFIGS / "deploy.yaml").read_text())
    config["model"]["name"] = "some-other-model"
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    dataset = load_dataset("default", ROOT)
    with pytest.raises(ConfigError, match="disagrees with the dataset profile"):
        compose_run_config(validate_run_config(path, deployment_pipeline), path, deployment_pipeline, dataset)
    composed = compose_run_config(validate_run_config(path, deployment_pipeline), path, deployment_pipeline,
                                  dataset, model_name="some-other-model")
    assert composed["model"]["name"] == "some-other-model"  # the flag wins


def test_schema_is_valid():
    schema = load_schema(CONFIGS / "schema.yaml")
    for stream in schema.streams.values():
        assert stream.unit in stream.unit_factors and stream.unit_factors[stream.unit] == 1.0
        assert stream.value_range[0] < stream.value_range[1]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["steps"]["cross_validate_model"]["parameters"].update(epochz=3), "epochz"),
        (lambda c: c["steps"]["cross_validate_model"]["parameters"]["recipe"]["params"].update(n_kernelz=3),
         "n_kernelz"),
        (lambda c: c["steps"]["cross_validate_model"]["parameters"]["recipe"].update(family="rocket"),
         "unknown model family 'rocket'"),
        (lambda c: c["steps"]["cross_validate_model"]["parameters"]["cross_validation"].update(scheme="lolo"),
         "scheme"),
        (lambda c: c["steps"]["check_quality_gate"].update(min_macro_f1=0.5), "belong under"),
        (lambda c: c["steps"].update(train=None), "not a step"),
        (lambda c: c.update(parameters={"data_config": {"overlap": 1.5}}), "overlap"),
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


def test_retraining_config_extends_the_training_config_and_its_keys_win():
    config = validate_run_config(CONFIGS / "retrain.yaml", retraining_pipeline)
    train = yaml.safe_load((CONFIGS / "train.yaml").read_text())
    assert config["steps"]["cross_validate_model"] == train["steps"]["cross_validate_model"]  # the same recipe
    assert config["parameters"]["redeploy"] is True
    assert "decide_retraining" in config["steps"] and "deploy_model" in config["steps"]


def test_a_config_extending_a_missing_file_names_it(tmp_path):
    (tmp_path / "retrain.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="nowhere.yaml"):
        validate_run_config(tmp_path / "retrain.yaml", retraining_pipeline)


@pytest.mark.parametrize("name", sorted(PIPELINE_CONFIGS))
def test_steps_that_must_never_be_cached_are_not_cached_by_the_config(name):
    """A run config's top-level `enable_cache: true` overrides a step decorator's `enable_cache=False` (ZenML
    0.98): such a step needs `enable_cache: false` in the config's own section too."""
    from pipelines.run_config import _pipeline_steps

    config = validate_run_config(CONFIGS / name, PIPELINE_CONFIGS[name])
    if config.get("enable_cache") is not True:  # the pipelines without it are not cached at all
        return
    sections = config.get("steps") or {}
    for step_name, step in _pipeline_steps(PIPELINE_CONFIGS[name]).items():
        if step.configuration.enable_cache is False:
            assert (sections.get(step_name) or {}).get("enable_cache") is False, \
                f"{name}: add steps.{step_name}.enable_cache: false"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s["candidates"][0].update(family="rocket"), "unknown model family 'rocket'"),
        (lambda s: s["candidates"][0]["grid"].update(n_kernelz=[1]), "n_kernelz"),
        (lambda s: s["candidates"][0]["grid"].update(n_kernels=[]), "empty"),
        (lambda s: s["budget"].update(max_trials=0), "max_trials"),
        (lambda s: s.update(candidates=[]), "candidates"),
    ],
)
def test_search_typos_are_rejected(tmp_path, mutate, message):
    config = yaml.safe_load((CONFIGS / "search.yaml").read_text())
    mutate(config["parameters"]["search"])
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "train.yaml").write_text((CONFIGS / "train.yaml").read_text())
    with pytest.raises(ConfigError, match=message):
        validate_run_config(path, search_pipeline)


def test_a_dataset_profiles_augmentation_reaches_every_recipe_without_its_own():
    dataset = load_dataset("realistic", ROOT)
    assert dataset.profile.augmentation is not None
    expected = dataset.profile.augmentation.model_dump(mode="json")
    train = compose_run_config(validate_run_config(CONFIGS / "train.yaml", training_pipeline),
                               CONFIGS / "train.yaml", training_pipeline, dataset)
    assert train["steps"]["cross_validate_model"]["parameters"]["recipe"]["augmentation"] == expected
    search = compose_run_config(validate_run_config(CONFIGS / "search.yaml", search_pipeline),
                                CONFIGS / "search.yaml", search_pipeline, dataset)
    candidates = search["parameters"]["search"]["candidates"]
    own = [c for c in yaml.safe_load((CONFIGS / "search.yaml").read_text())["parameters"]["search"]["candidates"]
           if c.get("augmentation")]
    assert own and all(c["augmentation"] for c in candidates)
    assert sum(c["augmentation"] == expected for c in candidates) == len(candidates) - len(own)
    default = compose_run_config(validate_run_config(CONFIGS / "train.yaml", training_pipeline),
                                 CONFIGS / "train.yaml", training_pipeline, load_dataset("default", ROOT))
    assert default["steps"]["cross_validate_model"]["parameters"]["recipe"]["augmentation"] is None
