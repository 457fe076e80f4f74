"""The 1D-CNN + BiLSTM classifier, its hyperparameters and its training loop.

Keras is imported inside functions so that importing this module (and the
configs that use `TrainingConfig`) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, List

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # pragma: no cover
    import keras


class TrainingConfig(BaseModel):
    """Architecture and optimisation settings (`steps.train_model.parameters.hyperparameters`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conv_filters: List[int] = Field(default_factory=lambda: [32, 64], min_length=1)
    kernel_size: int = Field(5, ge=1)
    pool_size: int = Field(2, ge=1)
    lstm_units: int = Field(32, ge=1)
    dense_units: int = Field(32, ge=0, description="0 = no hidden dense layer.")
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(64, ge=1)
    epochs: int = Field(40, ge=1)
    early_stopping_patience: int = Field(8, ge=1)
    seed: int = 42


def build_model(window_size: int, n_channels: int, n_classes: int, config: TrainingConfig) -> keras.Model:
    """Conv blocks extract local gait shape; a BiLSTM summarises the sequence."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(window_size, n_channels), name="window")
    x = inputs
    for i, filters in enumerate(config.conv_filters):
        x = layers.Conv1D(filters, config.kernel_size, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
        if config.pool_size > 1 and x.shape[1] // config.pool_size >= 2:
            x = layers.MaxPooling1D(config.pool_size, name=f"pool{i + 1}")(x)
    x = layers.Bidirectional(layers.LSTM(config.lstm_units), name="bilstm")(x)
    x = layers.Dropout(config.dropout, name="dropout")(x)
    if config.dense_units:
        x = layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="activity")(x)
    model = keras.Model(inputs, outputs, name="har_cnn_bilstm")
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_model(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    n_classes: int,
    config: TrainingConfig,
    on_epoch_end: Callable[[int, Dict[str, float]], None] | None = None,
    verbose: int = 2,
) -> tuple[keras.Model, Dict[str, List[float]]]:
    """Seeded training with early stopping on validation loss (best weights kept).

    `verbose` is Keras' (2: one line per epoch; 0: silent, as `har.families` trains).
    """
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_model(X_train.shape[1], X_train.shape[2], n_classes, config)
    callbacks: list = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True
        )
    ]
    if on_epoch_end is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch_end(epoch, {k: float(v) for k, v in (logs or {}).items()})
            )
        )
    history = model.fit(
        X_train,
        y_train,
        validation_data=(X_val, y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=verbose,
    )
    return model, {k: [float(v) for v in values] for k, values in history.history.items()}


def predict_proba(model: keras.Model, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class probabilities, in fixed-size batches without Keras' `predict` overhead."""
    if len(X) == 0:
        return np.zeros((0, int(model.output_shape[-1])), dtype=np.float32)
    parts = [
        np.asarray(model(X[i : i + batch_size], training=False), dtype=np.float32)
        for i in range(0, len(X), batch_size)
    ]
    return np.concatenate(parts)
