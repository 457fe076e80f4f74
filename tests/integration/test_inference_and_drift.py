"""Batch inference and drift pipelines, for real, against the production model of the tiny training run."""

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml
from zenml.client import Client

from har.synthetic import generate_dataset
from tests.integration.conftest import ROOT, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def new_data(tmp_path_factory) -> Path:
    """Two unseen subjects, same sensors and rate as the tiny training data."""
    out = tmp_path_factory.mktemp("new-data")
    generate_dataset(out, seed=7, n_subjects=2, first_subject=60, seconds_per_activity=12.0)
    return out


def _config(tmp_path: Path, name: str, **step_parameters) -> Path:
    config = yaml.safe_load((ROOT / "configs" / name).read_text())
    for step_name, parameters in step_parameters.items():
        config["steps"][step_name]["parameters"].update(parameters)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


def _latest(pipeline: str):
    return Client().get_pipeline(pipeline).runs[0]


def test_batch_inference_writes_file_and_log_without_duplicates(trained_run, new_data, tmp_path):
    config = _config(tmp_path, "inference.yaml", export_predictions={
        "output_dir": str(tmp_path / "predictions"), "prediction_log": str(tmp_path / "log.sqlite")})
    first = run_cli("--pipeline", "inference", "--data-dir", str(new_data), "--config", str(config))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    run = _latest("inference_pipeline")
    summary = run.steps["export_predictions"].outputs["export_summary"][0].load()
    table = pd.read_csv(summary["file"])
    windows = run.steps["window_recordings"].outputs["windows"][0].load()
    assert len(table) == windows.n_windows == summary["log_rows_added"] > 0
    assert {"recording_id", "window_start", "label", "model_version", "p_walking", "true_label"} <= set(table.columns)
    assert table["model_version"].astype(str).unique().tolist() == [str(trained_run.model_version.number)]
    assert table[[c for c in table.columns if c.startswith("p_")]].sum(axis=1).round(3).eq(1.0).all()
    predictions = run.steps["predict_windows"].outputs["predictions"][0]
    assert 0.0 <= predictions.run_metadata["macro_f1"] <= 1.0  # the input had labels

    second = run_cli("--pipeline", "inference", "--data-dir", str(new_data), "--config", str(config))
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    again = _latest("inference_pipeline").steps["export_predictions"].outputs["export_summary"][0].load()
    assert again["log_rows_added"] == 0 and again["log_rows_already_present"] == len(table)
    with sqlite3.connect(tmp_path / "log.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == len(table)


def test_inference_on_unlabelled_recordings(trained_run, new_data, tmp_path):
    unlabelled = tmp_path / "unlabelled"
    shutil.copytree(new_data, unlabelled)
    for labels in unlabelled.glob("*/labels.csv"):
        labels.unlink()
    config = _config(tmp_path, "inference.yaml", export_predictions={
        "output_dir": str(tmp_path / "predictions"), "prediction_log": str(tmp_path / "log.sqlite")})
    result = run_cli("--pipeline", "inference", "--data-dir", str(unlabelled), "--config", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = pd.read_csv(_latest("inference_pipeline").steps["export_predictions"]
                        .outputs["export_summary"][0].load()["file"], keep_default_na=False)
    assert len(table) > 0 and (table["true_label"] == "").all()


def test_unshifted_new_subjects_show_no_drift(trained_run, new_data, tmp_path):
    # The tiny training run has ONE validation subject to calibrate on (the default data has three and
    # 2-of-45 features suffice: benchmarks/bench_drift.py), so this test asks for a larger drifted share.
    config = yaml.safe_load((ROOT / "configs" / "drift.yaml").read_text())
    config["steps"]["detect_drift"]["parameters"]["drift"]["drift_share"] = 0.15
    config["steps"]["act_on_drift"]["parameters"]["on_drift"] = "alert"
    config_path = tmp_path / "drift.yaml"
    config_path.write_text(yaml.safe_dump(config))
    result = run_cli("--pipeline", "drift", "--data-dir", str(new_data), "--config", str(config_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = _latest("drift_pipeline")
    verdict = run.steps["detect_drift"].outputs["drift_verdict"][0]
    assert verdict.run_metadata["drift_detected"] is False
    assert verdict.load().n_current > 0
    assert any(v.uri.endswith(".html") for v in run.steps["detect_drift"].outputs["drift_report"][0].visualizations)


def _shifted(new_data: Path, tmp_path: Path) -> Path:
    """Accelerometer gain x1.3 in every recording's CSV (a mis-scaled sensor)."""
    shifted = tmp_path / "shifted"
    shutil.copytree(new_data, shifted)
    for path in shifted.glob("*/accelerometer.csv"):
        frame = pd.read_csv(path, dtype={"timestamp": str})
        frame[["x", "y", "z"]] *= 1.3
        frame.to_csv(path, index=False)
    return shifted


def test_shifted_data_alerts_with_a_summary(trained_run, new_data, tmp_path):
    config = _config(tmp_path, "drift.yaml", act_on_drift={"on_drift": "alert"})
    result = run_cli("--pipeline", "drift", "--data-dir", str(_shifted(new_data, tmp_path)), "--config", str(config))
    assert result.returncode != 0
    assert "Data drift detected" in result.stdout + result.stderr
    assert "features drifted" in result.stdout + result.stderr


def test_shifted_data_retrains_and_lets_promotion_decide(trained_run, new_data, tiny_config, tmp_path):
    """on_drift: retrain starts the retraining pipeline on the production version's recordings (found through
    lineage, as artifacts) plus the new labelled ones; its first step sees the drift verdict just recorded."""
    versions_before = len(Client().list_model_versions("har-activity-classifier", size=100))
    config = _config(tmp_path, "drift.yaml", act_on_drift={"on_drift": "retrain"})
    retrain = yaml.safe_load((ROOT / "configs" / "retrain.yaml").read_text())
    retrain.update(extends=str(tiny_config), parameters={"redeploy": False})
    (tmp_path / "retrain.yaml").write_text(yaml.safe_dump(retrain))
    result = run_cli("--pipeline", "drift", "--data-dir", str(_shifted(new_data, tmp_path)), "--config", str(config),
                     "--retrain-config", str(tmp_path / "retrain.yaml"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Drift policy 'retrain'" in result.stdout
    retraining = _latest("retraining_pipeline")
    assert "drift detected" in retraining.steps["decide_retraining"].run_metadata["reason"]
    merged = retraining.steps["merge_recordings"].outputs["sensor_data"][0].run_metadata
    assert (merged["n_recordings_production"], merged["n_recordings_new"]) == (5, 2)
    assert retraining.steps["window_recordings"].inputs["sensor_data"][0].id == \
        retraining.steps["merge_recordings"].outputs["sensor_data"][0].id
    decision = retraining.steps["promote_model"].outputs["promotion_decision"][0].load()
    assert "promoted" in decision and decision["previous_version"] is not None
    assert len(Client().list_model_versions("har-activity-classifier", size=100)) == versions_before + 1
    assert "deploy_model" not in retraining.steps  # redeploy: false


def test_incompatible_data_is_reported_as_such_not_as_drift(trained_run, new_data, tmp_path):
    broken = tmp_path / "no-gyro"
    shutil.copytree(new_data, broken)
    for path in broken.glob("*/gyroscope.csv"):
        path.unlink()
    config = _config(tmp_path, "drift.yaml", act_on_drift={"on_drift": "alert"})
    result = run_cli("--pipeline", "drift", "--data-dir", str(broken), "--config", str(config))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "gyroscope.csv" in output and "Data drift detected" not in output


def _serving_log(windows, folder: Path, unsure: bool = False) -> None:
    """A serving log written by the real writer from `windows`, with the production version's own
    probabilities, one stream per recording, as /predict_stream would log them. `unsure`: probabilities of a
    model that cannot decide (top probability 0.4) and flips class every window."""
    import numpy as np

    from har.serving_log import ServingLogSettings, ServingLogWriter

    version = Client().get_model_version("har-activity-classifier", "production")
    contract = version.get_artifact("serving_config").load()
    probabilities = version.get_artifact("trained_model").load().predict_proba(
        contract.normalizer().transform(windows.X))
    if unsure:
        k = probabilities.shape[1]
        probabilities = np.full_like(probabilities, 0.6 / (k - 1))
        probabilities[np.arange(len(probabilities)), np.arange(len(probabilities)) % 2] = 0.4
    writer = ServingLogWriter(ServingLogSettings(enabled=True, dir=str(folder), segment_records=64),
                              contract.model_name, contract.model_version, contract.class_names,
                              contract.channel_names)
    for recording in np.unique(windows.recording_ids):
        rows = np.flatnonzero(windows.recording_ids == recording)
        writer.record("/predict_stream", windows.X[rows], probabilities[rows], stream_id=str(recording),
                      window_start_ms=windows.start_times[rows] * 1000.0)
    writer.close()
    assert writer.dropped == 0 and writer.written == windows.n_windows


def test_drift_on_the_serving_log_gives_the_verdict_of_the_same_windows_in_a_folder(trained_run, new_data,
                                                                                     tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "drift.yaml").read_text())
    config["steps"]["detect_drift"]["parameters"]["drift"]["drift_share"] = 0.15  # one calibration subject
    config_path = tmp_path / "drift.yaml"
    config_path.write_text(yaml.safe_dump(config))
    folder = run_cli("--pipeline", "drift", "--data-dir", str(new_data), "--config", str(config_path))
    assert folder.returncode == 0, folder.stdout[-3000:] + folder.stderr[-3000:]
    folder_run = _latest("drift_pipeline")
    windows = folder_run.steps["window_recordings"].outputs["windows"][0].load()
    by_folder = folder_run.steps["detect_drift"].outputs["drift_verdict"][0].load()

    _serving_log(windows, tmp_path / "log")
    result = run_cli("--pipeline", "drift", "--serving-log", str(tmp_path / "log"), "--since", "1h",
                     "--config", str(config_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = _latest("drift_pipeline")
    verdict = run.steps["detect_drift"].outputs["drift_verdict"][0].load()
    assert verdict.source.startswith(f"serving log {tmp_path / 'log'}") and "2 streams" in verdict.source
    assert by_folder.source == f"folder {new_data}"
    assert verdict.n_current == by_folder.n_current == windows.n_windows
    assert verdict.feature_scores == pytest.approx(by_folder.feature_scores)
    assert [m.name for m in verdict.monitors] == ["low_confidence_share", "prediction_change_rate",
                                                  "activity_mix_shift"]
    for logged, direct in zip(verdict.monitors, by_folder.monitors, strict=True):
        assert logged.value == pytest.approx(direct.value, abs=1e-6), (logged, direct)
    assert not verdict.drift_detected, verdict.summary()
    html = [v for v in run.steps["detect_drift"].outputs["drift_verdict"][0].visualizations if v.uri.endswith(".html")]
    assert html and "data:image/png;base64," in Path(html[0].uri).read_text()

    unsure = tmp_path / "unsure"
    _serving_log(windows, unsure, unsure=True)
    alert = run_cli("--pipeline", "drift", "--serving-log", str(unsure), "--config", str(config_path))
    assert alert.returncode == 5, alert.stdout[-3000:] + alert.stderr[-3000:]  # ExitCode.DRIFT
    assert "monitor alerts: " in alert.stdout and "prediction_change_rate" in alert.stdout  # flips every window


def test_drift_on_an_empty_serving_log_says_how_to_turn_it_on(trained_run, tmp_path):
    result = run_cli("--pipeline", "drift", "--serving-log", str(tmp_path / "nothing"))
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr[-3000:]  # ExitCode.BAD_DATA
    assert "serving_log.enabled" in result.stdout + result.stderr
