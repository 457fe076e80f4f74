"""On-device exports (har.export) and their materializer, on a tiny model of the project's architecture.

One module-scoped export run (LiteRT float32 + int8, ONNX, with parity, test
metrics and a short benchmark in subprocesses) feeds every test; the
materializer runs against ZenML's real LocalArtifactStore.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from zenml.artifact_stores.local_artifact_store import LocalArtifactStore
from zenml.enums import ArtifactType, VisualizationType
from zenml.metadata.metadata_types import get_metadata_type

from har import export as ex
from har.modeling import TrainingConfig, build_model, predict_proba
from har.normalization import fit_normalizer
from har.outcomes import QualityGateFailed
from har.types import WindowedDataset
from materializers import ExportedModelMaterializer

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
CLASSES = ["walking", "running", "sitting"]
WINDOW = 32


def make_windows(n: int, seed: int) -> WindowedDataset:
    """Three separable activities in raw units: a 1 g offset on acc_z, larger gyro values (rad/s)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    t = np.arange(WINDOW) / 25.0
    wave = np.sin(2 * np.pi * (y[:, None] + 1) * t)[..., None] * np.array([0.6, 0.3, 0.1, 2.0, 1.0, 0.2])
    X = wave + rng.normal(0, 0.05, (n, WINDOW, len(CHANNELS)))
    X[..., 2] += 1.0
    return WindowedDataset(
        X=X.astype(np.float32), y=y.astype(np.int64), recording_ids=np.array([f"r{i % 4}" for i in range(n)]),
        subjects=np.array([f"s{i % 2}" for i in range(n)]), start_times=np.arange(n, dtype=np.float64),
        class_names=list(CLASSES), channel_names=list(CHANNELS), sample_rate_hz=25.0, step=16,
    )


@pytest.fixture(scope="module")
def trained():
    import keras

    train, test = make_windows(240, seed=1), make_windows(120, seed=2)
    normalizer = fit_normalizer(train)
    keras.utils.set_random_seed(0)
    config = TrainingConfig(conv_filters=[8], kernel_size=3, lstm_units=8, dense_units=0, dropout=0.0,
                            learning_rate=0.01)
    model = build_model(WINDOW, len(CHANNELS), len(CLASSES), config)
    model.fit(normalizer.transform(train.X), train.y, epochs=8, batch_size=32, verbose=0)
    return model, normalizer, train, test


@pytest.fixture(scope="module")
def schema():
    from har.config import load_schema

    return load_schema(Path(__file__).resolve().parents[2] / "configs" / "schema.yaml")


@pytest.fixture(scope="module")
def exports(trained, schema):
    model, normalizer, train, test = trained
    spec = ex.preprocessing_spec(train, normalizer, schema)
    return {e.name: e for e in ex.export_all(model, normalizer, train, test, spec, representative_size=64,
                                             benchmark_runs=5)}


def saved(export: ex.ExportedModel, store: LocalArtifactStore, tmp_path: Path) -> str:
    uri = str(tmp_path / export.name)
    os.mkdir(uri)
    ExportedModelMaterializer(uri=uri, artifact_store=store).save(export)
    return uri


# ------------------------------------------------------------------------------------------- parity
def test_every_format_exported(exports):
    assert set(exports) == {"litert_float32", "litert_int8", "onnx_float32"}
    assert exports["litert_float32"].content[4:8] == b"TFL3" and exports["litert_int8"].content[4:8] == b"TFL3"


@pytest.mark.parametrize("name", ["litert_float32", "litert_int8", "onnx_float32"])
def test_export_agrees_with_keras_on_raw_windows(exports, trained, name):
    model, normalizer, _, test = trained
    export = exports[name]
    assert export.parity["n_windows"] == test.n_windows
    assert export.parity["top1_agreement"] >= 0.99
    tolerance = 0.3 if export.precision == ex.INT8 else 1e-4  # int8: a few near-ties move by ~0.1
    assert export.parity["max_prob_diff"] < tolerance
    # the normaliser is inside: raw windows give Keras' answer, pre-normalised ones do not
    reference = predict_proba(model, normalizer.transform(test.X[:40]))
    raw = ex.predict(export.format, export.content, test.X[:40])
    twice = ex.predict(export.format, export.content, normalizer.transform(test.X[:40]))
    assert np.abs(raw - reference).max() < tolerance
    assert np.mean(raw.argmax(axis=1) == reference.argmax(axis=1)) >= 0.95
    assert np.abs(twice - reference).max() > 0.3
    np.testing.assert_allclose(raw.sum(axis=1), 1.0, atol=1e-2)


def test_float_exports_match_keras_to_float_precision(exports):
    assert exports["litert_float32"].parity["max_prob_diff"] < 1e-5
    assert exports["onnx_float32"].parity["max_prob_diff"] < 1e-5


def test_unrolled_copy_has_same_weights_and_outputs(trained):
    model = trained[0]
    copy = ex.unrolled_copy(model)
    assert copy is not model
    assert copy.get_layer("bilstm").forward_layer.unroll and not model.get_layer("bilstm").forward_layer.unroll
    probe = trained[3].X[:8]
    np.testing.assert_allclose(np.asarray(copy(probe)), np.asarray(model(probe)), atol=1e-6)


# ----------------------------------------------------------------------------------- ops and int8
@pytest.mark.parametrize("name", ["litert_float32", "litert_int8"])
def test_litert_uses_builtin_ops_only(exports, name):
    from ai_edge_litert import schema_py_generated as schema

    ops = exports[name].ops
    builtin = {key for key in vars(schema.BuiltinOperator) if not key.startswith("_")} - {"CUSTOM"}
    assert ops and set(ops) <= builtin, ops
    assert not [op for op in ops if op.startswith("Flex")]
    assert "WHILE" not in ops  # unrolled: nothing XNNPACK cannot take


def test_int8_export_is_quantized_and_within_tflm_ops(exports):
    int8, float32 = exports["litert_int8"], exports["litert_float32"]
    assert int8.tensor_dtypes.get("int8", 0) > 0.9 * sum(int8.tensor_dtypes.values()) - 10
    # The raw input and the probabilities stay float32; the converter may also keep a few tiny state
    # tensors (the unrolled LSTM's zero initial states, 1 x units) in float, depending on the version.
    assert 2 <= int8.tensor_dtypes.get("float32", 0) <= 8
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(int8.ops)
    assert int8.benchmark["constants_kb"] < float32.benchmark["constants_kb"]
    assert int8.tflm_compatible and int8.tflm_unsupported_ops == []
    assert not float32.tflm_compatible and "microcontroller needs the int8" in float32.device_class
    assert "LSTM" in exports["onnx_float32"].ops  # ONNX keeps the recurrent op


def test_report_figures_present(exports):
    for export in exports.values():
        assert export.benchmark["latency_ms_median"] > 0 and export.benchmark["runs"] == 5
        assert export.benchmark["peak_memory_kb"] >= 0
        assert 0.0 <= export.evaluation["accuracy"] <= 1.0 and 0.0 <= export.evaluation["macro_f1"] <= 1.0
        assert export.size_kb > 0 and export.converter


def test_preprocessing_spec_from_windows_and_schema(exports, trained, schema):
    spec = exports["litert_int8"].preprocessing
    assert spec.sample_rate_hz == 25.0 and spec.window_size == WINDOW and spec.step == 16
    assert spec.channel_names == CHANNELS and spec.class_names == CLASSES
    assert spec.channel_units == {"acc_x": "g", "acc_y": "g", "acc_z": "g",
                                  "gyro_x": "rad/s", "gyro_y": "rad/s", "gyro_z": "rad/s"}
    text = " ".join(spec.instructions())
    assert "25 Hz" in text and "32 samples (1.28 s)" in text and "gyro_z [rad/s]" in text
    renamed = trained[2].subset(np.arange(4))
    renamed.channel_names = ["a", "b", "c", "d", "e", "f"]
    with pytest.raises(ValueError, match="belong to no stream"):
        ex.preprocessing_spec(renamed, fit_normalizer(renamed), schema)


# ------------------------------------------------------------------------------------- parity gate
def test_parity_gate_fails_below_threshold(exports):
    items = list(exports.values())
    ex.check_parity(items, 0.99, model_version="7")  # passes
    with pytest.raises(ex.ExportParityError, match=r"model version 7: .*top-1 agreement .* < required 1\.0100"):
        ex.check_parity(items, 1.01, model_version="7")
    assert issubclass(ex.ExportParityError, QualityGateFailed)  # run.py: exit code of a failed gate


def test_parity_counts_disagreements():
    reference = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], np.float32)
    candidate = np.array([[0.8, 0.2], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]], np.float32)
    result = ex.parity(reference, candidate)
    assert result["top1_agreement"] == 0.75 and result["max_prob_diff"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="cannot compare"):
        ex.parity(reference, candidate[:2])


# ------------------------------------------------------------------------------------- materializer
@pytest.mark.parametrize("name", ["litert_float32", "litert_int8", "onnx_float32"])
def test_materializer_round_trip_metadata_and_report(exports, store, tmp_path, name):
    export = exports[name]
    uri = saved(export, store, tmp_path)
    assert sorted(os.listdir(uri)) == sorted([export.file_name, "export.json"])
    assert Path(uri, export.file_name).read_bytes() == export.content  # the file a device loads, as is
    loaded = ExportedModelMaterializer(uri=uri, artifact_store=store).load(ex.ExportedModel)
    assert loaded.content == export.content and loaded.describe() == export.describe()

    materializer = ExportedModelMaterializer(uri=uri, artifact_store=store)
    metadata = materializer.extract_metadata(export)
    for key, value in metadata.items():
        get_metadata_type(value)
        assert type(value) in (str, int, float, bool), (key, type(value))
    assert metadata["format"] == export.format and metadata["size_kb"] == round(export.size_kb, 2)
    assert metadata["top1_agreement"] >= 0.99 and metadata["channel_units"].startswith("acc_x=g")
    assert metadata["quantization"].startswith("int8" if export.precision == ex.INT8 else "none")
    visualizations = materializer.save_visualizations(export)
    ((path, kind),) = visualizations.items()
    html = Path(path).read_text()
    assert kind == VisualizationType.HTML and html.startswith("<!DOCTYPE html>")
    assert "Preprocessing contract" in html and "rad/s" in html and "tflite-micro" in html
    assert ExportedModelMaterializer.ASSOCIATED_ARTIFACT_TYPE == ArtifactType.MODEL


def test_materializer_refuses_corrupted_file(exports, store, tmp_path):
    export = exports["litert_int8"]
    uri = saved(export, store, tmp_path)
    model_file = Path(uri, export.file_name)
    damaged = bytearray(export.content)
    damaged[len(damaged) // 2] ^= 0xFF
    model_file.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="corrupt model file"):
        ExportedModelMaterializer(uri=uri, artifact_store=store).load(ex.ExportedModel)
    # a swapped file whose checksum was "fixed" too is still refused by the format's parser
    meta_file = Path(uri, "export.json")
    meta = json.loads(meta_file.read_text())
    model_file.write_bytes(b"not a model at all")
    meta["sha256"] = ex.hashlib.sha256(b"not a model at all").hexdigest()
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="TFL3"):
        ExportedModelMaterializer(uri=uri, artifact_store=store).load(ex.ExportedModel)


def test_materializer_refuses_bad_metadata_and_missing_file(exports, store, tmp_path):
    export = exports["onnx_float32"]
    uri = saved(export, store, tmp_path)
    Path(uri, export.file_name).unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        ExportedModelMaterializer(uri=uri, artifact_store=store).load(ex.ExportedModel)
    Path(uri, "export.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt exported-model metadata"):
        ExportedModelMaterializer(uri=uri, artifact_store=store).load(ex.ExportedModel)
    with pytest.raises(ValueError, match="not a valid ONNX model"):
        ex.onnx_facts(export.content[: len(export.content) // 3])
