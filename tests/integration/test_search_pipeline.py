"""The real search pipeline on tiny data: each trial a ZenML step and an MLflow child run, champion first,
the budget honoured, the winner fitted, exported and compared with production."""

import mlflow
import pytest
import yaml
from zenml.client import Client
from zenml.enums import ExecutionStatus, ModelStages

from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration
MODEL = "har-activity-classifier"


def _search_config(tmp_path, tiny_config, **search) -> str:
    config = {"extends": str(tiny_config), "parameters": {"search": {
        "budget": {"max_trials": 3, "max_minutes": 10},
        "prefer_exportable_within": 0.01,
        "champion": True,
        "candidates": [
            {"family": "minirocket", "grid": {"n_kernels": [168]}},
            {"family": "cnn_bilstm", "params": {"conv_filters": [8], "lstm_units": 4, "dense_units": 0,
                                                "epochs": 2}},
        ],
        **search}}}
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def search_run(trained_run, tiny_data, tiny_config, tmp_path_factory):
    production = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    path = _search_config(tmp_path_factory.mktemp("search"), tiny_config)
    result = run_cli("--pipeline", "search", "--config", path, "--data-dir", str(tiny_data))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Client().get_pipeline("search_pipeline").runs[0], production


def test_every_trial_is_its_own_step_on_the_same_folds_with_the_champion_first(search_run):
    run, production = search_run
    assert run.status == ExecutionStatus.COMPLETED
    trials = ["cross_validate_champion", "cross_validate_trial_1", "cross_validate_trial_2"]
    assert set(trials) <= set(run.steps) and "select_recipe" in run.steps
    reports = {name: run.steps[name].outputs["cv_report"][0].load() for name in trials}
    folds = {name: [(f.test_subjects, f.val_subjects) for f in r.folds] for name, r in reports.items()}
    assert folds["cross_validate_champion"] == folds["cross_validate_trial_1"] == folds["cross_validate_trial_2"]
    champion = run.steps["cross_validate_champion"]
    assert champion.run_metadata["recipe"] == production.run_metadata["recipe"]  # production's recipe, re-run
    assert champion.run_metadata["cv_macro_f1_mean"] == pytest.approx(reports["cross_validate_champion"].mean(
        "macro_f1"))
    assert [reports[n].family for n in trials] == ["minirocket", "minirocket", "cnn_bilstm"]


def test_the_best_trial_is_chosen_fitted_and_compared_with_production(search_run):
    run, production = search_run
    chosen = run.steps["select_recipe"].outputs["cv_report"][0].load()
    trials = [run.steps[n].outputs["cv_report"][0].load() for n in run.steps if n.startswith("cross_validate_")]
    assert chosen.mean("macro_f1") == max(t.mean("macro_f1") for t in trials)  # every family runs on a watch
    leaderboard = run.steps["select_recipe"].outputs["search_leaderboard"][0].load()
    assert "champion" in leaderboard and "trial_2" in leaderboard and "Chosen:" in leaderboard
    version = run.model_version
    assert version.run_metadata["recipe"]["family"] == chosen.family
    assert version.run_metadata["search"]["n_trials"] == 3
    decision = run.steps["promote_model"].outputs["promotion_decision"][0].load()
    assert decision["previous_version"] == production.name
    assert decision["candidate_macro_f1"] == pytest.approx(chosen.mean("macro_f1"))
    assert {"onnx_float32", "serving_config"} <= set(run.steps["export_model"].outputs) | set(
        run.steps["build_serving_config"].outputs)


def test_trials_are_mlflow_child_runs_of_the_search_run(search_run):
    run, _ = search_run
    mlflow.set_tracking_uri(Client().active_stack.experiment_tracker.get_tracking_uri())
    parents = mlflow.search_runs(experiment_names=["search_pipeline"], filter_string=f"run_name = '{run.name}'",
                                 output_format="list")
    assert len(parents) == 1
    children = mlflow.search_runs(experiment_names=["search_pipeline"], output_format="list",
                                  filter_string=f"tags.mlflow.parentRunId = '{parents[0].info.run_id}'")
    by_name = {child.info.run_name: child for child in children}
    assert {"champion", "trial_1", "trial_2"} <= set(by_name)
    assert by_name["trial_2"].data.params["family"] == "cnn_bilstm"
    assert "cv_macro_f1_mean" in by_name["trial_1"].data.metrics


def test_no_trial_starts_after_the_time_budget(search_run, tiny_data, tiny_config, tmp_path):
    path = _search_config(tmp_path, tiny_config, budget={"max_trials": 3, "max_minutes": 0.0001}, champion=False)
    result = run_cli("--pipeline", "search", "--config", path, "--data-dir", str(tiny_data))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = Client().get_pipeline("search_pipeline").runs[0]
    assert run.id != search_run[0].id
    assert [n for n in run.steps if n.startswith("cross_validate_")] == ["cross_validate_trial_1"]
    assert "Search budget" in result.stdout + result.stderr
