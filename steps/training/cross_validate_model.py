"""Score a recipe (family + hyperparameters + augmentation) by subject-grouped cross-validation."""

import contextlib
from typing import Annotated

import mlflow
from zenml import log_metadata, step
from zenml.logger import get_logger

from har.training import CrossValidationSettings, Recipe, cross_validate_recipe
from har.types import CrossValidationReport, WindowedDataset
from materializers.cross_validation_report_materializer import CrossValidationReportMaterializer

logger = get_logger(__name__)


@step(output_materializers=CrossValidationReportMaterializer)
def cross_validate_model(
    train_windows: WindowedDataset,
    val_windows: WindowedDataset,
    recipe: Recipe = Recipe(),
    cross_validation: CrossValidationSettings = CrossValidationSettings(),
    trial: str | None = None,
) -> Annotated[CrossValidationReport, "cv_report"]:
    """Grouped k-fold (or leave-one-subject-out) over the training subjects (train + val splits).

    The gate and promotion decide on this report's mean; the final model is then fitted on all
    training subjects with the same recipe (`train_model`). The test subjects are never touched.
    In the search pipeline every trial is one invocation of this step (`trial` names it): its scores
    are the step's metadata and an MLflow child run of the pipeline run.

    Args:
        train_windows: Training split.
        val_windows: Validation split (its subjects are training subjects too).
        recipe: Family, hyperparameters and augmentation.
        cross_validation: Scheme, k, seeds.
        trial: Name of the search trial (None outside a search).

    Returns:
        The report: per-fold and mean +/- std scores, recording-level accuracy, worst subject,
        per-class F1, summed confusion matrix (the dashboard renders it).
    """
    windows = WindowedDataset.concatenate([train_windows, val_windows])
    report = cross_validate_recipe(recipe, windows, cross_validation)
    metrics = report.flat_metrics()
    logger.info("%s: CV macro-F1 %.4f +- %.4f, recording accuracy %.4f, worst subject %s %.4f (%d folds x %d "
                "seeds, %d subjects)", trial or recipe.key(), metrics["cv_macro_f1_mean"],
                metrics["cv_macro_f1_std"], metrics["cv_recording_accuracy_mean"], report.worst_subject,
                report.worst_subject_macro_f1, report.n_folds, len(report.seeds), len(set(windows.subjects)))
    scores = {"cv_macro_f1_mean": metrics["cv_macro_f1_mean"], "cv_macro_f1_std": metrics["cv_macro_f1_std"],
              "cv_recording_accuracy_mean": metrics["cv_recording_accuracy_mean"],
              "cv_worst_subject_macro_f1": metrics["cv_worst_subject_macro_f1"]}
    log_metadata(metadata={**scores, "recipe": recipe.to_dict(), "trial": trial or ""})
    if mlflow.active_run() is not None:
        # A trial is a child run of the pipeline run's MLflow run (the search compares them side by side).
        with mlflow.start_run(run_name=trial, nested=True) if trial else contextlib.nullcontext():
            mlflow.log_params({"family": recipe.family, "recipe": recipe.key(), "cv_scheme": report.scheme,
                               "cv_folds": report.n_folds, "cv_seeds": ",".join(map(str, report.seeds)),
                               **{f"param_{k}": v for k, v in recipe.full_params().items()}})
            mlflow.log_metrics(metrics)
            for index, score in enumerate(report.folds):  # one point per (fold, seed): the spread as a curve
                mlflow.log_metrics({"fold_macro_f1": score.macro_f1, "fold_accuracy": score.accuracy,
                                    "fold_recording_accuracy": score.recording_accuracy}, step=index)
    return report

