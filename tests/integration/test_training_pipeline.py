"""The real training pipeline on tiny data in an isolated ZenML store with a real MLflow tracker."""

import shutil

import mlflow
import pytest
from zenml.client import Client
from zenml.enums import ExecutionStatus, ModelStages

from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration
MODEL = "har-activity-classifier"
STEPS = {"ingest_recordings", "validate_sensor_data", "window_recordings", "split_windows", "cross_validate_model",
         "train_model", "evaluate_model", "check_quality_gate", "promote_model", "export_model", "build_serving_config"}


def _latest_run():
    return Client().get_pipeline("training_pipeline").runs[0]


@pytest.fixture(scope="module")
def first_run(trained_run):
    return trained_run


def test_run_completed_with_every_step(first_run):
    assert first_run.status == ExecutionStatus.COMPLETED
    assert set(first_run.steps) == STEPS
    assert all(s.status == ExecutionStatus.COMPLETED for s in first_run.steps.values())


def test_artifacts_have_metadata_and_visualizations(first_run, tiny_data):
    windows = first_run.steps["window_recordings"].outputs["windows"][0]
    meta = windows.run_metadata
    assert meta["n_windows"] > 0 and meta["window_size"] == 128 and meta["n_channels"] == 6
    assert meta["sample_rate_hz"] == 50.0 and meta["n_subjects"] == 5
    assert {v.uri.rsplit("/", 1)[-1] for v in windows.visualizations} >= {"example_windows.png", "class_balance.png"}
    loaded = windows.load()
    assert loaded.X.shape == (meta["n_windows"], 128, 6) and loaded.channel_names[0] == "acc_x"

    report = first_run.steps["validate_sensor_data"].outputs["data_quality_report"][0]
    assert report.run_metadata["passed"] is True and report.load().summary["n_recordings"] == 5
    assert any(v.uri.endswith(".html") for v in report.visualizations)

    evaluation = first_run.steps["evaluate_model"].outputs["evaluation_report"][0]
    assert 0.0 <= evaluation.run_metadata["macro_f1"] <= 1.0
    assert any(v.uri.endswith("confusion_matrix.png") for v in evaluation.visualizations)

    ingest = first_run.steps["ingest_recordings"].outputs["sensor_data"][0]
    assert ingest.run_metadata["n_recordings"] == 5 and ingest.run_metadata["data_dir"] == str(tiny_data)

    # train/val/test are disjoint by subject
    splits = [first_run.steps["split_windows"].outputs[f"{n}_windows"][0].load() for n in ("train", "val", "test")]
    subject_sets = [set(s.subjects) for s in splits]
    assert sum(len(s) for s in subject_sets) == len(set.union(*subject_sets)) == 5


def test_mlflow_has_params_cv_metrics_and_model(first_run):
    tracker = Client().active_stack.experiment_tracker
    mlflow.set_tracking_uri(tracker.get_tracking_uri())
    runs = mlflow.search_runs(experiment_names=["training_pipeline"], filter_string=f"run_name = '{first_run.name}'",
                              output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["family"] == "minirocket" and run.data.params["param_n_kernels"] == "840"
    assert run.data.params["window_size"] == "128" and run.data.params["cv_folds"] == "4"  # 4 training subjects
    assert "test_macro_f1" in run.data.metrics and "cv_macro_f1_mean" in run.data.metrics
    assert "cv_worst_subject_macro_f1" in run.data.metrics and "cv_recording_accuracy_mean" in run.data.metrics
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "model")}
    assert "model/family.json" in artifacts and "model/ridge_coef.npy" in artifacts  # the family's own files


def test_cross_validation_is_by_subject_and_decides_the_gate_and_promotion(first_run):
    """Every training subject is tested once, never also trained on in its fold; the test subjects stay out;
    the final model is fitted on all training subjects; promotion records the CV mean."""
    report = first_run.steps["cross_validate_model"].outputs["cv_report"][0].load()
    train, val, test = (first_run.steps["split_windows"].outputs[f"{n}_windows"][0].load()
                        for n in ("train", "val", "test"))
    training_subjects = set(train.subjects) | set(val.subjects)
    tested = [subject for fold in report.folds for subject in fold.test_subjects]
    assert sorted(tested) == sorted(training_subjects) and not set(tested) & set(test.subjects)
    for fold in report.folds:
        assert not set(fold.test_subjects) & (set(fold.train_subjects) | set(fold.val_subjects))
    assert len(report.fit_summaries) == report.n_folds and report.family == "minirocket"
    facts = first_run.model_version.run_metadata["training"]
    assert facts["n_subjects"] == len(training_subjects) and facts["n_windows"] == train.n_windows + val.n_windows
    assert facts["params"]["temperature"] > 0  # set from the folds' temperatures (no validation subjects left)
    decision = first_run.model_version.run_metadata["promotion"]
    assert decision["candidate_macro_f1"] == pytest.approx(report.mean("macro_f1"))
    cv_artifact = first_run.steps["cross_validate_model"].outputs["cv_report"][0]
    assert any(v.uri.endswith(".html") for v in cv_artifact.visualizations)


def test_model_version_created_and_promoted(first_run):
    version = first_run.model_version
    assert version is not None and version.model.name == MODEL
    decision = version.run_metadata["promotion"]
    assert decision["promoted"] is True and "no production version" in decision["reason"]
    # production now, or archived when a later test's better model replaced it
    assert Client().get_model_version(MODEL, version.number).stage in (ModelStages.PRODUCTION, ModelStages.ARCHIVED)
    assert "test_macro_f1" in version.run_metadata and "data_config" in version.run_metadata
    assert {"trained_model", "normalizer", "test_windows"} <= set(version.data_artifact_ids) | set(
        version.model_artifact_ids)


def test_cached_rerun_reuses_steps_and_compares_with_production(first_run, tiny_data, tiny_config):
    production_before = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    result = run_cli("--pipeline", "train", "--config", str(tiny_config), "--data-dir", str(tiny_data))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rerun = _latest_run()
    assert rerun.id != first_run.id and rerun.status == ExecutionStatus.COMPLETED
    assert rerun.steps["train_model"].status == ExecutionStatus.CACHED
    assert rerun.steps["promote_model"].status == ExecutionStatus.COMPLETED  # never cached
    # the serving contract names this run's version, never a cached one's
    contract = rerun.steps["build_serving_config"].outputs["serving_config"][0].load()
    assert contract.model_version == str(rerun.model_version.number) != str(first_run.model_version.number)
    decision = rerun.steps["promote_model"].outputs["promotion_decision"][0].load()
    versions_page = rerun.steps["promote_model"].outputs["model_versions"][0].load()
    assert f"Version {rerun.model_version.number} {'promoted' if decision['promoted'] else 'not promoted'}" \
        in versions_page
    production_number = Client().get_model_version(MODEL, ModelStages.PRODUCTION).number
    assert f"<td class=\"num\">{production_number}</td><td>production</td>" in versions_page
    assert decision["previous_version"] == production_before.name
    assert decision["promoted"] is (decision["candidate_macro_f1"] > decision["previous_macro_f1"])
    production_after = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    assert (production_after.id == rerun.model_version.id) is decision["promoted"]
    if production_before.id == first_run.model_version.id:  # same model re-scored on the same data: a tie
        assert decision["candidate_macro_f1"] == decision["previous_macro_f1"] and not decision["promoted"]


def test_no_cache_reruns_every_step(first_run, tiny_data, tiny_config):
    """--no-cache must win over the config file's `enable_cache: true` (ZenML re-applies the file over code)."""
    result = run_cli("--pipeline", "train", "--config", str(tiny_config), "--data-dir", str(tiny_data), "--no-cache")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rerun = _latest_run()
    cached = [name for name, step in rerun.steps.items() if step.status == ExecutionStatus.CACHED]
    assert not cached, f"--no-cache run reused cached steps {cached}"


def test_bad_data_fails_with_a_message_naming_file_column_and_line(first_run, tiny_data, tiny_config, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_data, bad)
    recording = sorted(p for p in bad.iterdir() if p.is_dir())[0]
    lines = (recording / "accelerometer.csv").read_text().splitlines()
    fields = lines[5].split(",")
    fields[2] = "abc"
    lines[5] = ",".join(fields)
    (recording / "accelerometer.csv").write_text("\n".join(lines) + "\n")
    result = run_cli("--pipeline", "train", "--config", str(tiny_config), "--data-dir", str(bad))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"recording '{recording.name}'" in output and "accelerometer.csv" in output
    assert "column 'y'" in output and "line 6" in output


def test_exports_are_model_artifacts_that_agree_with_the_model(first_run):
    outputs = first_run.steps["export_model"].outputs
    assert {"litert_float32", "litert_int8", "onnx_float32", "export_report"} <= set(outputs)
    version = first_run.model_version
    for name in ("litert_float32", "litert_int8", "onnx_float32"):
        export = version.get_artifact(name).load()
        bound = 0.5 if name == "litert_int8" else 0.8  # the tiny config's gates
        assert export.content and export.parity["top1_agreement"] >= bound
        assert "FlexDelegate" not in " ".join(export.ops) and not any(op.startswith("Flex") for op in export.ops)
