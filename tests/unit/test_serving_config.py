"""The serving contract: built once from the training settings, stored as one JSON artifact, read back equal."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from har.config import channel_names
from har.serving import KERAS, ONNX, ServingConfig
from har.types import ChannelNormalizer
from materializers.serving_config_materializer import DATA_FILE, ServingConfigMaterializer


@pytest.fixture
def contract(data_config, schema) -> ServingConfig:
    channels = channel_names(data_config, schema)
    normalizer = ChannelNormalizer(channels, [0.1] * len(channels), [2.0] * len(channels))
    return ServingConfig.for_model("m", "4", data_config, schema, channels, normalizer, runtime=ONNX,
                                   max_windows_per_request=16)


def test_contract_reproduces_the_training_data_settings_and_normaliser(contract, data_config):
    assert contract.data_config() == data_config
    assert contract.normalizer().std == [2.0] * len(contract.channel_names)
    assert (contract.runtime, contract.max_windows_per_request, contract.step) == (ONNX, 16, data_config.step)
    assert list(contract.units) == data_config.streams


def test_contract_refuses_channels_that_are_not_the_streams(data_config, schema):
    normalizer = ChannelNormalizer(["a", "b"], [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="trained on channels"):
        ServingConfig.for_model("m", "1", data_config, schema, ["a", "b"], normalizer)


def test_contract_without_a_normaliser_says_to_retrain(contract):
    old = replace(contract, normalizer_mean=[], normalizer_std=[], runtime=KERAS)
    with pytest.raises(ValueError, match="retrain"):
        old.normalizer()


def test_limits_below_one_are_refused(contract):
    with pytest.raises(ValueError, match="max_body_bytes"):
        replace(contract, max_body_bytes=0)


def test_materializer_round_trip_and_visualization(store, uri, contract):
    materializer = ServingConfigMaterializer(uri, artifact_store=store)
    materializer.save(contract)
    assert materializer.load(ServingConfig) == contract
    document = json.loads((Path(uri) / DATA_FILE).read_text())
    assert document["type"] == "ServingConfig" and document["model_version"] == "4"
    pages = materializer.save_visualizations(contract)
    assert "normalizer_std" in Path(next(iter(pages))).read_text()
    assert materializer.extract_metadata(contract)["runtime"] == ONNX


def test_materializer_refuses_another_document(store, uri, contract):
    materializer = ServingConfigMaterializer(uri, artifact_store=store)
    materializer.save(contract)
    path = Path(uri) / DATA_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), "type": "Other"}))
    with pytest.raises(ValueError, match="not a ServingConfig"):
        materializer.load(ServingConfig)
