"""Fit the cross-validated recipe on all training subjects and track it in MLflow."""

import tempfile
from pathlib import Path
from typing import Annotated, Tuple

import mlflow
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

from har.families import ModelFamily
from har.training import Recipe, fit_final
from har.types import ChannelNormalizer, CrossValidationReport, WindowedDataset
from materializers.model_family_materializer import ModelFamilyMaterializer

logger = get_logger(__name__)


@step(output_materializers={"trained_model": ModelFamilyMaterializer})
def train_model(
    train_windows: WindowedDataset,
    val_windows: WindowedDataset,
    cv_report: CrossValidationReport,
) -> Tuple[
    Annotated[ModelFamily, ArtifactConfig(name="trained_model", artifact_type=ArtifactType.MODEL)],
    Annotated[ChannelNormalizer, "normalizer"],
]:
    """The final model: the recipe `cv_report` scored, fitted on every training subject (train + val).

    There are no validation subjects left to stop on: the epochs (Keras families) and the temperature
    (MiniRocket) come from what the cross-validation folds chose. The channel normaliser is fitted on the
    same windows and shipped with the model. The experiment tracker is set in the run config
    (`steps.train_model.experiment_tracker`); without one the step still trains.

    Args:
        train_windows: Training split.
        val_windows: Validation split.
        cv_report: The cross-validation of the recipe to fit (`cross_validate_model`, or the search's choice).

    Returns:
        The fitted model (any family; stored pickle-free) and its normaliser.
    """
    recipe = Recipe.from_report(cv_report)
    windows = WindowedDataset.concatenate([train_windows, val_windows])
    tracking = mlflow.active_run() is not None

    def log_epoch(epoch: int, logs: dict) -> None:
        if tracking:
            mlflow.log_metrics(logs, step=epoch)

    normalizer, model, params = fit_final(recipe, cv_report, windows, on_epoch_end=log_epoch)
    facts = {"family": recipe.family, "recipe": recipe.key(), "n_windows": windows.n_windows,
             "n_subjects": len(set(windows.subjects.tolist())), "params": params.model_dump(mode="json"),
             "cv_macro_f1_mean": cv_report.mean("macro_f1"), "cv_macro_f1_std": cv_report.std("macro_f1")}
    logger.info("Fitted %s on %d windows of %d training subjects (CV macro-F1 %.4f +- %.4f)", recipe.family,
                facts["n_windows"], facts["n_subjects"], facts["cv_macro_f1_mean"], facts["cv_macro_f1_std"])
    if tracking:
        mlflow.log_params({"family": recipe.family, "recipe": recipe.key(), "window_size": windows.window_size,
                           "channels": ",".join(windows.channel_names), "sample_rate_hz": windows.sample_rate_hz,
                           "n_training_windows": windows.n_windows,
                           **{f"final_param_{k}": v for k, v in params.model_dump(mode="json").items()}})
        mlflow.log_metrics(cv_report.flat_metrics())
        with tempfile.TemporaryDirectory(prefix="har-mlflow-model-") as tmp:  # the family's own files, no pickle
            model.save(Path(tmp) / "model")
            mlflow.log_artifacts(str(Path(tmp) / "model"), artifact_path="model")
    # What champion/challenger re-runs and promotion compares: the recipe and its CV score, on the version.
    log_metadata(metadata={"training": facts, "recipe": recipe.to_dict(),
                           "cv_macro_f1_mean": facts["cv_macro_f1_mean"],
                           "cv_macro_f1_std": facts["cv_macro_f1_std"]}, infer_model=True)
    return model, normalizer
