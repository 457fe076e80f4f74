"""`CrossValidationReportMaterializer`: round trip, metadata, visualizations and refusal of corrupted files.

The fixture is a real report from `cross_validate` (nearest-centroid family on
tiny generated windows), not an invented dict. Runs against ZenML's real
`LocalArtifactStore` rooted at `tmp_path`; nothing is mocked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.materializer_registry import materializer_registry
from zenml.metadata.metadata_types import get_metadata_type

from har.cross_validation import cross_validate, subject_folds
from har.types import CV_METRICS, CrossValidationReport
from materializers import CrossValidationReportMaterializer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report() -> CrossValidationReport:
    from tests.unit.test_cross_validation import make_windows, nearest_centroid

    windows = make_windows(n_subjects=5)
    windows.subjects = np.where(windows.subjects == "s04", "<b>s04</b>", windows.subjects)  # markup is escaped
    folds = subject_folds(windows.subjects, k=3, seed=0)
    return cross_validate(
        windows,
        nearest_centroid,
        folds,
        seeds=(0, 1),
        family="nearest_centroid",
        params={"features": "channel mean", "noise": np.float64(0.05), "layers": (1, 2)},
    )


@pytest.fixture
def saved(store, uri, report) -> CrossValidationReportMaterializer:
    materializer = CrossValidationReportMaterializer(uri=uri, artifact_store=store)
    materializer.save(report)
    return materializer


def test_registered_for_its_type():
    assert materializer_registry[CrossValidationReport] is CrossValidationReportMaterializer
    assert CrossValidationReportMaterializer.ASSOCIATED_ARTIFACT_TYPE == ArtifactType.DATA_ANALYSIS


def test_round_trip(saved, store, uri, report):
    assert os.listdir(uri) == ["cross_validation.json"]
    loaded = CrossValidationReportMaterializer(uri=uri, artifact_store=store).load(CrossValidationReport)
    assert loaded.folds == report.folds
    assert loaded.params == {"features": "channel mean", "noise": 0.05, "layers": [1, 2]}  # plain JSON values
    assert loaded.flat_metrics() == report.flat_metrics()
    assert loaded.confusion_matrix == report.confusion_matrix
    assert (loaded.scheme, loaded.n_folds, loaded.seeds, loaded.family) == ("kfold", 3, [0, 1], "nearest_centroid")
    content = json.loads((Path(uri) / "cross_validation.json").read_text())
    assert content["format_version"] == 1 and content["type"] == "CrossValidationReport"


def test_metadata(store, uri, report):
    metadata = CrossValidationReportMaterializer(uri=uri, artifact_store=store).extract_metadata(report)
    for key, value in metadata.items():
        get_metadata_type(value)  # raises on a type ZenML cannot store
        assert type(value) in (str, int, float, bool), (key, type(value))
    for metric in CV_METRICS:
        assert metadata[f"cv_{metric}_mean"] == report.mean(metric)
        assert metadata[f"cv_{metric}_std"] == report.std(metric)
    assert metadata["cv_macro_f1_std"] > 0  # a fixture where folds differ
    assert metadata["cv_worst_subject"] == report.worst_subject
    assert metadata["cv_worst_subject_macro_f1"] == report.worst_subject_macro_f1
    assert metadata["cv_n_folds"] == 3 and metadata["cv_n_seeds"] == 2 and metadata["cv_n_subjects"] == 5
    assert metadata["cv_scheme"] == "kfold" and metadata["cv_family"] == "nearest_centroid"


def test_visualizations(store, uri, report):
    visualizations = CrossValidationReportMaterializer(uri=uri, artifact_store=store).save_visualizations(report)
    assert {os.path.basename(path): kind for path, kind in visualizations.items()} == {
        "confusion_matrix.png": VisualizationType.IMAGE,
        "cross_validation.html": VisualizationType.HTML,
    }
    assert all(os.path.dirname(path) == uri for path in visualizations)
    assert (Path(uri) / "confusion_matrix.png").read_bytes().startswith(PNG_MAGIC)
    text = (Path(uri) / "cross_validation.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for section in ("Mean +/- std", "Per fold (6)", "Per subject (5", "Per-class F1", "Params"):
        assert section in text
    for header in ("metric", "mean", "std", "test subjects", *CV_METRICS, "subject", "mean F1"):
        assert f"<th>{header}</th>" in text
    assert "&lt;b&gt;s04&lt;/b&gt;" in text and "<b>s04</b>" not in text
    assert '<tr class="warning"><td>' + report.worst_subject.replace("<", "&lt;").replace(">", "&gt;") in text
    assert f"{report.mean('macro_f1'):.4f}".rstrip("0") in text
    for name in report.class_names:
        assert f"<td>{name}</td>" in text


def test_truncated_file_is_refused(saved, uri):
    path = Path(uri) / "cross_validation.json"
    path.write_text(path.read_text()[:300])
    with pytest.raises(ValueError, match=r"cross_validation\.json: corrupt CrossValidationReport file"):
        saved.load(CrossValidationReport)
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"cross_validation\.json: missing"):
        saved.load(CrossValidationReport)


def test_edited_or_malformed_content_is_refused(saved, uri):
    path = Path(uri) / "cross_validation.json"
    content = json.loads(path.read_text())

    def refused(change: dict, pattern: str) -> None:
        path.write_text(json.dumps({**content, **change}))
        with pytest.raises(ValueError, match=pattern):
            saved.load(CrossValidationReport)

    refused({"summary": {**content["summary"], "macro_f1_mean": 0.99}}, r"summary disagrees .*macro_f1_mean")
    refused({"summary": {**content["summary"], "worst_subject": "s00x"}}, r"summary disagrees .*worst_subject")
    folds = json.loads(json.dumps(content["folds"]))
    folds[2]["macro_f1"] = 0.123  # the summary no longer follows from the folds
    refused({"folds": folds}, r"summary disagrees .*macro_f1_mean")
    folds[2]["accuracy"] = 0.123  # nor does the confusion matrix
    refused({"folds": folds}, r"fold 1 \(seed 0\): accuracy 0.123 and n_windows \d+ disagree with the confusion")
    folds = json.loads(json.dumps(content["folds"]))
    del folds[0]["per_subject"]
    refused({"folds": folds}, r"malformed fold score, missing 'per_subject'")
    refused({"folds": content["folds"][:-1]}, r"malformed CrossValidationReport \(expected 3 folds x 2 seeds")
    refused({"format_version": 2}, r"format_version 2 is not supported")
    refused({"type": "EvaluationReport"}, r"holds a 'EvaluationReport' artifact, not a CrossValidationReport")
    refused({"folds": "everything"}, r"'folds' must be a list of objects")
    path.write_text(json.dumps({k: v for k, v in content.items() if k != "class_names"}))
    with pytest.raises(ValueError, match=r"missing field\(s\) class_names"):
        saved.load(CrossValidationReport)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object, got list"):
        saved.load(CrossValidationReport)


def test_params_that_are_not_json_are_refused_on_save(store, uri, report):
    bad = CrossValidationReport.from_dict({**report.to_dict(), "params": {"callback": object()}})
    with pytest.raises(ValueError, match="params must hold plain, finite JSON values"):
        CrossValidationReportMaterializer(uri=uri, artifact_store=store).save(bad)
    bad.params = {"lr": float("nan")}
    with pytest.raises(ValueError, match="params must hold plain, finite JSON values"):
        CrossValidationReportMaterializer(uri=uri, artifact_store=store).save(bad)
