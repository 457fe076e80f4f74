"""What the Keras families share: the seeded training loop, batched prediction, .keras save/load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Sequence

import numpy as np

from har.families._base import EpochCallback, ModelFamily

if TYPE_CHECKING:  # pragma: no cover
    import keras

MODEL_FILE = "model.keras"


def fit_keras(
    build: Callable[[], keras.Model],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    seed: int,
    on_epoch_end: EpochCallback | None = None,
) -> tuple[keras.Model, Dict[str, List[float]]]:
    """The loop of `har.modeling.train_model`: seed, build, fit with early stopping on val loss.

    Without validation windows there is nothing to stop on: all `epochs` run.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = build()
    callbacks: list = []
    if X_val is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                       restore_best_weights=True))
    if on_epoch_end is not None:
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: on_epoch_end(epoch, {k: float(v) for k, v in (logs or {}).items()})))
    history = model.fit(
        X_train,
        y_train,
        validation_data=None if X_val is None else (X_val, y_val),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=0,
    )
    return model, {k: [float(v) for v in values] for k, values in history.history.items()}


def save_keras(model: keras.Model, folder: Path) -> Dict[str, str]:
    model.save(folder / MODEL_FILE)
    return {"model_file": MODEL_FILE}


def load_keras(folder: Path) -> keras.Model:
    import keras

    path = folder / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the saved model")
    return keras.models.load_model(path, safe_mode=True)  # safe_mode: no lambda/pickled code runs


class KerasFamily(ModelFamily):
    """A family whose fitted state is one Keras model: prediction, save and load are the same for all."""

    exportable = True

    def __init__(self) -> None:
        super().__init__()
        self.model = None  # keras.Model

    def fit_summary(self) -> Dict[str, Any]:
        losses = self.history_.get("val_loss")
        if not losses:  # trained without validation windows: every epoch ran
            return {"epochs": len(next(iter(self.history_.values()), []))}
        return {"epochs": int(np.argmin(losses)) + 1}  # early stopping restored the best epoch's weights

    @classmethod
    def refit_params(cls, params: Any, summaries: Sequence[Mapping[str, Any]]) -> Any:
        """Epochs = the median over the folds of the epoch early stopping chose (no validation to stop on)."""
        parsed = cls.parse_params(params)
        epochs = [int(s["epochs"]) for s in summaries if s.get("epochs")]
        if not epochs:
            return parsed
        return parsed.model_copy(update={"epochs": max(1, int(round(float(np.median(epochs)))))})

    def export_graph(self) -> Any:
        return self.model

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        from har.modeling import predict_proba

        return predict_proba(self.model, X)

    def _save(self, folder: Path) -> Dict[str, Any]:
        return save_keras(self.model, folder)

    def _load(self, folder: Path, state: Dict[str, Any]) -> None:
        self.model = load_keras(folder)

    def _has_state(self) -> bool:
        return self.model is not None
