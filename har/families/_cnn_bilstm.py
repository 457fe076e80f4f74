"""`cnn_bilstm`: the project's original 1D-CNN + BiLSTM (`har.modeling`), unchanged, as a family."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

from har.families._base import EpochCallback, ModelFamily
from har.families._keras import fit_keras, load_keras, save_keras
from har.modeling import TrainingConfig, build_model, predict_proba, train_model
from har.types import WindowedDataset


class CnnBiLstm(ModelFamily):
    """Conv blocks + BiLSTM; params are `har.modeling.TrainingConfig`.

    With validation windows this is exactly `har.modeling.train_model` (same
    weights for the same seed); without, the same model trains all epochs.
    """

    name = "cnn_bilstm"
    Params = TrainingConfig

    def __init__(self) -> None:
        super().__init__()
        self.model = None  # keras.Model

    def _fit(self, train: WindowedDataset, val: WindowedDataset | None, params: TrainingConfig,
             on_epoch_end: EpochCallback | None) -> None:
        if val is not None:
            self.model, self.history_ = train_model(train.X, train.y, val.X, val.y, self.n_classes, params,
                                                    on_epoch_end=on_epoch_end, verbose=0)
            return
        self.model, self.history_ = fit_keras(
            lambda: build_model(train.window_size, train.X.shape[2], self.n_classes, params),
            train.X, train.y, None, None, epochs=params.epochs, batch_size=params.batch_size,
            patience=params.early_stopping_patience, seed=params.seed, on_epoch_end=on_epoch_end)

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        return predict_proba(self.model, X)

    def _save(self, folder: Path) -> Dict[str, Any]:
        return save_keras(self.model, folder)

    def _load(self, folder: Path, state: Dict[str, Any]) -> None:
        self.model = load_keras(folder)

    def _has_state(self) -> bool:
        return self.model is not None
