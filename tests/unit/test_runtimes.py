"""Serving runtimes (har.serving): each backend against the Keras model it was exported from.

One tiny model of the project's architecture, exported with the training
pipeline's own converter (`har.export.to_onnx`, normaliser folded in), is
packaged with `mlops.bento.export_model` as the deploy pipeline does
and loaded back through `Predictor`, so producer and consumer are the real ones.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from har import export as ex
from har.modeling import TrainingConfig, build_model
from har.serving import (
    KERAS,
    MODEL_FILE,
    NATIVE,
    NORMALIZER_FILE,
    ONNX,
    ONNX_FILE,
    SERVING_CONFIG_FILE,
    KerasRuntime,
    OnnxRuntime,
    Predictor,
    ServingConfig,
    batch_buckets,
    load_runtime,
)
from har.types import ChannelNormalizer

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
WINDOW = 32
TOLERANCE = 1e-5  # max |p_onnx - p_keras|, probabilities (float32 LSTMs in two runtimes)
CONFIG = ServingConfig(model_name="m", model_version="7", class_names=["a", "b", "c"], channel_names=CHANNELS,
                       window_size=WINDOW, step=16, sample_rate_hz=25.0, merge_tolerance_ms=50.0,
                       max_windows_per_request=200)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny CNN-BiLSTM, its normaliser (far from identity: a double normalisation would show) and its ONNX."""
    import keras

    keras.utils.set_random_seed(0)
    model = build_model(WINDOW, len(CHANNELS), 3, TrainingConfig(conv_filters=[8], kernel_size=3, lstm_units=8,
                                                                  dense_units=0, dropout=0.0))
    normalizer = ChannelNormalizer(CHANNELS, [0.1, -0.2, 0.9, 0.0, 0.3, -0.1], [0.4, 0.5, 0.3, 1.5, 0.8, 2.0])
    folder = tmp_path_factory.mktemp("model")
    model.save(folder / MODEL_FILE)
    (folder / NORMALIZER_FILE).write_text(json.dumps(normalizer.to_dict()))
    (folder / ONNX_FILE).write_bytes(ex.to_onnx(model, normalizer))
    windows = np.random.default_rng(1).normal(0.2, 0.7, (70, WINDOW, len(CHANNELS))).astype(np.float32)
    reference = np.asarray(model(normalizer.transform(windows), training=False))
    return {"model": model, "normalizer": normalizer, "folder": folder, "windows": windows, "reference": reference}


def _as_family(model):
    """The Keras model as the fitted `cnn_bilstm` family it is (what training artifacts hold)."""
    from har.families import CnnBiLstm

    family = CnnBiLstm()
    family.model, family.params = model, TrainingConfig()
    family.class_names, family.channel_names, family.window_size = ["a", "b", "c"], list(CHANNELS), WINDOW
    return family


def _model_dir(exported, tmp_path: Path, config: ServingConfig, onnx: bool = True) -> Path:
    for name in (MODEL_FILE, NORMALIZER_FILE) + ((ONNX_FILE,) if onnx else ()):
        (tmp_path / name).write_bytes((exported["folder"] / name).read_bytes())
    (tmp_path / SERVING_CONFIG_FILE).write_text(json.dumps(config.to_dict()))
    return tmp_path


@pytest.mark.parametrize("runtime_class", [KerasRuntime, OnnxRuntime])
def test_each_runtime_takes_raw_windows_and_matches_keras(exported, runtime_class):
    source = exported["folder"] / ONNX_FILE if runtime_class is OnnxRuntime else exported["folder"]
    runtime = runtime_class(source, (WINDOW, len(CHANNELS)), threads=1, max_batch=64)
    assert runtime.buckets == (1, 2, 4, 8, 16, 32, 64)
    for n in (1, 3, 64):  # one, padded (Keras) / odd (ONNX), a full bucket
        out = runtime.predict_proba(exported["windows"][:n])
        assert out.shape == (n, 3) and out.dtype == np.float32
        np.testing.assert_allclose(out, exported["reference"][:n], atol=TOLERANCE, rtol=0)


def test_onnx_runtime_with_two_threads_gives_the_same_probabilities(exported):
    one = OnnxRuntime(exported["folder"] / ONNX_FILE, (WINDOW, len(CHANNELS)), threads=1, max_batch=8)
    two = OnnxRuntime((exported["folder"] / ONNX_FILE).read_bytes(), (WINDOW, len(CHANNELS)), threads=2, max_batch=8)
    np.testing.assert_allclose(two.predict_proba(exported["windows"]), one.predict_proba(exported["windows"]),
                               atol=1e-6, rtol=0)


def test_predictor_uses_the_packaged_runtime_and_splits_big_requests(exported, tmp_path):
    from dataclasses import replace

    folder = _model_dir(exported, tmp_path, replace(CONFIG, runtime=ONNX, runtime_threads=1))
    predictor = Predictor(folder, max_batch=16)
    assert predictor.runtime.name == ONNX and predictor.threads == 1
    np.testing.assert_allclose(predictor.predict_proba(exported["windows"]), exported["reference"], atol=TOLERANCE,
                               rtol=0)  # 70 windows: chunks of 16
    forced = Predictor(folder, max_batch=16, runtime=KERAS)  # legacy name of "native"
    assert forced.runtime.name == NATIVE
    np.testing.assert_allclose(forced.predict_proba(exported["windows"][:5]), exported["reference"][:5], atol=1e-6)


def test_a_model_without_onnx_export_is_served_by_keras_with_a_warning(exported, tmp_path, caplog):
    from dataclasses import replace

    folder = _model_dir(exported, tmp_path, replace(CONFIG, runtime=ONNX), onnx=False)
    with caplog.at_level(logging.WARNING, logger="har.serving"):
        runtime = load_runtime(folder, replace(CONFIG, runtime=ONNX), max_batch=4)
    assert runtime.name == NATIVE and "serving natively" in caplog.text
    np.testing.assert_allclose(runtime.predict_proba(exported["windows"][:3]), exported["reference"][:3], atol=1e-6)


def test_old_serving_json_without_runtime_means_keras_and_unknown_runtimes_are_refused(tmp_path):
    old = {key: value for key, value in CONFIG.to_dict().items() if key not in ("runtime", "runtime_threads")}
    loaded = ServingConfig.from_dict(old)
    assert loaded.runtime == KERAS and loaded.runtime_threads == 1
    with pytest.raises(ValueError, match="runtime must be one of onnx, native, keras"):
        ServingConfig.from_dict({**old, "runtime": "litert"})
    with pytest.raises(ValueError, match="unknown runtime"):
        load_runtime(tmp_path, CONFIG, runtime="tensorrt")


def test_buckets_cover_every_batch_size_up_to_the_maximum():
    assert batch_buckets(1) == (1,)
    assert batch_buckets(100) == (1, 2, 4, 8, 16, 32, 64, 100)
    assert batch_buckets(512)[-1] == 512


def test_deployment_export_writes_the_onnx_file_the_service_loads(exported):
    """mlops.bento.export_model (what package_model calls) -> BentoML model folder -> Predictor."""
    from dataclasses import replace

    import bentoml

    from mlops.bento import export_model

    onnx_bytes = (exported["folder"] / ONNX_FILE).read_bytes()
    normalizer = exported["normalizer"]
    config = replace(CONFIG, model_name="runtime-test", model_version="1", runtime=ONNX,
                     normalizer_mean=list(normalizer.mean), normalizer_std=list(normalizer.std))
    family = _as_family(exported["model"])
    with pytest.raises(ValueError, match="no ONNX export"):
        export_model(family, config)
    tag = export_model(family, config, onnx_model=onnx_bytes)
    folder = Path(bentoml.models.get(tag).path)
    assert (folder / ONNX_FILE).read_bytes() == onnx_bytes
    assert json.loads((folder / SERVING_CONFIG_FILE).read_text())["runtime"] == ONNX
    assert export_model(family, config, onnx_model=onnx_bytes) == tag  # reused
    predictor = Predictor(folder, max_batch=8)
    assert predictor.runtime.name == ONNX
    np.testing.assert_allclose(predictor.predict_proba(exported["windows"][:9]), exported["reference"][:9],
                               atol=TOLERANCE, rtol=0)
    # a native package of the same version (e.g. runtime switched back) replaces the ONNX one
    native_tag = export_model(family, replace(config, runtime=NATIVE))
    assert Predictor(bentoml.models.get(native_tag).path, max_batch=8).runtime.name == NATIVE


def test_onnx_runtime_splits_batches_over_its_best_call_size(exported):
    runtime = OnnxRuntime(exported["folder"] / ONNX_FILE, (WINDOW, len(CHANNELS)), threads=1, max_batch=512)
    assert runtime.buckets[-1] == OnnxRuntime.max_call_batch == 128
    windows = np.concatenate([exported["windows"]] * 5)  # 350 windows: calls of 128, 128, 94
    np.testing.assert_allclose(runtime.predict_proba(windows), np.concatenate([exported["reference"]] * 5),
                               atol=TOLERANCE, rtol=0)
