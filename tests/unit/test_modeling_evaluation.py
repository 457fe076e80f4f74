import numpy as np

from har.evaluation import evaluate_predictions, most_confused
from har.modeling import TrainingConfig, build_model, predict_proba, train_model


def test_evaluate_predictions_figures():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    report = evaluate_predictions(y_true, y_pred, ["a", "b", "c", "d"])  # "d" absent from the test split
    assert report.accuracy == 4 / 6
    assert report.confusion_matrix[0] == [1, 1, 0, 0]
    assert report.per_class["b"]["recall"] == 1.0 and report.per_class["d"]["support"] == 0
    # macro over present classes: f1 a=0.5, b=0.8, c=0.667
    assert abs(report.macro_f1 - np.mean([0.5, 0.8, 2 / 3])) < 1e-9
    assert most_confused(report)[0] in ("a -> b (1)", "c -> a (1)")


def test_model_shape_and_seeded_training_learns_a_separable_task():
    rng = np.random.default_rng(0)
    n, window, channels = 96, 16, 3
    y = rng.integers(0, 2, n)
    t = np.arange(window)
    X = np.where(y[:, None, None] == 1, np.sin(t / 2.0)[None, :, None], 0.0) + rng.normal(0, 0.1, (n, window, channels))
    X = X.astype(np.float32)
    config = TrainingConfig(conv_filters=[8], lstm_units=4, dense_units=0, epochs=15, batch_size=16,
                            early_stopping_patience=15, learning_rate=0.01)
    model = build_model(window, channels, 2, config)
    assert model.output_shape == (None, 2)
    model, history = train_model(X[:64], y[:64], X[64:], y[64:], 2, config)
    proba = predict_proba(model, X[64:], batch_size=7)
    assert proba.shape == (32, 2) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert (proba.argmax(axis=1) == y[64:]).mean() >= 0.9
    assert len(history["val_loss"]) >= 1
    assert predict_proba(model, X[:0]).shape == (0, 2)
