"""Recipes (har.training) and the search (har.search): what the pipelines' CV, final fit and trials rest on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from har.families import CnnBiLstm, MiniRocketRidge
from har.search import CHAMPION, Candidate, SearchSpace, choose
from har.training import CrossValidationSettings, Recipe, cross_validate_recipe, fit_final
from har.types import CrossValidationReport, WindowedDataset

REPO = Path(__file__).resolve().parents[2]
ACTIVITIES = ["walking", "running", "sitting"]
TINY = Recipe(family="minirocket", params={"n_kernels": 84})


@pytest.fixture(scope="module")
def windows(synthetic_windows) -> WindowedDataset:
    """5 subjects x 3 activities, windows of 32 samples (raw units, as the pipeline's splits hold them)."""
    return synthetic_windows(ACTIVITIES, seed=2, n_subjects=5, seconds_per_activity=8.0, transition_seconds=0.5)


@pytest.fixture(scope="module")
def report(windows) -> CrossValidationReport:
    return cross_validate_recipe(TINY, windows, CrossValidationSettings())


def test_recipes_are_checked_against_the_family():
    with pytest.raises(ValueError, match="unknown model family 'rocket'"):
        Recipe(family="rocket")
    with pytest.raises(ValueError, match="params of family 'minirocket'.*n_kernelz"):
        Recipe(family="minirocket", params={"n_kernelz": 84})
    with pytest.raises(ValueError, match="greater than or equal to 84"):
        Recipe(family="minirocket", params={"n_kernels": 10})
    assert Recipe().family == "minirocket"
    # the key names every hyperparameter (defaults included) and the augmentation
    assert TINY.key() == Recipe(family="minirocket", params={"n_kernels": 84, "seed": 42}).key()
    assert TINY.key() != Recipe(family="minirocket", params={"n_kernels": 168}).key()
    assert TINY.key() != Recipe(family="minirocket", params={"n_kernels": 84}, augmentation={"copies": 1}).key()


def test_cross_validation_tests_every_subject_once_and_keeps_what_the_folds_learned(windows, report):
    assert report.n_folds == 5 and report.family == "minirocket"  # min(5, subjects)
    assert sorted(s for fold in report.folds for s in fold.test_subjects) == sorted(set(windows.subjects))
    assert len(report.fit_summaries) == 5 and all(s["temperature"] > 0 for s in report.fit_summaries)
    assert Recipe.from_report(report).to_dict() == TINY.to_dict()
    again = CrossValidationReport.from_dict(report.to_dict())
    assert again.fit_summaries == report.fit_summaries and again.mean("macro_f1") == report.mean("macro_f1")
    assert report.mean("macro_f1") > 0.5  # three separable activities


def test_final_fit_uses_every_window_and_the_folds_median_temperature(windows, report):
    normalizer, model, params = fit_final(TINY, report, windows)
    median = float(np.median([s["temperature"] for s in report.fit_summaries]))
    assert params.temperature == pytest.approx(median) and model.temperature == pytest.approx(median)
    assert model.temperature_source == "params"
    np.testing.assert_allclose(normalizer.mean, windows.X.reshape(-1, windows.X.shape[2]).mean(0), rtol=1e-5)
    with pytest.raises(ValueError, match="scored minirocket-"):
        fit_final(Recipe(family="minirocket", params={"n_kernels": 168}), report, windows)


def test_keras_final_fit_runs_the_folds_median_best_epoch():
    summaries = [{"epochs": 3}, {"epochs": 7}, {"epochs": 5}]
    assert CnnBiLstm.refit_params({"epochs": 40}, summaries).epochs == 5
    assert CnnBiLstm.refit_params({"epochs": 40}, []).epochs == 40
    assert MiniRocketRidge.refit_params({"temperature": 2.0}, [{"temperature": 0.5}]).temperature == 2.0  # given


def test_leave_one_subject_out_and_seeds(windows):
    loso = cross_validate_recipe(TINY, windows, CrossValidationSettings(scheme="loso", seeds=[1, 2]))
    assert loso.n_folds == 5 and loso.seeds == [1, 2] and len(loso.folds) == 10
    with pytest.raises(ValueError, match="at least 3 subjects"):
        cross_validate_recipe(TINY, windows.subset(np.isin(windows.subjects, ["s01", "s02"])))


def test_search_trials_put_the_champion_first_go_round_robin_and_respect_the_budget():
    space = SearchSpace(
        candidates=[Candidate(family="minirocket", grid={"n_kernels": [84, 168, 252]}),
                    Candidate(family="cnn_bilstm", params={"epochs": 2}, grid={"lstm_units": [4, 8]})],
        budget={"max_trials": 4})
    champion = Recipe(family="minirocket", params={"n_kernels": 168})
    trials = space.trials(champion)
    assert [name for name, _ in trials] == [CHAMPION, "trial_1", "trial_2", "trial_3"]
    assert [(r.family, r.params.get("n_kernels"), r.params.get("lstm_units")) for _, r in trials] == [
        ("minirocket", 168, None), ("minirocket", 84, None), ("cnn_bilstm", None, 4), ("cnn_bilstm", None, 8)]
    assert len(space.trials()) == 4 and space.trials()[0][0] == "trial_1"  # no champion: no such trial
    with pytest.raises(ValueError, match="both fixed in params and searched"):
        Candidate(family="minirocket", params={"n_kernels": 84}, grid={"n_kernels": [84]})
    with pytest.raises(ValueError, match="lstm_unitz"):
        Candidate(family="cnn_bilstm", grid={"lstm_unitz": [4]})


def test_the_default_search_config_is_a_valid_search_within_its_budget():
    search = yaml.safe_load((REPO / "configs" / "search.yaml").read_text())["parameters"]["search"]
    space = SearchSpace.model_validate(search)
    families = {recipe.family for _, recipe in space.trials()}
    assert families == {"minirocket", "cnn_bilstm", "resnet1d"}  # a budget cut still tries every family
    assert len(space.trials(Recipe())) <= space.budget.max_trials


def _report_with(windows, mean: float, family: str) -> CrossValidationReport:
    """A real report whose folds score `mean`: predictions right on a share of windows."""
    from har.cross_validation import cross_validate, subject_folds

    def fit_predict(train, val, test, seed):
        proba = np.eye(len(ACTIVITIES))[test.y].astype(np.float64)
        wrong = np.arange(test.n_windows) >= int(round(mean * test.n_windows))
        proba[wrong] = np.roll(proba[wrong], 1, axis=1)
        return proba

    return cross_validate(windows, fit_predict, subject_folds(windows.subjects, k=3), family=family)


def test_choose_takes_the_best_unless_a_watch_capable_one_is_within_the_tolerance(windows):
    best = _report_with(windows, 0.95, "server_only")
    close = _report_with(windows, 0.94, "watch")
    far = _report_with(windows, 0.80, "watch")
    scores = [r.mean("macro_f1") for r in (best, close, far)]
    assert scores[0] > scores[1] > scores[2]
    index, rows = choose([best, close, far], [False, True, True], prefer_exportable_within=0.1)
    assert index == 1 and "runs on a watch" in rows[1]["chosen"] and rows[0]["family"] == "server_only"
    assert choose([best, close, far], [False, True, True], prefer_exportable_within=None)[0] == 0
    assert choose([best, far], [False, True], prefer_exportable_within=0.01)[0] == 0  # too far: the best
    with pytest.raises(ValueError, match="one exportable flag per report"):
        choose([best], [True, False], 0.01)
