"""The fitted `minirocket` family as a Keras graph (har.families._minirocket_graph) against aeon + ridge.

Small MiniRocket transforms (840 features) on noisy, overlapping activities in
raw units (6 channels, 128 samples): probabilities are far from 0/1, so a
wrong feature order, padding or channel combination shows in the numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from har import export as ex
from har.families._minirocket import MiniRocketRidge
from har.families._minirocket_graph import _graph_layout, minirocket_graph_cost, minirocket_keras_model
from har.normalization import fit_normalizer
from har.types import WindowedDataset

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
CLASSES = ["walking", "running", "sitting"]
WINDOW = 128
PARAMS = {"n_kernels": 840}


def make_windows(n: int, seed: int, classes=(0, 1, 2)) -> WindowedDataset:
    """Activities told apart by a slightly different frequency under heavy noise, random phase, raw units."""
    rng = np.random.default_rng(seed)
    y = rng.choice(np.asarray(classes), n)
    t = np.arange(WINDOW) / 50.0
    wave = np.sin(2 * np.pi * (1.0 + 0.15 * y[:, None]) * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    X = wave[..., None] * np.array([0.6, 0.3, 0.1, 2.0, 1.0, 0.2]) + rng.normal(0, 1.5, (n, WINDOW, len(CHANNELS)))
    X[..., 2] += 1.0  # gravity on acc_z
    return WindowedDataset(
        X=X.astype(np.float32), y=y.astype(np.int64), recording_ids=np.array([f"r{i % 4}" for i in range(n)]),
        subjects=np.array([f"s{i % 2}" for i in range(n)]), start_times=np.arange(n, dtype=np.float64),
        class_names=list(CLASSES), channel_names=list(CHANNELS), sample_rate_hz=50.0, step=64,
    )


def odd_windows(normalizer) -> np.ndarray:
    """Raw windows unlike the training data: silence, constants, huge / tiny amplitudes, a spike, a ramp."""
    rng = np.random.default_rng(7)
    spike = np.zeros((WINDOW, len(CHANNELS)))
    spike[WINDOW // 2] = 25.0
    windows = [np.zeros((WINDOW, len(CHANNELS))), np.full((WINDOW, len(CHANNELS)), 3.0),
               rng.normal(0, 60.0, (WINDOW, len(CHANNELS))), rng.normal(0, 1e-3, (WINDOW, len(CHANNELS))), spike,
               np.linspace(-10, 10, WINDOW)[:, None] * np.ones(len(CHANNELS)),
               np.asarray(normalizer.mean) + np.zeros((WINDOW, len(CHANNELS)))]  # exactly 0 once normalised
    return np.asarray(windows, dtype=np.float32)


def normalised(ds: WindowedDataset, normalizer) -> WindowedDataset:
    return WindowedDataset(normalizer.transform(ds.X), ds.y, ds.recording_ids, ds.subjects, ds.start_times,
                           ds.class_names, ds.channel_names, ds.sample_rate_hz, ds.step)


@pytest.fixture(scope="module")
def three_class():
    train, val, test = make_windows(150, seed=1), make_windows(60, seed=2), make_windows(120, seed=3)
    normalizer = fit_normalizer(train)
    model = MiniRocketRidge().fit(normalised(train, normalizer), normalised(val, normalizer), PARAMS, seed=0)
    raw = np.concatenate([test.X, odd_windows(normalizer)])
    return model, normalizer, raw, minirocket_keras_model(model)


@pytest.fixture(scope="module")
def binary():
    """Three class names, training windows of classes 0 and 2 only: a binary ridge and a never-seen class."""
    train, val = make_windows(120, seed=4, classes=(0, 2)), make_windows(40, seed=5, classes=(0, 2))
    normalizer = fit_normalizer(train)
    model = MiniRocketRidge().fit(normalised(train, normalizer), normalised(val, normalizer), PARAMS, seed=0)
    X = normalizer.transform(np.concatenate([make_windows(100, seed=6).X, odd_windows(normalizer)]))
    return model, X, minirocket_keras_model(model)


def test_probabilities_match_aeon_and_ridge(three_class):
    model, normalizer, raw, graph = three_class
    X = normalizer.transform(raw)
    reference = model.predict_proba(X)
    probabilities = np.asarray(graph.predict(X, verbose=0))
    assert graph.input_shape == (None, WINDOW, len(CHANNELS)) and graph.output_shape == (None, len(CLASSES))
    assert probabilities.dtype == np.float32 and probabilities.shape == reference.shape
    assert 0.05 < reference.max(axis=1).mean() < 0.99, "test data too easy: probabilities saturate"
    assert np.max(np.abs(probabilities - reference)) < 1e-4
    assert np.mean(probabilities.argmax(axis=1) == reference.argmax(axis=1)) == 1.0
    one = np.asarray(graph(X[:1]))  # batch of one, eager call
    np.testing.assert_allclose(one, reference[:1], atol=1e-4)


def test_graph_features_are_aeons_standardised_features(three_class):
    import keras

    model, normalizer, raw, graph = three_class
    X = normalizer.transform(raw)
    layout = _graph_layout(model)
    order, lin = layout["order"], model.linear
    assert sorted(order.tolist()) == list(range(layout["n_features"]))
    features = keras.Model(graph.inputs, graph.get_layer("minirocket_features").output)
    ppv_graph = (np.asarray(features.predict(X, verbose=0), dtype=np.float64) * lin["feature_scale"][order]
                 + lin["feature_mean"][order])
    ppv_aeon = model._features(X).astype(np.float64)[:, order]
    differ = np.abs(ppv_graph - ppv_aeon) > 1e-4
    # float32 summation order may flip a comparison that sits on a bias, never more than a few
    assert differ.mean() < 1e-4, f"{differ.sum()} of {differ.size} PPV features differ"
    assert np.max(np.abs(ppv_graph - ppv_aeon)) <= 1.0 / (WINDOW - 8 * model.transform.parameters[2].max()) + 1e-4


def test_binary_ridge_and_unseen_class(binary):
    model, X, graph = binary
    assert model.linear["ridge_coef"].shape[0] == 1 and model.linear["ridge_classes"].tolist() == [0, 2]
    reference = model.predict_proba(X)
    probabilities = np.asarray(graph.predict(X, verbose=0))
    assert np.all(probabilities[:, 1] == 0.0)
    assert np.max(np.abs(probabilities - reference)) < 1e-4
    assert np.mean(probabilities.argmax(axis=1) == reference.argmax(axis=1)) == 1.0
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_onnx_export_of_raw_windows_agrees(three_class):
    model, normalizer, raw, graph = three_class
    content = ex.to_onnx(graph, normalizer)
    assert set(ex.onnx_facts(content)["ops"]) <= {"Add", "Cast", "Concat", "Conv", "Greater", "MatMul", "Mul",
                                                  "ReduceMean", "Reshape", "Softmax", "Squeeze", "Sub", "Div",
                                                  "Transpose", "Unsqueeze", "Gemm"}
    reference = model.predict_proba(normalizer.transform(raw))
    probabilities = ex.predict("onnx", content, raw)
    parity = ex.parity(reference, probabilities)
    assert parity["top1_agreement"] == 1.0
    assert parity["max_prob_diff"] < 1e-3


def test_litert_export_uses_builtin_ops_and_agrees(three_class):
    model, normalizer, raw, graph = three_class
    content = ex.to_litert(graph, normalizer)
    ops = ex.litert_facts(content)["ops"]
    assert set(ops) <= ex.TFLM_BUILTIN_OPS, ops
    parity = ex.parity(model.predict_proba(normalizer.transform(raw)), ex.predict("litert", content, raw))
    assert parity["top1_agreement"] == 1.0
    assert parity["max_prob_diff"] < 0.05  # the converter folds the normaliser differently: a few PPV flips


def test_cost_and_refusals(three_class):
    model, *_ = three_class
    cost = minirocket_graph_cost(model)
    assert cost["n_features"] == model.linear["ridge_coef"].shape[1] == 840
    assert cost["conv_macs"] > 0 and cost["comparisons"] > cost["n_features"]
    with pytest.raises(TypeError, match="MiniRocketRidge"):
        minirocket_keras_model(object())
    with pytest.raises(RuntimeError, match="not fitted"):
        minirocket_keras_model(MiniRocketRidge())
