"""`cnn_bilstm`: the project's original 1D-CNN + BiLSTM (`har.modeling`), unchanged, as a family."""

from __future__ import annotations

from har.families._base import EpochCallback
from har.families._keras import KerasFamily, fit_keras
from har.modeling import TrainingConfig, build_model, train_model
from har.types import WindowedDataset


class CnnBiLstm(KerasFamily):
    """Conv blocks + BiLSTM; params are `har.modeling.TrainingConfig`.

    With validation windows this is exactly `har.modeling.train_model` (same
    weights for the same seed); without, the same model trains all epochs.
    """

    name = "cnn_bilstm"
    Params = TrainingConfig

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
