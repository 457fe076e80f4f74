"""Serving-side pure logic: request checks, stream windowing and the micro-batcher."""

import asyncio

import numpy as np
import pytest

from har.serving import MicroBatcher, RequestError, ServingConfig, check_windows, stream_to_windows
from har.windowing import sliding_windows

CONFIG = ServingConfig(model_name="m", model_version="3", class_names=["a", "b"], channel_names=["x", "y", "z"],
                       window_size=8, step=4, sample_rate_hz=10.0, merge_tolerance_ms=50.0,
                       max_windows_per_request=5, max_stream_samples=100)


def test_check_windows_accepts_and_converts():
    out = check_windows([[[1, 2, 3]] * 8] * 2, CONFIG)
    assert out.shape == (2, 8, 3) and out.dtype == np.float32


@pytest.mark.parametrize(
    "windows, status, message",
    [
        ([[1, 2, 3]] * 8, 400, "single window"),
        ([[[1, 2]] * 8], 400, "expected 3"),
        ([[[1, 2, 3]] * 7], 400, "expected 8"),
        ([], 400, "shape (0,)"),
        ([[[1, 2, 3]] * 8] * 6, 413, "at most 5"),
        ([[[1, 2, float("nan")]] * 8], 400, "windows[0][0][2] (z) is nan"),
        ([[[1, 2, "a"]] * 8], 400, "must be a list of windows"),
        ([[[1, 2, 3]] * 8, [[1, 2, 3]] * 7], 400, "must be a list of windows"),
    ],
)
def test_check_windows_rejects_with_a_message(windows, status, message):
    with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")) as error:
        check_windows(windows, CONFIG)
    assert error.value.status == status


def test_stream_to_windows_matches_training_windowing_on_epoch_ms():
    n = 24
    samples = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    t = 1_700_000_000_000 + np.arange(n) * 100.0  # on-grid, 10 Hz, epoch milliseconds
    windows, starts = stream_to_windows(t.tolist(), samples.tolist(), CONFIG)
    expected = sliding_windows(samples, np.arange(0, n - 8 + 1, 4), 8, 4)
    np.testing.assert_allclose(windows, expected, atol=1e-3)
    np.testing.assert_allclose(starts, t[[0, 4, 8, 12, 16]])


def test_stream_to_windows_resamples_jittered_input_and_splits_at_gaps():
    rng = np.random.default_rng(0)
    t = np.concatenate([np.arange(40) * 100.0, 10_000 + np.arange(40) * 100.0]) + rng.uniform(-5, 5, 80)
    windows, starts = stream_to_windows(t, np.zeros((80, 3)), CONFIG)
    assert 16 <= len(windows) <= 18  # 8-9 per side of the gap (jitter trims an end sample); none across it
    assert not np.any((starts < 10_000) & (starts + 700 > 4_000))


@pytest.mark.parametrize(
    "timestamps, samples, message",
    [
        ([0, 100, 100] + list(range(300, 2000, 100)), [[0, 0, 0]] * 20, "strictly increasing"),
        (list(range(0, 500, 100)), [[0, 0, 0]] * 5, "fewer than one window"),
        (list(range(0, 2000, 100)), [[0, 0]] * 20, r"shape \(n, 3\)"),
        (list(range(0, 2000, 100)), [[0, 0, 0]] * 19, "20 timestamps but 19 samples"),
        (list(range(0, 20000, 100)), [[0, 0, 0]] * 200, "at most 100"),
        (list(range(0, 2000, 100)), [[0, 0, float("inf")]] * 20, "not a finite number"),
        (list(range(0, 20, 1)), [[0, 0, 0]] * 20, "no gap-free run"),
    ],
)
def test_stream_to_windows_rejects(timestamps, samples, message):
    with pytest.raises(RequestError, match=message):
        stream_to_windows(timestamps, samples, CONFIG)


def test_micro_batcher_merges_concurrent_requests_and_splits_results():
    calls = []

    def infer(x):
        calls.append(len(x))
        return x[:, 0, :1] * 2

    async def scenario():
        batcher = MicroBatcher(infer, max_batch=6)
        inputs = [np.full((n, 2, 1), i, np.float32) for i, n in enumerate([1, 2, 3, 4, 1])]
        results = await asyncio.gather(*(batcher.submit(x) for x in inputs))
        return inputs, results, batcher

    inputs, results, batcher = asyncio.run(scenario())
    for x, y in zip(inputs, results, strict=True):
        np.testing.assert_array_equal(y, x[:, 0, :1] * 2)
    assert sum(calls) == 11 and max(calls) <= 6 and len(calls) < 5  # batched, never over max_batch
    assert batcher.windows == 11


def test_micro_batcher_propagates_model_errors_and_keeps_serving():
    state = {"fail": True}

    def infer(x):
        if state.pop("fail", False):
            raise RuntimeError("boom")
        return x

    async def scenario():
        batcher = MicroBatcher(infer)
        with pytest.raises(RuntimeError, match="boom"):
            await batcher.submit(np.zeros((1, 1, 1), np.float32))
        return await batcher.submit(np.ones((1, 1, 1), np.float32))

    assert asyncio.run(scenario()).sum() == 1


def test_predictor_padding_and_chunking_match_the_plain_model(tmp_path):
    import json

    import keras

    from har.serving import MODEL_FILE, NORMALIZER_FILE, SERVING_CONFIG_FILE, Predictor
    from har.types import ChannelNormalizer

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 3))
    x = keras.layers.Conv1D(4, 3, padding="same")(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.save(tmp_path / MODEL_FILE)
    normalizer = ChannelNormalizer(["x", "y", "z"], [0.5, 0.0, -1.0], [2.0, 1.0, 0.5])
    (tmp_path / NORMALIZER_FILE).write_text(json.dumps(normalizer.to_dict()))
    (tmp_path / SERVING_CONFIG_FILE).write_text(json.dumps(CONFIG.to_dict()))

    predictor = Predictor(tmp_path, max_batch=8)
    assert predictor.buckets == (1, 2, 4, 8)
    windows = np.random.default_rng(1).normal(size=(19, 8, 3)).astype(np.float32)
    expected = np.asarray(model(normalizer.transform(windows), training=False))
    for n in (1, 3, 8, 19):  # padded to a bucket, exact, chunked beyond max_batch
        np.testing.assert_allclose(predictor.predict_proba(windows[:n]), expected[:n], atol=1e-6)
    answers = predictor.describe(expected[:2], start_times_ms=[10.0, 20.0])
    assert answers[0]["model_version"] == "3" and answers[1]["start_time_ms"] == 20.0
    assert answers[0]["label"] == ["a", "b"][int(expected[0].argmax())]
