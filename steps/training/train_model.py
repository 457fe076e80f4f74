"""Train the CNN + BiLSTM classifier and track it in MLflow."""

from typing import Annotated

import keras
import mlflow
from zenml import ArtifactConfig, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger

from har.modeling import TrainingConfig
from har.modeling import train_model as fit
from har.types import ChannelNormalizer, WindowedDataset
from materializers.keras_model_materializer import KerasModelMaterializer

logger = get_logger(__name__)


@step(output_materializers=KerasModelMaterializer)
def train_model(
    train_windows: WindowedDataset,
    val_windows: WindowedDataset,
    normalizer: ChannelNormalizer,
    hyperparameters: TrainingConfig = TrainingConfig(),
) -> Annotated[keras.Model, ArtifactConfig(name="trained_model", artifact_type=ArtifactType.MODEL)]:
    """Seeded training with early stopping; params, per-epoch curves, final metrics and the model go to MLflow.

    The experiment tracker is chosen in the pipeline YAML
    (`steps.train_model.experiment_tracker`); without one the step still trains.

    Args:
        train_windows: Training split.
        val_windows: Validation split (early stopping).
        normalizer: Applied to both splits before training.
        hyperparameters: Architecture and optimisation settings.

    Returns:
        The trained Keras model (best validation-loss weights).
    """
    tracking = mlflow.active_run() is not None
    if tracking:
        mlflow.log_params({**hyperparameters.model_dump(), "window_size": train_windows.window_size,
                           "channels": ",".join(train_windows.channel_names),
                           "sample_rate_hz": train_windows.sample_rate_hz,
                           "n_train_windows": train_windows.n_windows, "n_val_windows": val_windows.n_windows})

    def log_epoch(epoch: int, logs: dict) -> None:
        if tracking:
            mlflow.log_metrics(logs, step=epoch)

    model, history = fit(
        normalizer.transform(train_windows.X), train_windows.y,
        normalizer.transform(val_windows.X), val_windows.y,
        n_classes=len(train_windows.class_names), config=hyperparameters, on_epoch_end=log_epoch,
    )
    best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
    final = {"best_epoch": best, "epochs_run": len(history["val_loss"]),
             "val_loss": history["val_loss"][best], "val_accuracy": history["val_accuracy"][best]}
    logger.info("Training stopped after %d epochs; best epoch %d val_accuracy %.4f",
                final["epochs_run"], best, final["val_accuracy"])
    if tracking:
        mlflow.log_metrics({f"final_{k}": float(v) for k, v in final.items()})
        # Explicit requirements: MLflow would otherwise import the model in a
        # subprocess to infer them, which costs seconds and needs the network for nothing.
        mlflow.keras.log_model(model, name="model", pip_requirements=[f"keras=={keras.__version__}"])
    log_metadata(metadata={"training": final}, infer_model=True)
    return model
