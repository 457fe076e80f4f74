"""Round trips, metadata, visualizations and corruption handling of the custom materializers.

Everything runs against ZenML's real `LocalArtifactStore` (rooted at `tmp_path`)
and its real file handles; nothing is mocked. The store is passed explicitly, so
no ZenML client/stack is initialised (conftest isolates ZENML_CONFIG_PATH anyway).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.materializer_registry import materializer_registry
from zenml.metadata.metadata_types import get_metadata_type

from har.errors import Issue
from har.ingest import ingest_recordings
from har.types import ChannelNormalizer, DataQualityReport, EvaluationReport, SkippedData, WindowedDataset
from har.validation import build_quality_report, merge_reports
from materializers import (
    ChannelNormalizerMaterializer,
    DataQualityReportMaterializer,
    EvaluationReportMaterializer,
    WindowedDatasetMaterializer,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLASSES = ["walking", "running", "sitting", "standing"]
CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]

# Set by `_record_unpickle` if anything ever unpickles the booby-trapped array below.
UNPICKLED: list = []


def _record_unpickle() -> str:
    UNPICKLED.append(True)
    return "unpickled!"


class _Trap:
    def __reduce__(self):
        return (_record_unpickle, ())


# ---------------------------------------------------------------- fixtures
def make_dataset(n: int = 60, window: int = 16, unlabelled: int = 5, seed: int = 0) -> WindowedDataset:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), size=n)
    y[:unlabelled] = -1
    return WindowedDataset(
        X=rng.normal(size=(n, window, len(CHANNELS))).astype(np.float32),
        y=y.astype(np.int64),
        recording_ids=np.array([f"rec-{i % 7:03d}-ü" for i in range(n)]),
        subjects=np.array([f"subject_{i % 3}" for i in range(n)]),
        start_times=1.7e9 + np.arange(n, dtype=np.float64) * 1.28,
        class_names=list(CLASSES),
        channel_names=list(CHANNELS),
        sample_rate_hz=50.0,
        step=8,
    )


def assert_metadata_types(metadata: dict) -> None:
    """ZenML looks up the *exact* type (np.float64 or np.int64 would be skipped with a warning)."""
    for key, value in metadata.items():
        assert isinstance(key, str) and len(key) <= 255
        get_metadata_type(value)  # raises ValueError on an unsupported type
        assert type(value) in (str, int, float, bool, list, dict), (key, type(value))


def assert_visualizations(visualizations: dict, uri: str, expected: dict) -> None:
    assert {os.path.basename(path): kind for path, kind in visualizations.items()} == expected
    for path, kind in visualizations.items():
        assert os.path.dirname(path) == uri
        content = Path(path).read_bytes()
        assert len(content) > 200
        if kind == VisualizationType.IMAGE:
            assert content.startswith(PNG_MAGIC)
        else:
            text = content.decode("utf-8")
            assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")


def save_npy_with_pickle(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=True)


# ---------------------------------------------------------- WindowedDataset
def test_dataset_round_trip_preserves_arrays_dtypes_and_fields(store, uri):
    data = make_dataset()
    materializer = WindowedDatasetMaterializer(uri=uri, artifact_store=store)
    materializer.save(data)

    assert sorted(os.listdir(uri)) == sorted(
        ["X.npy", "y.npy", "recording_ids.npy", "subjects.npy", "start_times.npy", "meta.json"]
    )
    loaded = WindowedDatasetMaterializer(uri=uri, artifact_store=store).load(WindowedDataset)

    assert isinstance(loaded, WindowedDataset)
    for name in ("X", "y", "recording_ids", "subjects", "start_times"):
        original, restored = getattr(data, name), getattr(loaded, name)
        assert restored.dtype == original.dtype, name
        np.testing.assert_array_equal(restored, original)
    assert loaded.recording_ids.dtype.kind == "U" and loaded.recording_ids[0] == "rec-000-ü"
    assert isinstance(loaded.subjects[0], np.str_)
    assert loaded.class_names == CLASSES and loaded.channel_names == CHANNELS
    assert loaded.sample_rate_hz == 50.0 and loaded.step == 8
    meta = json.loads((Path(uri) / "meta.json").read_text())
    assert meta["format_version"] == 1 and meta["type"] == "WindowedDataset"


def test_dataset_files_are_plain_npy_without_objects(store, uri):
    data = make_dataset()
    # object-dtype strings (e.g. from pandas) are stored as fixed-width unicode, not pickled
    data.recording_ids = data.recording_ids.astype(object)
    WindowedDatasetMaterializer(uri=uri, artifact_store=store).save(data)
    for name in ("X", "y", "recording_ids", "subjects", "start_times"):
        array = np.load(Path(uri) / f"{name}.npy", allow_pickle=False)
        assert array.dtype.kind != "O"
    assert np.load(Path(uri) / "recording_ids.npy").dtype.str.startswith("<U")
    loaded = WindowedDatasetMaterializer(uri=uri, artifact_store=store).load(WindowedDataset)
    assert loaded.recording_ids.dtype.kind == "U"
    assert loaded.recording_ids.tolist() == data.recording_ids.tolist()


def test_dataset_rejects_non_string_object_ids(store, uri):
    data = make_dataset()
    data.subjects = np.array([object()] * data.n_windows, dtype=object)
    with pytest.raises(TypeError, match="only str"):
        WindowedDatasetMaterializer(uri=uri, artifact_store=store).save(data)


def test_dataset_empty_and_unlabelled_round_trip(store, tmp_path):
    empty = make_dataset(n=40).subset(np.zeros(40, dtype=bool))
    unlabelled = make_dataset(n=12, unlabelled=12)
    for name, data in (("empty", empty), ("unlabelled", unlabelled)):
        uri = str(tmp_path / name)
        os.mkdir(uri)
        materializer = WindowedDatasetMaterializer(uri=uri, artifact_store=store)
        materializer.save(data)
        loaded = WindowedDatasetMaterializer(uri=uri, artifact_store=store).load(WindowedDataset)
        assert loaded.X.shape == data.X.shape and loaded.X.dtype == np.float32
        np.testing.assert_array_equal(loaded.y, data.y)
        assert_metadata_types(materializer.extract_metadata(data))
    assert (
        WindowedDatasetMaterializer(uri=str(tmp_path / "empty"), artifact_store=store).save_visualizations(
            empty
        )
        == {}
    )
    visualizations = WindowedDatasetMaterializer(
        uri=str(tmp_path / "unlabelled"), artifact_store=store
    ).save_visualizations(unlabelled)
    assert len(visualizations) == 2


def test_dataset_metadata(store, uri):
    data = make_dataset()
    metadata = WindowedDatasetMaterializer(uri=uri, artifact_store=store).extract_metadata(data)
    assert_metadata_types(metadata)
    counts = data.class_counts()
    assert metadata["n_windows"] == 60
    assert metadata["window_size"] == 16
    assert metadata["n_channels"] == 6
    assert metadata["channel_names"] == ",".join(CHANNELS)
    assert metadata["sample_rate_hz"] == 50.0
    assert metadata["step"] == 8
    assert metadata["n_recordings"] == 7
    assert metadata["n_subjects"] == 3
    assert metadata["n_unlabelled"] == 5
    assert metadata["dtype"] == "float32"
    assert {name: metadata[f"count_{name}"] for name in CLASSES} == counts
    assert sum(counts.values()) + metadata["n_unlabelled"] == 60


def test_dataset_visualizations_are_pngs_inside_the_artifact(store, uri):
    data = make_dataset()
    visualizations = WindowedDatasetMaterializer(uri=uri, artifact_store=store).save_visualizations(data)
    assert_visualizations(
        visualizations,
        uri,
        {"example_windows.png": VisualizationType.IMAGE, "class_balance.png": VisualizationType.IMAGE},
    )


@pytest.fixture
def saved_dataset(store, uri):
    WindowedDatasetMaterializer(uri=uri, artifact_store=store).save(make_dataset())
    return WindowedDatasetMaterializer(uri=uri, artifact_store=store)


def test_dataset_truncated_meta_json_is_a_clear_error(saved_dataset, uri):
    meta = Path(uri) / "meta.json"
    meta.write_text(meta.read_text()[:40])
    with pytest.raises(ValueError, match=r"meta\.json.*corrupt"):
        saved_dataset.load(WindowedDataset)


def test_dataset_meta_missing_fields_or_new_version(saved_dataset, uri):
    meta_path = Path(uri) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "channel_names"}))
    with pytest.raises(ValueError, match=r"meta\.json: missing field\(s\) channel_names"):
        saved_dataset.load(WindowedDataset)
    meta_path.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ValueError, match=r"meta\.json: format_version 99 is not supported"):
        saved_dataset.load(WindowedDataset)
    meta_path.write_text(json.dumps({**meta, "type": "EvaluationReport"}))
    with pytest.raises(ValueError, match="not a WindowedDataset"):
        saved_dataset.load(WindowedDataset)


def test_dataset_mismatched_lengths_are_a_clear_error(saved_dataset, uri):
    np.save(Path(uri) / "y.npy", np.zeros(59, dtype=np.int64))
    with pytest.raises(ValueError, match=r"y\.npy: shape \(59,\) does not match n_windows=60"):
        saved_dataset.load(WindowedDataset)


def test_dataset_channel_mismatch_and_label_range(saved_dataset, uri):
    np.save(Path(uri) / "y.npy", np.full(60, 4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"y\.npy: labels must lie in \[-1, 3\]"):
        saved_dataset.load(WindowedDataset)
    np.save(Path(uri) / "X.npy", np.zeros((60, 16, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"X\.npy: 5 channels"):
        saved_dataset.load(WindowedDataset)


def test_dataset_object_npy_is_refused_without_unpickling(saved_dataset, uri):
    trap = np.empty(60, dtype=object)
    trap[:] = [_Trap() for _ in range(60)]
    save_npy_with_pickle(os.path.join(uri, "subjects.npy"), trap)
    UNPICKLED.clear()
    with pytest.raises(ValueError, match=r"subjects\.npy: not a readable \.npy array without pickle"):
        saved_dataset.load(WindowedDataset)
    assert UNPICKLED == []


def test_dataset_truncated_or_missing_array(saved_dataset, uri):
    x_path = Path(uri) / "X.npy"
    x_path.write_bytes(x_path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"X\.npy"):
        saved_dataset.load(WindowedDataset)
    x_path.unlink()
    with pytest.raises(FileNotFoundError, match=r"X\.npy: missing"):
        saved_dataset.load(WindowedDataset)


def test_dataset_wrong_dtype_is_refused(saved_dataset, uri):
    np.save(Path(uri) / "start_times.npy", np.array([str(i) for i in range(60)]))
    with pytest.raises(ValueError, match=r"start_times\.npy: unexpected dtype"):
        saved_dataset.load(WindowedDataset)


# ------------------------------------------------------- ChannelNormalizer
def make_normalizer() -> ChannelNormalizer:
    return ChannelNormalizer(
        channel_names=list(CHANNELS),
        mean=[float(v) for v in np.linspace(-1, 1, 6)],
        std=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
    )


def test_normalizer_round_trip_metadata_and_visualization(store, uri):
    data = make_normalizer()
    materializer = ChannelNormalizerMaterializer(uri=uri, artifact_store=store)
    materializer.save(data)
    assert os.listdir(uri) == ["normalizer.json"]
    loaded = ChannelNormalizerMaterializer(uri=uri, artifact_store=store).load(ChannelNormalizer)
    assert loaded == data

    metadata = materializer.extract_metadata(data)
    assert_metadata_types(metadata)
    assert metadata["n_channels"] == 6 and metadata["channel_names"] == ",".join(CHANNELS)
    assert metadata["mean_acc_x"] == -1.0 and metadata["std_gyro_z"] == 3.0
    assert_visualizations(
        materializer.save_visualizations(data), uri, {"normalizer.html": VisualizationType.HTML}
    )


def test_normalizer_corrupt_content_is_a_clear_error(store, uri):
    materializer = ChannelNormalizerMaterializer(uri=uri, artifact_store=store)
    materializer.save(make_normalizer())
    path = Path(uri) / "normalizer.json"
    content = json.loads(path.read_text())
    path.write_text(json.dumps({**content, "std": content["std"][:-1]}))
    with pytest.raises(ValueError, match=r"normalizer\.json: 6 channel names but 6 means and 5 stds"):
        materializer.load(ChannelNormalizer)
    path.write_text(json.dumps({**content, "std": [0.0] * 6}))
    with pytest.raises(ValueError, match="std must be finite and > 0"):
        materializer.load(ChannelNormalizer)
    path.write_text("{")
    with pytest.raises(ValueError, match=r"normalizer\.json: corrupt"):
        materializer.load(ChannelNormalizer)


# ------------------------------------------------------ DataQualityReport
@pytest.fixture
def quality_reports(make_recording, data_dir, data_config, schema):
    """(passed, failed) reports produced by ingestion + validation on generated recordings.

    The data has a gap, a segment shorter than a window and a too-short
    recording (warnings and skipped data); the failed one also has an
    out-of-range value and an activity holding markup (errors).
    """
    for i in range(3):
        make_recording(f"s{i}", labels=[("walking", 0, 10), ("running", 10, 20), ("sitting", 20, 30)])
    make_recording("gappy", drop={"accelerometer": [(10.0, 12.0), (13.0, 16.0)]})
    make_recording("short", duration_s=5)
    frame, ingest_report = ingest_recordings(data_dir, data_config, schema)
    passed = merge_reports(ingest_report, build_quality_report(frame, data_config, schema))
    broken = frame.copy()
    broken.loc[17, "activity"] = "<script>alert(1)</script>"
    broken.loc[40:45, "acc_z"] = 30.0
    failed = merge_reports(ingest_report, build_quality_report(broken, data_config, schema))
    assert passed.passed and passed.warnings and passed.skipped and not failed.passed
    return passed, failed


def test_quality_report_round_trip(store, uri, quality_reports):
    for report in quality_reports:
        materializer = DataQualityReportMaterializer(uri=uri, artifact_store=store)
        materializer.save(report)
        assert os.listdir(uri) == ["report.json"]
        loaded = DataQualityReportMaterializer(uri=uri, artifact_store=store).load(DataQualityReport)
        assert loaded == report
        assert all(isinstance(i, Issue) for i in loaded.issues)
        assert all(isinstance(s, SkippedData) for s in loaded.skipped)


def test_quality_report_json_is_plain_and_loads_numpy_values_as_plain(store, uri, quality_reports):
    report = quality_reports[0]
    report.summary["numpy_count"] = np.int64(3)
    report.summary["activities"] = ("walking", "running")
    materializer = DataQualityReportMaterializer(uri=uri, artifact_store=store)
    materializer.save(report)
    content = json.loads((Path(uri) / "report.json").read_text())
    assert content["format_version"] == 2 and content["type"] == "DataQualityReport"
    assert content["issues"][0].keys() == {"severity", "recording", "file", "column", "row", "message", "more_rows"}
    assert content["skipped"][0].keys() == {"recording", "segment", "seconds", "reason"}
    loaded = materializer.load(DataQualityReport)
    assert type(loaded.summary["numpy_count"]) is int and loaded.summary["activities"] == ["walking", "running"]


def test_quality_report_metadata(store, uri, quality_reports):
    passed, failed = quality_reports
    materializer = DataQualityReportMaterializer(uri=uri, artifact_store=store)
    metadata = materializer.extract_metadata(passed)
    assert_metadata_types(metadata)
    assert metadata["passed"] is True and metadata["n_errors"] == 0
    assert metadata["n_warnings"] == len(passed.warnings) >= 4  # gap, short segment, short recording x2, ...
    assert metadata["n_skipped"] == 2 and metadata["skipped_s"] == pytest.approx(1.0 + 5.02)
    assert metadata["n_recordings"] == 4 and metadata["n_subjects"] == 4
    assert metadata["n_recordings_found"] == 5 and metadata["n_recordings_skipped"] == 1
    assert metadata["duration_s"] == pytest.approx(passed.summary["duration_s"])

    metadata = materializer.extract_metadata(failed)
    assert_metadata_types(metadata)
    assert metadata["passed"] is False and metadata["n_errors"] == len(failed.errors) == 2


def test_quality_report_html(store, uri, quality_reports):
    passed, failed = quality_reports
    materializer = DataQualityReportMaterializer(uri=uri, artifact_store=store)
    visualizations = materializer.save_visualizations(failed)
    assert_visualizations(visualizations, uri, {"report.html": VisualizationType.HTML})
    text = (Path(uri) / "report.html").read_text()
    assert 'class="banner fail">FAILED' in text and "2 error(s)" in text and "2 skipped" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    for header in ("severity", "recording", "file", "column", "row", "more_rows", "message"):
        assert f"<th>{header}</th>" in text
    assert "<th>line</th>" not in text
    assert '<tr class="error">' in text and '<tr class="warning">' in text
    assert "<td>sensor_data</td>" in text
    assert '<td class="num">19</td>' in text and '<td class="num">42</td>' in text  # activity, range rows
    assert "Skipped data (2)" in text
    for header in ("segment", "seconds", "reason"):
        assert f"<th>{header}</th>" in text
    assert "<td>short</td>" in text and "<td>gappy</td>" in text
    assert "shorter than recording.min_duration_s" in text and "shorter than one window" in text

    materializer.save_visualizations(passed)
    text = (Path(uri) / "report.html").read_text()
    assert 'class="banner ok">PASSED' in text and "0 error(s)" in text


def test_quality_report_html_of_a_clean_report(store, uri, quality_reports):
    clean = DataQualityReport(passed=True, summary={}, recordings=quality_reports[0].recordings)
    DataQualityReportMaterializer(uri=uri, artifact_store=store).save_visualizations(clean)
    text = (Path(uri) / "report.html").read_text()
    assert "no issues found" in text and "nothing skipped" in text


def test_quality_report_corrupt_json(store, uri, quality_reports, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("the materializer must never unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    materializer = DataQualityReportMaterializer(uri=uri, artifact_store=store)
    materializer.save(quality_reports[1])
    path = Path(uri) / "report.json"
    content = json.loads(path.read_text())

    def write(value):
        path.write_text(json.dumps(value))

    write({k: v for k, v in content.items() if k != "issues"})
    with pytest.raises(ValueError, match=r"report\.json: missing field\(s\) issues"):
        materializer.load(DataQualityReport)
    write({k: v for k, v in content.items() if k != "skipped"})
    with pytest.raises(ValueError, match=r"report\.json: missing field\(s\) skipped"):
        materializer.load(DataQualityReport)
    write({**content, "passed": "yes"})
    with pytest.raises(ValueError, match=r"report\.json: 'passed' must be true/false"):
        materializer.load(DataQualityReport)
    write({**content, "passed": True})
    with pytest.raises(ValueError, match=r"report\.json: 'passed' is True but the report lists 2 error"):
        materializer.load(DataQualityReport)
    write({**content, "issues": [{**content["issues"][0], "severity": "fatal"}]})
    with pytest.raises(ValueError, match=r"report\.json: malformed issue"):
        materializer.load(DataQualityReport)
    write({**content, "skipped": [{"recording": "r1"}]})
    with pytest.raises(ValueError, match=r"report\.json: malformed"):
        materializer.load(DataQualityReport)
    write({**content, "format_version": 3})
    with pytest.raises(ValueError, match=r"format_version 3 is not supported"):
        materializer.load(DataQualityReport)
    write(content)
    path.write_text(path.read_text()[:-10])
    with pytest.raises(ValueError, match=r"report\.json: corrupt"):
        materializer.load(DataQualityReport)


def test_quality_report_version_1_files_still_load(store, uri, quality_reports):
    report = quality_reports[1]
    materializer = DataQualityReportMaterializer(uri=uri, artifact_store=store)
    materializer.save(report)
    path = Path(uri) / "report.json"
    content = json.loads(path.read_text())
    path.write_text(json.dumps({**{k: v for k, v in content.items() if k != "skipped"}, "format_version": 1}))
    loaded = materializer.load(DataQualityReport)
    assert loaded.issues == report.issues and loaded.skipped == []


# -------------------------------------------------------- EvaluationReport
def make_evaluation() -> EvaluationReport:
    matrix = [[50, 3, 0, 1], [4, 40, 0, 0], [0, 0, 30, 5], [1, 0, 6, 25]]
    per_class = {}
    counts = np.array(matrix)
    for i, name in enumerate(CLASSES):
        precision = counts[i, i] / counts[:, i].sum()
        recall = counts[i, i] / counts[i].sum()
        per_class[name] = {
            "precision": precision,  # numpy floats on purpose
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall),
            "support": int(counts[i].sum()),
        }
    f1s = [per_class[name]["f1"] for name in CLASSES]
    return EvaluationReport(
        accuracy=float(np.trace(counts) / counts.sum()),
        macro_f1=float(np.mean(f1s)),
        class_names=list(CLASSES),
        per_class=per_class,
        confusion_matrix=matrix,
        n_windows=int(counts.sum()),
        model_version="v3",
    )


def test_evaluation_round_trip_metadata_and_visualizations(store, uri):
    data = make_evaluation()
    materializer = EvaluationReportMaterializer(uri=uri, artifact_store=store)
    materializer.save(data)
    assert os.listdir(uri) == ["evaluation.json"]
    loaded = EvaluationReportMaterializer(uri=uri, artifact_store=store).load(EvaluationReport)
    assert loaded.confusion_matrix == data.confusion_matrix
    assert loaded.class_names == CLASSES and loaded.model_version == "v3" and loaded.n_windows == 165
    assert loaded.accuracy == pytest.approx(data.accuracy)
    assert loaded.per_class["sitting"]["f1"] == pytest.approx(data.per_class["sitting"]["f1"])
    assert type(loaded.per_class["sitting"]["f1"]) is float

    metadata = materializer.extract_metadata(data)
    assert_metadata_types(metadata)
    assert metadata["accuracy"] == pytest.approx(145 / 165)
    assert metadata["macro_f1"] == pytest.approx(data.macro_f1)
    assert metadata["model_version"] == "v3" and metadata["n_classes"] == 4
    assert {f"f1_{name}" for name in CLASSES} <= set(metadata)

    visualizations = materializer.save_visualizations(data)
    assert_visualizations(
        visualizations,
        uri,
        {"confusion_matrix.png": VisualizationType.IMAGE, "per_class.html": VisualizationType.HTML},
    )
    text = (Path(uri) / "per_class.html").read_text()
    assert "macro average" in text and "walking" in text and "<th>f1</th>" in text


def test_evaluation_corrupt_content(store, uri):
    materializer = EvaluationReportMaterializer(uri=uri, artifact_store=store)
    materializer.save(make_evaluation())
    path = Path(uri) / "evaluation.json"
    content = json.loads(path.read_text())
    path.write_text(json.dumps({**content, "confusion_matrix": content["confusion_matrix"][:3]}))
    with pytest.raises(ValueError, match=r"evaluation\.json: confusion_matrix must be 4x4"):
        materializer.load(EvaluationReport)
    path.write_text(json.dumps({**content, "format_version": 0}))
    with pytest.raises(ValueError, match=r"evaluation\.json: format_version 0 is not supported"):
        materializer.load(EvaluationReport)


# ------------------------------------------------------------- Keras model
@pytest.fixture(scope="module")
def keras_model():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(16, 3))
    x = keras.layers.Conv1D(8, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="tiny_har")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)  # one tiny epoch, so the optimizer state is saved too
    model.fit(rng.normal(size=(16, 16, 3)).astype(np.float32), rng.integers(0, 4, 16), epochs=1, verbose=0)
    return model


def test_keras_round_trip_predicts_identically(store, uri, keras_model):
    import keras

    from materializers import KerasModelMaterializer

    assert KerasModelMaterializer.ASSOCIATED_ARTIFACT_TYPE == ArtifactType.MODEL
    materializer = KerasModelMaterializer(uri=uri, artifact_store=store)
    materializer.save(keras_model)
    assert sorted(os.listdir(uri)) == ["meta.json", "model.keras"]

    loaded = KerasModelMaterializer(uri=uri, artifact_store=store).load(keras.Model)
    batch = np.random.default_rng(1).normal(size=(5, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(batch, verbose=0), keras_model.predict(batch, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in keras_model.layers
    ]
    assert int(loaded.optimizer.iterations.numpy()) == int(keras_model.optimizer.iterations.numpy()) == 1

    metadata = materializer.extract_metadata(keras_model)
    assert_metadata_types(metadata)
    assert metadata["n_params"] == keras_model.count_params() == 3 * 3 * 8 + 8 + 8 * 4 + 4
    assert metadata["n_trainable_params"] == metadata["n_params"]
    assert metadata["input_shape"] == "(None, 16, 3)" and metadata["output_shape"] == "(None, 4)"
    assert metadata["n_classes"] == 4 and metadata["window_size"] == 16 and metadata["n_channels"] == 3
    assert metadata["n_layers"] == 4

    assert_visualizations(
        materializer.save_visualizations(keras_model), uri, {"model_summary.html": VisualizationType.HTML}
    )
    text = (Path(uri) / "model_summary.html").read_text()
    assert "GlobalAveragePooling1D" in text and "(None, 14, 8)" in text and '<td class="num">116</td>' in text


def test_keras_corrupt_artifact_is_a_clear_error(store, uri, keras_model):
    from materializers import KerasModelMaterializer

    materializer = KerasModelMaterializer(uri=uri, artifact_store=store)
    materializer.save(keras_model)
    model_path = Path(uri) / "model.keras"
    model_path.write_bytes(model_path.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"model\.keras: cannot load Keras model"):
        materializer.load(object)

    meta_path = Path(uri) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "keras_version": "2.15.0"}))
    with pytest.raises(ValueError, match=r"meta\.json: model was saved with Keras 2\.15\.0"):
        materializer.load(object)
    meta_path.write_text("not json")
    with pytest.raises(ValueError, match=r"meta\.json: corrupt"):
        materializer.load(object)


# ------------------------------------------------------------ registration
def test_materializers_are_registered_with_expected_artifact_types():
    expected = {
        WindowedDataset: (WindowedDatasetMaterializer, ArtifactType.DATA),
        ChannelNormalizer: (ChannelNormalizerMaterializer, ArtifactType.DATA),
        DataQualityReport: (DataQualityReportMaterializer, ArtifactType.DATA_ANALYSIS),
        EvaluationReport: (EvaluationReportMaterializer, ArtifactType.DATA_ANALYSIS),
    }
    for data_type, (materializer, artifact_type) in expected.items():
        assert materializer_registry[data_type] is materializer
        assert materializer.ASSOCIATED_ARTIFACT_TYPE == artifact_type


def test_importing_the_package_does_not_import_keras():
    code = "import sys, materializers; assert 'keras' not in sys.modules, 'keras imported'; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
