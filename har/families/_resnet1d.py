"""`resnet1d`: the residual 1D CNN time-series baseline of Wang et al. (2017), in Keras.

Three residual blocks, each three Conv1D -> BatchNorm (-> ReLU) layers with
kernel sizes 8, 5, 3 and a (1x1 conv when widths differ) BatchNorm shortcut;
global average pooling; softmax. The paper's widths are 64/128/128; the
defaults here are smaller for a CPU.

Reference: Z. Wang, W. Yan, T. Oates, "Time series classification from scratch
with deep neural networks: A strong baseline", IJCNN 2017, arXiv:1611.06455.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List

from pydantic import BaseModel, ConfigDict, Field

from har.families._base import DEFAULT_SEED, EpochCallback
from har.families._keras import KerasFamily, fit_keras
from har.types import WindowedDataset

if TYPE_CHECKING:  # pragma: no cover
    import keras


class ResNet1DParams(BaseModel):
    """Architecture and optimisation of `resnet1d` (same early stopping and seed rules as `TrainingConfig`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filters: List[int] = Field(default_factory=lambda: [32, 64, 64], min_length=1,
                               description="Width of each residual block (paper: 64, 128, 128).")
    kernel_sizes: List[int] = Field(default_factory=lambda: [8, 5, 3], min_length=1,
                                    description="Conv kernel sizes inside every block.")
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(64, ge=1)
    epochs: int = Field(40, ge=1)
    early_stopping_patience: int = Field(8, ge=1)
    seed: int = DEFAULT_SEED


def build_resnet1d(window_size: int, n_channels: int, n_classes: int, params: ResNet1DParams) -> keras.Model:
    import keras
    from keras import layers

    inputs = keras.Input(shape=(window_size, n_channels), name="window")
    x = inputs
    for b, filters in enumerate(params.filters, start=1):
        shortcut = x
        for c, kernel in enumerate(params.kernel_sizes, start=1):
            x = layers.Conv1D(filters, kernel, padding="same", name=f"block{b}_conv{c}")(x)
            x = layers.BatchNormalization(name=f"block{b}_bn{c}")(x)
            if c < len(params.kernel_sizes):  # the last activation comes after the addition
                x = layers.Activation("relu", name=f"block{b}_relu{c}")(x)
        if shortcut.shape[-1] != filters:
            shortcut = layers.Conv1D(filters, 1, padding="same", name=f"block{b}_shortcut_conv")(shortcut)
        shortcut = layers.BatchNormalization(name=f"block{b}_shortcut_bn")(shortcut)
        x = layers.Add(name=f"block{b}_add")([x, shortcut])
        x = layers.Activation("relu", name=f"block{b}_out")(x)
    x = layers.GlobalAveragePooling1D(name="gap")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="activity")(x)
    model = keras.Model(inputs, outputs, name="har_resnet1d")
    model.compile(optimizer=keras.optimizers.Adam(params.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class ResNet1D(KerasFamily):
    """Residual 1D CNN; params are `ResNet1DParams`."""

    name = "resnet1d"
    Params = ResNet1DParams

    def _fit(self, train: WindowedDataset, val: WindowedDataset | None, params: ResNet1DParams,
             on_epoch_end: EpochCallback | None) -> None:
        self.model, self.history_ = fit_keras(
            lambda: build_resnet1d(train.window_size, train.X.shape[2], self.n_classes, params),
            train.X, train.y, None if val is None else val.X, None if val is None else val.y,
            epochs=params.epochs, batch_size=params.batch_size, patience=params.early_stopping_patience,
            seed=params.seed, on_epoch_end=on_epoch_end)
