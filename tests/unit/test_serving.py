"""Serving-side pure logic: request checks, units, stream windowing and the micro-batcher."""

import asyncio
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from har.config import DataConfig, load_schema
from har.serving import (
    MicroBatcher,
    RequestError,
    ServingConfig,
    check_windows,
    stream_to_windows,
    to_canonical_units,
    units_from_schema,
)
from har.windowing import sliding_windows

REPO = Path(__file__).resolve().parents[2]

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


def test_micro_batcher_runs_small_batches_in_place_and_big_ones_in_a_thread():
    import threading

    threads = []

    def infer(x):
        threads.append((len(x), threading.get_ident()))
        if len(x) == 3:
            raise RuntimeError("inline failure")
        return x[:, 0, :1]

    async def scenario():
        batcher = MicroBatcher(infer, max_batch=64, inline_windows=4)
        small = await batcher.submit(np.ones((2, 1, 1), np.float32))
        big = await batcher.submit(np.ones((5, 1, 1), np.float32))
        with pytest.raises(RuntimeError, match="inline failure"):
            await batcher.submit(np.ones((3, 1, 1), np.float32))
        return small, big, threading.get_ident()

    small, big, loop_thread = asyncio.run(scenario())
    assert small.shape == (2, 1) and big.shape == (5, 1)
    assert [(n, ident == loop_thread) for n, ident in threads] == [(2, True), (5, False), (3, True)]


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


# --- units: what package_model writes (the real schema), conversion, 400 / 422 ------------------------------

SCHEMA = load_schema(REPO / "configs" / "schema.yaml")
DATA = DataConfig()
UNITS = units_from_schema(DATA.streams, SCHEMA)
SENSOR = ServingConfig(model_name="m", model_version="3", class_names=["a", "b"],
                       channel_names=[c for stream in UNITS.values() for c in stream.channels], window_size=128,
                       step=64, sample_rate_hz=50.0, merge_tolerance_ms=50.0, max_windows_per_request=8,
                       max_stream_samples=10_000, units=UNITS, linear_acceleration=DATA.linear_acceleration)
MS2 = 1 / SCHEMA.streams["accelerometer"].factor("m/s^2")  # m/s^2 per g
DEG = 1 / SCHEMA.streams["gyroscope"].factor("deg/s")  # deg/s per rad/s


def sitting(n_samples: int = 256, seed: int = 0) -> np.ndarray:
    """A still phone in g and rad/s: gravity on a tilted axis, sensor noise, small rotations."""
    rng = np.random.default_rng(seed)
    gravity = np.array([0.1, 0.6, 0.79]) / np.linalg.norm([0.1, 0.6, 0.79])
    acc = gravity + rng.normal(0, 0.02, (n_samples, 3))
    return np.hstack([acc, rng.normal(0, 0.05, (n_samples, 3))])


def in_units(values: np.ndarray, acc: float = 1.0, gyro: float = 1.0) -> np.ndarray:
    return values * np.array([acc] * 3 + [gyro] * 3)


def test_serving_config_states_the_schema_units_and_round_trips_through_json():
    content = json.loads(json.dumps(SENSOR.to_dict()))
    assert content["units"] == {
        "accelerometer": {"channels": ["acc_x", "acc_y", "acc_z"], "unit": "g",
                          "accepted_units": {"g": 1.0, "m/s^2": pytest.approx(1 / 9.80665)}},
        "gyroscope": {"channels": ["gyro_x", "gyro_y", "gyro_z"], "unit": "rad/s",
                      "accepted_units": {"rad/s": 1.0, "deg/s": pytest.approx(math.pi / 180)}},
    }
    assert content["linear_acceleration"] is False
    assert ServingConfig.from_dict(content) == SENSOR


def test_old_serving_json_without_units_loads_with_g_and_rad_s():
    old = {key: value for key, value in SENSOR.to_dict().items() if key not in ("units", "linear_acceleration")}
    loaded = ServingConfig.from_dict(json.loads(json.dumps(old)))
    assert loaded.linear_acceleration is False
    assert {name: (s.channels, s.unit) for name, s in loaded.units.items()} == {
        name: (s.channels, s.unit) for name, s in UNITS.items()}
    for name, stream in loaded.units.items():  # the fallback factors are the schema's
        assert stream.accepted_units == pytest.approx(UNITS[name].accepted_units)
    window = in_units(sitting(128), MS2)[None]
    np.testing.assert_allclose(check_windows(window, loaded, {"accelerometer": "m/s^2"}),
                               check_windows(window, SENSOR, {"accelerometer": "m/s^2"}), rtol=1e-6)
    assert ServingConfig.from_dict(CONFIG.to_dict()).units == {}  # channels of no known stream: nothing to convert


def test_serving_config_refuses_units_of_channels_the_model_does_not_have():
    with pytest.raises(ValueError, match="not model channels"):
        ServingConfig.from_dict({**SENSOR.to_dict(), "channel_names": ["acc_x", "acc_y", "acc_z"]})


@pytest.mark.parametrize("units, acc, gyro", [
    (None, 1.0, 1.0),
    ({}, 1.0, 1.0),
    ({"accelerometer": "g", "gyroscope": "rad/s"}, 1.0, 1.0),
    ({"accelerometer": "m/s^2"}, MS2, 1.0),
    ({"gyroscope": "deg/s"}, 1.0, DEG),
    ({"accelerometer": "m/s^2", "gyroscope": "deg/s"}, MS2, DEG),
])
def test_declared_units_are_converted_to_the_training_units(units, acc, gyro):
    canonical = np.stack([sitting(128, seed) for seed in range(3)]).astype(np.float32)
    out = check_windows(in_units(canonical, acc, gyro).tolist(), SENSOR, units)
    assert out.dtype == np.float32 and out.shape == canonical.shape
    np.testing.assert_allclose(out, canonical, rtol=1e-5, atol=1e-6)


def test_stream_conversion_gives_the_windows_of_the_canonical_stream():
    samples = sitting(300)
    t = 1_700_000_000_000 + np.arange(300) * 20.0
    expected, starts = stream_to_windows(t, samples, SENSOR)
    got, got_starts = stream_to_windows(t.tolist(), in_units(samples, MS2, DEG).tolist(), SENSOR,
                                        {"accelerometer": "m/s^2", "gyroscope": "deg/s"})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got_starts, starts)


@pytest.mark.parametrize("units, message", [
    ({"accelerometer": "mg"}, "units.accelerometer is 'mg', not an accepted unit; accepted: g, m/s^2"),
    ({"gyroscope": "rpm"}, "accepted: deg/s, rad/s"),
    ({"accelerometer": 9.81}, "units.accelerometer is 9.81"),
    ({"magnetometer": "uT"}, "stream 'magnetometer', which this model does not take; its streams: accelerometer "
                             "(g; accepted: g, m/s^2), gyroscope (rad/s; accepted: deg/s, rad/s)"),
    ("m/s^2", "'units' must be an object mapping stream to unit"),
    (["g"], "'units' must be an object"),
])
def test_unknown_units_or_streams_get_400_naming_the_accepted_ones(units, message):
    for call in (lambda: check_windows(sitting(128)[None], SENSOR, units),
                 lambda: stream_to_windows(np.arange(128) * 20.0, sitting(128), SENSOR, units)):
        with pytest.raises(RequestError) as error:
            call()
        assert error.value.status == 400 and message in str(error.value)


def test_m_s2_sent_as_g_gets_422_naming_m_s2_and_how_to_declare_it():
    windows = in_units(sitting(128), MS2)[None]
    with pytest.raises(RequestError) as error:
        check_windows(windows, SENSOR)
    assert error.value.status == 422
    assert "looks like m/s^2" in str(error.value)
    assert '"units": {"accelerometer": "m/s^2"}' in str(error.value)
    with pytest.raises(RequestError, match="looks like m/s\\^2") as error:  # the stream endpoint: same rule
        stream_to_windows(np.arange(300) * 20.0, in_units(sitting(300), MS2), SENSOR)
    assert error.value.status == 422


def test_g_declared_as_m_s2_gets_422_naming_g():
    with pytest.raises(RequestError) as error:
        check_windows(sitting(128)[None], SENSOR, {"accelerometer": "m/s^2"})
    assert error.value.status == 422
    assert "not in m/s^2" in str(error.value) and "looks like g" in str(error.value)
    assert '"units": {"accelerometer": "g"}' in str(error.value)


def test_the_check_covers_all_windows_of_a_request_together():
    # three still windows and one in free fall: the median over the request is still about 1 g
    windows = np.stack([sitting(128, seed) for seed in range(4)])
    windows[3, :, :3] = 0.0
    assert check_windows(windows, SENSOR).shape == (4, 128, 6)
    windows[1:, :, :3] = 0.0  # mostly no gravity at all: matches no unit
    with pytest.raises(RequestError, match="matches none of them") as error:
        check_windows(windows, SENSOR)
    assert error.value.status == 422


def test_gyroscope_units_are_not_checked_for_gravity():
    windows = in_units(sitting(128), 1.0, DEG)[None]  # deg/s sent as rad/s: no physical anchor to tell
    np.testing.assert_allclose(check_windows(windows, SENSOR), windows, rtol=1e-6)


def test_linear_acceleration_skips_the_check():
    linear = ServingConfig.from_dict({**SENSOR.to_dict(), "linear_acceleration": True})
    gravity_free = sitting(128)[None].copy()
    gravity_free[..., :3] -= gravity_free[..., :3].mean(axis=1, keepdims=True)
    with pytest.raises(RequestError):
        check_windows(gravity_free, SENSOR)
    np.testing.assert_allclose(check_windows(gravity_free, linear), gravity_free, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(check_windows(in_units(gravity_free, MS2), linear, {"accelerometer": "m/s^2"}),
                               gravity_free, rtol=1e-5, atol=1e-6)  # still converted


def test_units_conversion_and_check_cost_well_under_a_millisecond_per_window():
    window = in_units(sitting(128), MS2, DEG)[None].tolist()
    units = {"accelerometer": "m/s^2", "gyroscope": "deg/s"}
    for _ in range(20):
        check_windows(window, SENSOR, units)
    times = []
    for _ in range(300):
        start = time.perf_counter()
        check_windows(window, SENSOR, units)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 1e-3, f"check_windows + units: {np.median(times) * 1e3:.3f} ms median"
    array = sitting(128)[None].astype(np.float32)
    assert to_canonical_units(array, None, SENSOR) is array  # canonical input: no copy


# --- hostile input: spans, non-numbers, error shape, API keys ------------------------------------------------

def test_a_few_samples_spanning_days_cost_what_their_count_costs():
    """129 samples 1e5 s apart used to allocate the whole 50 Hz grid of the span (GBs for 1e6 s)."""
    import tracemalloc

    t = 1_700_000_000_000 + np.arange(129) * 1e5 * 1000 / 128  # 129 samples over 1e5 s
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(RequestError, match="no gap-free run") as error:
        stream_to_windows(t.tolist(), sitting(129).tolist(), SENSOR)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert error.value.status == 400
    assert elapsed < 0.5 and peak < 5_000_000, f"{elapsed:.3f} s, peak {peak / 1e6:.1f} MB"


def test_windows_after_a_long_gap_are_those_of_the_dense_resampling():
    t = np.concatenate([1_700_000_000_000 + np.arange(300) * 20.0, 1_700_100_000_000 + np.arange(300) * 20.0])
    windows, starts = stream_to_windows(t, sitting(600), SENSOR)
    from har.resampling import resample_streams
    from har.windowing import segment_bounds, window_starts

    grid, values, segments = resample_streams({"s": (t / 1000.0, sitting(600))}, 50.0, 0.05)  # training's way
    expected = window_starts(*segment_bounds(segments), 128, 64)
    assert len(windows) == len(expected) == 6
    np.testing.assert_array_equal(starts, grid[expected] * 1000.0)
    np.testing.assert_array_equal(windows, sliding_windows(values, expected, 128, 64))


@pytest.mark.parametrize("timestamps", [[-1.0] + [float(i) for i in range(1, 200)],
                                        (1.7e15 + np.arange(200) * 20_000.0).tolist()])  # microseconds
def test_timestamps_outside_epoch_milliseconds_get_400(timestamps):
    with pytest.raises(RequestError, match="expected epoch milliseconds between 0 and") as error:
        stream_to_windows(timestamps, sitting(200).tolist(), SENSOR)
    assert error.value.status == 400


def _with(window: list, value) -> list:
    window = [row[:] for row in window]
    window[5][2] = value
    return window


@pytest.mark.parametrize("value", ["0.5", True, False, None, [1.0], {"x": 1}])
def test_non_numbers_are_refused_not_converted(value):
    window = np.round(sitting(128), 5).tolist()
    with pytest.raises(RequestError, match="not strings, booleans or null") as error:
        check_windows([_with(window, value)], SENSOR)
    assert error.value.status == 400
    t = (1_700_000_000_000 + np.arange(128) * 20.0).tolist()
    with pytest.raises(RequestError, match="not strings, booleans or null"):
        stream_to_windows(t, _with(window, value), SENSOR)
    with pytest.raises(RequestError, match="not strings, booleans or null"):
        stream_to_windows(t[:5] + [value] + t[6:], window, SENSOR)
    with pytest.raises(RequestError, match="not strings, booleans or null"):
        check_windows([[[True] * 6] * 128], SENSOR)


def test_integers_and_exact_zeros_and_ones_are_numbers():
    still = [[0, 0, 1, 0.0, 0.0, 0.0]] * 128
    assert check_windows([still], SENSOR).shape == (1, 128, 6)


@pytest.mark.parametrize("status, body, message", [
    (400, b'[{"error": "bad shape"}]', "bad shape"),  # BentoML's list
    (400, b'{"error": "1 validation error", "detail": [{"loc": ["x"]}]}', "1 validation error"),
    (404, b"Not Found", "Not Found"),  # Starlette's plain text
    (500, b"", "internal server error"),
    (413, b'{"error": "too big", "status": 413}', "too big"),  # already in shape
])
def test_every_error_body_gets_the_one_shape(status, body, message):
    from har.serving import ERROR_SCHEMA, as_error_body

    content = json.loads(as_error_body(status, body))
    assert set(content) == set(ERROR_SCHEMA["required"]) and content["status"] == status
    assert message in content["error"]


def test_api_keys_from_env_and_file_several_valid_at_once(tmp_path):
    from har.serving import ApiKeys

    assert not ApiKeys.from_env({}).enabled and ApiKeys.from_env({}).allows(None)
    keyfile = tmp_path / "keys"
    keyfile.write_text("from-file\n\nsecond-file\n")
    keys = ApiKeys.from_env({"HAR_API_KEYS": " old-key , new-key ", "HAR_API_KEYS_FILE": str(keyfile)})
    for key in ("old-key", "new-key", "from-file", "second-file"):
        assert keys.allows(f"Bearer {key}") and keys.allows(f"bearer {key}".encode())
    for header in (None, "", "old-key", "Bearer", "Bearer old", "Bearer old-key2", "Basic old-key", "Bearer  "):
        assert not keys.allows(header), header


def test_strict_number_check_keeps_single_window_validation_fast():
    window = np.round(sitting(128), 5).tolist()
    still = [[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * 128  # every row has exact 0/1: the slow path
    for body in ([window], [still]):
        for _ in range(20):
            check_windows(body, SENSOR)
        times = []
        for _ in range(200):
            start = time.perf_counter()
            check_windows(body, SENSOR)
            times.append(time.perf_counter() - start)
        assert np.median(times) < 5e-4, f"{np.median(times) * 1e6:.0f} us"


# --- binary /predict bodies: application/octet-stream (+ X-Shape) and application/x-npy ------------------------

UNPICKLED = []


def _record(event: str) -> None:
    UNPICKLED.append(event)


class _Tripwire:
    """Unpickling this object records it: the proof that a body was unpickled."""

    def __reduce__(self):
        return (_record, ("unpickled",))


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _npy_header(header: str) -> bytes:
    """A hand-written .npy 1.0 header (magic, length, dict padded to 64 bytes)."""
    text = header.encode().ljust(64 - 10 - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


def test_binary_bodies_give_the_windows_of_the_json_body():
    from har.serving import NPY_TYPE, OCTET_TYPE, parse_binary_windows

    windows = (np.arange(2 * 8 * 3, dtype=np.float32).reshape(2, 8, 3) / 7.0)
    expected = check_windows(windows.tolist(), CONFIG)
    octet, units = parse_binary_windows(windows.astype("<f4").tobytes(), OCTET_TYPE, {"x-shape": "2, 8,3"})
    assert units is None
    np.testing.assert_array_equal(check_windows(octet, CONFIG), expected)
    for array in (windows, windows.astype(">f4"), windows.astype(np.float64), np.asfortranarray(windows)):
        npy, _ = parse_binary_windows(_npy(array), NPY_TYPE, {})
        np.testing.assert_array_equal(check_windows(npy, CONFIG), expected)


def test_units_of_a_binary_body_come_from_the_x_units_header():
    from har.serving import OCTET_TYPE, parse_binary_windows

    values = in_units(sitting(256), acc=MS2, gyro=DEG)[None, :128].astype(np.float32)
    windows, units = parse_binary_windows(values.tobytes(), OCTET_TYPE, {
        "x-shape": "1,128,6", "x-units": "accelerometer=m/s^2, gyroscope=deg/s"})
    assert units == {"accelerometer": "m/s^2", "gyroscope": "deg/s"}
    np.testing.assert_allclose(check_windows(windows, SENSOR, units), sitting(256)[None, :128], atol=1e-5)
    with pytest.raises(RequestError, match="looks like m/s\\^2") as error:  # undeclared: the JSON body's 422
        check_windows(windows, SENSOR)
    assert error.value.status == 422
    with pytest.raises(RequestError, match="stream=unit pairs"):
        parse_binary_windows(values.tobytes(), OCTET_TYPE, {"x-shape": "1,128,6", "x-units": "m/s^2"})


@pytest.mark.parametrize(
    "body, headers, status, message",
    [
        (np.zeros((1, 8, 3), "<f4").tobytes(), {}, 400, "needs the header 'X-Shape"),
        (np.zeros((1, 8, 3), "<f4").tobytes(), {"x-shape": "1;8;3"}, 400, "non-negative integers"),
        (np.zeros((1, 8, 3), "<f4").tobytes(), {"x-shape": "1,8,-3"}, 400, "non-negative integers"),
        (np.zeros((1, 8, 3), "<f4").tobytes(), {"x-shape": "2,8,3"}, 400, "needs 192 bytes of float32; the body has"),
        (np.zeros((1, 8, 3), "<f4").tobytes()[:-1], {"x-shape": "1,8,3"}, 400, "the body has 95"),
        (np.zeros((1, 8, 3), "<f4").tobytes(), {"x-shape": "1000000000,1000000000,3"}, 400, "needs 12000000000000000"),
    ],
)
def test_bad_octet_stream_bodies_get_4xx(body, headers, status, message):
    from har.serving import OCTET_TYPE, parse_binary_windows

    with pytest.raises(RequestError, match=message.replace("(", r"\(")) as error:
        parse_binary_windows(body, OCTET_TYPE, headers)
    assert error.value.status == status


@pytest.mark.parametrize("shape, message", [((8, 3), "single window"), ((1, 8, 2), "expected 3"),
                                            ((6, 8, 3), "at most 5"), ((0, 8, 3), "empty")])
def test_binary_windows_pass_the_same_checks_as_json(shape, message):
    from har.serving import OCTET_TYPE, parse_binary_windows

    windows, _ = parse_binary_windows(np.ones(shape, "<f4").tobytes(), OCTET_TYPE,
                                      {"x-shape": ",".join(map(str, shape))})
    with pytest.raises(RequestError, match=message):
        check_windows(windows, CONFIG)


def test_nan_in_a_binary_body_is_named_by_position():
    from har.serving import NPY_TYPE, parse_binary_windows

    windows = np.ones((2, 8, 3), np.float32)
    windows[1, 4, 2] = np.nan
    array, _ = parse_binary_windows(_npy(windows), NPY_TYPE, {})
    with pytest.raises(RequestError, match=r"windows\[1\]\[4\]\[2\] \(z\) is nan"):
        check_windows(array, CONFIG)


def test_npy_bodies_are_never_unpickled():
    import pickle

    from har.serving import NPY_TYPE, parse_binary_windows

    hostile = [
        (_npy(np.array([_Tripwire(), 1.0], dtype=object), allow_pickle=True), "dtype object is refused"),
        (pickle.dumps(_Tripwire()), "not a valid .npy"),
        (pickle.dumps(np.ones((1, 8, 3))), "not a valid .npy"),
        (_npy(np.array(["a" * 8] * 3)), "dtype <U8 is refused"),
        (_npy(np.ones((1, 8, 3), np.float32))[:-4], "the body has 92 bytes"),
        (_npy(np.ones((1, 8, 3), np.float32)) + b"\0" * 4, "the body has 100 bytes"),
        (_npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 8, 3), }") + b"\0" * 96,
         "shape (1000000000000, 8, 3)"),  # a huge declared shape: refused before allocating it
        (b"", "not a valid .npy"),
    ]
    for body, message in hostile:
        with pytest.raises(RequestError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
            parse_binary_windows(body, NPY_TYPE, {})
        assert error.value.status == 400
    assert UNPICKLED == []
    assert pickle.loads(pickle.dumps(_Tripwire())) is None and UNPICKLED == ["unpickled"]  # the tripwire works
    UNPICKLED.clear()


def test_other_content_types_are_not_binary_windows():
    from har.serving import parse_binary_windows

    with pytest.raises(RequestError, match="not a windows format") as error:
        parse_binary_windows(b"x", "application/vnd.bentoml+pickle", {})
    assert error.value.status == 415
