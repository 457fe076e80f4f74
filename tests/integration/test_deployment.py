"""Deploy the production model for real through ZenML's BentoML deployer and talk HTTP to it."""

import json
import socket
from collections import Counter

import httpx
import numpy as np
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from zenml.client import Client
from zenml.enums import ModelStages

from prometheus_grafana.references import (
    SCRAPE_SERIES,
    alert_expressions,
    dashboard_expressions,
    load_catalog,
    load_dashboard,
    referenced_series,
)
from tests.integration.conftest import ROOT, run_cli

pytestmark = pytest.mark.integration
MODEL = "har-activity-classifier"
STILL = [[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * 128  # a window of a phone lying flat: 1 g on z (all zeros would be 422)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def deployed(trained_run, tmp_path_factory):
    port = _free_port()
    config = yaml.safe_load((ROOT / "configs" / "deploy.yaml").read_text())
    config["steps"]["deploy_model"]["parameters"]["port"] = port
    path = tmp_path_factory.mktemp("deploy") / "deploy.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("--pipeline", "deploy", "--config", str(path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    url = f"http://127.0.0.1:{port}"
    yield {"url": url, "config": path, "port": port}
    run_cli("--stop-deployments")


def _post(url: str, path: str, body, **kwargs) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def production():
    version = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    return {
        "version": version,
        "model": version.get_artifact("trained_model").load(),
        "normalizer": version.get_artifact("normalizer").load(),
        "test": version.get_artifact("test_windows").load(),
        "onnx": version.get_artifact("onnx_float32").load(),
    }


def test_server_outlives_the_pipeline_and_serves_the_production_version(deployed, production):
    assert httpx.get(deployed["url"] + "/readyz", timeout=10).status_code == 200
    info = _post(deployed["url"], "/model_info", {}).json()
    assert info["model_version"] == str(production["version"].number)
    assert info["window_size"] == production["test"].window_size
    assert info["channel_names"] == production["test"].channel_names


def test_model_info_is_the_versions_serving_config_artifact(deployed, production):
    """One serving contract: what the service answers is the artifact training produced, field for field."""
    contract = production["version"].get_artifact("serving_config").load().to_dict()
    info = _post(deployed["url"], "/model_info", {}).json()
    assert {key: info.get(key) for key in contract} == json.loads(json.dumps(contract))
    assert contract["max_windows_per_request"] == 16  # the tiny training config's limit reached the service


SKEW_TOLERANCE = 1e-5  # max |served - in-process| probability, same runtime (the service rounds to 6 decimals)
# max |served (ONNX Runtime) - the family's own predict_proba| probability: two implementations; MiniRocket's
# thresholded features can flip where a float32 convolution output meets a bias (one 1/n step of one feature)
MODEL_TOLERANCE = 2e-3


def _served(response: httpx.Response, class_names: list) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.array([[p["probabilities"][c] for c in class_names] for p in response.json()["predictions"]])


def test_served_predictions_equal_in_process_predictions_of_the_same_runtime(deployed, production):
    """The service runs the version's ONNX export in ONNX Runtime: compared with that runtime in-process (and with
    the family's own model it was exported from, which the export's parity gate already checked)."""
    from har.serving import OnnxRuntime

    info = _post(deployed["url"], "/model_info", {}).json()
    assert (info["runtime"], info["runtime_threads"], info["family"]) == ("onnx", 1, production["model"].name)
    test = production["test"]
    windows = test.X[:12]
    response = _post(deployed["url"], "/predict", {"windows": windows.tolist()})
    served = _served(response, test.class_names)
    runtime = OnnxRuntime(production["onnx"].content, (test.window_size, len(test.channel_names)), threads=1,
                          max_batch=16)
    local = runtime.predict_proba(windows)  # raw windows: the normaliser is inside the ONNX graph
    np.testing.assert_allclose(served, local, atol=SKEW_TOLERANCE, rtol=0)
    own = production["model"].predict_proba(production["normalizer"].transform(windows))
    np.testing.assert_allclose(served, own, atol=MODEL_TOLERANCE, rtol=0)
    assert [p["label"] for p in response.json()["predictions"]] == [test.class_names[i] for i in local.argmax(1)]
    assert {p["model_version"] for p in response.json()["predictions"]} == {str(production["version"].number)}


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_binary_bodies_get_the_answers_of_the_json_body(deployed, production):
    test = production["test"]
    windows = test.X[:10].astype(np.float32)
    expected = _served(_post(deployed["url"], "/predict", {"windows": windows.tolist()}), test.class_names)
    shape = ",".join(map(str, windows.shape))
    octet = httpx.post(deployed["url"] + "/predict", content=windows.astype("<f4").tobytes(), timeout=60,
                       headers={"content-type": "application/octet-stream", "x-shape": shape})
    npy = httpx.post(deployed["url"] + "/predict", content=_npy(windows), timeout=60,
                     headers={"content-type": "application/x-npy"})
    for response in (octet, npy):
        np.testing.assert_array_equal(_served(response, test.class_names), expected)
    # units in the X-Units header, as the JSON body's "units"
    scale = np.array([9.80665] * 3 + [180 / np.pi] * 3, np.float32)
    converted = httpx.post(deployed["url"] + "/predict", content=_npy(windows * scale), timeout=60, headers={
        "content-type": "application/x-npy", "x-units": "accelerometer=m/s^2,gyroscope=deg/s"})
    np.testing.assert_allclose(_served(converted, test.class_names), expected, atol=1e-4)
    undeclared = httpx.post(deployed["url"] + "/predict", content=_npy(windows * scale), timeout=60,
                            headers={"content-type": "application/x-npy"})
    assert undeclared.status_code == 422 and "X-Units" in _error(undeclared)

    schema = httpx.get(deployed["url"] + "/docs.json", timeout=10).json()["paths"]["/predict"]["post"]
    assert list(schema["requestBody"]["content"]) == ["application/json", "application/octet-stream",
                                                      "application/x-npy"]
    assert {"X-Shape", "X-Units"} <= {parameter["name"] for parameter in schema["parameters"]}


@pytest.mark.parametrize(
    "content_type, headers, body, status, message",
    [
        ("application/octet-stream", {}, np.zeros((1, 128, 6), "<f4").tobytes(), 400, "X-Shape"),
        ("application/octet-stream", {"x-shape": "1,128,x"}, np.zeros((1, 128, 6), "<f4").tobytes(), 400,
         "non-negative integers"),
        ("application/octet-stream", {"x-shape": "2,128,6"}, np.zeros((1, 128, 6), "<f4").tobytes(), 400,
         "needs 6144 bytes"),
        ("application/octet-stream", {"x-shape": "1,128,6"}, np.full((1, 128, 6), np.nan, "<f4").tobytes(), 400,
         "all values must be finite"),
        ("application/octet-stream", {"x-shape": "17,128,6"}, np.zeros((17, 128, 6), "<f4").tobytes(), 413,
         "at most 16"),
        ("application/octet-stream", {"x-shape": "1,128,5"}, np.zeros((1, 128, 5), "<f4").tobytes(), 400,
         "expected 6"),
        ("application/x-npy", {}, None, 400, "dtype object is refused"),  # None: built in the test
        ("application/x-npy", {}, b"\x80\x04\x95not a pickle we would ever load", 400, "not a valid .npy"),
        ("application/octet-stream", {"x-shape": "700,128,6"}, np.zeros((700, 128, 6), "<f4").tobytes(), 413,
         "request body over"),  # 2.15 MB > max_body_bytes (2 MB): refused before it is read
    ],
)
def test_bad_binary_bodies_get_4xx_in_the_error_shape(deployed, content_type, headers, body, status, message):
    if body is None:  # an object array, written with pickles inside
        import io

        buffer = io.BytesIO()
        np.save(buffer, np.array([{"a": 1}, 2.0], dtype=object), allow_pickle=True)
        body = buffer.getvalue()
    response = httpx.post(deployed["url"] + "/predict", content=body, timeout=60,
                          headers={"content-type": content_type, **headers})
    assert response.status_code == status, response.text
    assert message in _error(response)


def test_stream_is_windowed_like_training(deployed, production):
    test = production["test"]
    # two consecutive windows of one recording, as a raw stream at the training rate
    stream = np.concatenate([test.X[0], test.X[1][-test.step:]])
    timestamps = 1_700_000_000_000 + np.arange(len(stream)) * 1000.0 / test.sample_rate_hz
    response = _post(deployed["url"], "/predict_stream", {"timestamps": timestamps.tolist(),
                                                         "samples": stream.tolist()})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["start_time_ms"] for p in predictions] == pytest.approx([timestamps[0], timestamps[test.step]])
    direct = _post(deployed["url"], "/predict", {"windows": [stream[:test.window_size].tolist()]}).json()
    assert predictions[0]["probabilities"] == pytest.approx(direct["predictions"][0]["probabilities"], abs=1e-5)


@pytest.mark.parametrize(
    "path, body, status, message",
    [
        ("/predict", {"windows": [[[0.0] * 6] * 128][0]}, 400, "single window"),
        ("/predict", {"windows": [[[0.0] * 5] * 128]}, 400, "expected 6"),
        ("/predict", {"windows": [[[0.0] * 6] * 100]}, 400, "expected 128"),
        ("/predict", {"windows": []}, 400, "has shape (0,)"),
        ("/predict", {"windows": [[["a"] * 6] * 128]}, 400, "must be a list of windows"),
        ("/predict", '{"windows": [' + ",".join(['[' + ",".join(["[1e400,0,0,0,0,0]"] * 128) + ']']) + ']}', 400,
         "infinity"),
        ("/predict", {"windows": [[[0.0] * 6] * 128] * 17}, 413, "at most 16"),
        ("/predict", {"wrong": 1}, 400, "windows"),
        ("/predict_stream", {"timestamps": [3, 2, 1] * 50, "samples": [[0.0] * 6] * 150}, 400, "strictly increasing"),
        ("/predict_stream", {"timestamps": list(range(10)), "samples": [[0.0] * 6] * 10}, 400, "fewer than one window"),
        ("/predict_stream", {"timestamps": list(range(200)), "samples": [[0.0] * 6] * 199}, 400, "200 timestamps"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(deployed, path, body, status, message):
    if isinstance(body, str):  # not expressible through json.dumps (e.g. 1e400)
        response = httpx.post(deployed["url"] + path, content=body, headers={"content-type": "application/json"},
                              timeout=60)
    else:
        response = _post(deployed["url"], path, body)
    assert response.status_code == status, response.text
    assert message in response.text


def _error(response: httpx.Response) -> str:
    """The error message of a 4xx, unescaped: every error is `{"error": "...", "status": <code>}`."""
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == response.status_code, body
    return body["error"]


def test_units_are_stated_converted_and_checked(deployed, production):
    """A still stream in m/s^2 (and deg/s): declared -> the g answers; undeclared -> 422 naming m/s^2."""
    test = production["test"]
    info = _post(deployed["url"], "/model_info", {}).json()
    units = info["units"]
    assert {name: stream["unit"] for name, stream in units.items()} == {"accelerometer": "g", "gyroscope": "rad/s"}
    assert set(units["accelerometer"]["accepted_units"]) == {"g", "m/s^2"}
    assert set(units["gyroscope"]["accepted_units"]) == {"rad/s", "deg/s"}
    assert [c for stream in units.values() for c in stream["channels"]] == info["channel_names"]
    assert info["linear_acceleration"] is False
    # the request's unit per channel, from what /model_info says
    scale = np.ones(len(info["channel_names"]))
    for name, unit in (("accelerometer", "m/s^2"), ("gyroscope", "deg/s")):
        channels = [info["channel_names"].index(c) for c in units[name]["channels"]]
        scale[channels] = 1 / units[name]["accepted_units"][unit]
    declared = {"accelerometer": "m/s^2", "gyroscope": "deg/s"}

    # two consecutive windows of one still recording, as the raw stream
    activity = next(a for a in ("sitting", "standing") if a in test.class_names)
    still = np.flatnonzero(test.y == test.class_names.index(activity))
    i, j = next((i, j) for i, j in zip(still, still[1:], strict=False) if test.recording_ids[i] == test.recording_ids[j]
                and np.isclose(test.start_times[j] - test.start_times[i], test.step / test.sample_rate_hz))
    stream = np.concatenate([test.X[i], test.X[j][-test.step:]]).astype(np.float64)
    timestamps = (test.start_times[i] * 1000.0 + np.arange(len(stream)) * 1000.0 / test.sample_rate_hz).tolist()

    for path, body in (("/predict", {"windows": test.X[still[:8]].astype(np.float64)}),
                       ("/predict_stream", {"timestamps": timestamps, "samples": stream})):
        data = "windows" if "windows" in body else "samples"
        in_g = _post(deployed["url"], path, {**body, data: body[data].tolist()})
        assert in_g.status_code == 200, in_g.text
        converted = _post(deployed["url"], path, {**body, data: (body[data] * scale).tolist(), "units": declared})
        assert converted.status_code == 200, converted.text
        expected, got = in_g.json()["predictions"], converted.json()["predictions"]
        assert [p["label"] for p in got] == [p["label"] for p in expected]
        for a, b in zip(got, expected, strict=True):
            assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-4)

        undeclared = _post(deployed["url"], path, {**body, data: (body[data] * scale).tolist()})
        assert undeclared.status_code == 422, undeclared.text
        assert "looks like m/s^2" in _error(undeclared)
        assert '"units": {"accelerometer": "m/s^2"}' in _error(undeclared)

    unknown = _post(deployed["url"], "/predict", {"windows": [STILL], "units": {"accelerometer": "mg"}})
    assert unknown.status_code == 400 and "accepted: g, m/s^2" in _error(unknown)
    unknown = _post(deployed["url"], "/predict", {"windows": [STILL], "units": {"magnetometer": "uT"}})
    assert unknown.status_code == 400 and "accelerometer" in _error(unknown) and "gyroscope" in _error(unknown)


def test_the_openapi_schema_documents_the_units(deployed):
    schemas = httpx.get(deployed["url"] + "/docs.json", timeout=10).json()["components"]["schemas"]
    text = json.dumps(schemas)
    assert "m/s^2" in text and "deg/s" in text and "rad/s" in text
    for name in ("PredictRequest", "StreamRequest"):
        found = [schema for key, schema in schemas.items() if key.startswith(name)]
        assert found and "units" in found[0]["properties"], (name, sorted(schemas))
        assert "units" not in found[0].get("required", [])


def test_oversized_and_malformed_bodies(deployed):
    big = b'{"windows": [' + b"1," * 1_200_000 + b"1]}"
    response = httpx.post(deployed["url"] + "/predict", content=big, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 413 and "request body over" in response.text
    response = httpx.post(deployed["url"] + "/predict", content=b'{"windows": [[[NaN',
                          headers={"content-type": "application/json"}, timeout=60)
    assert response.status_code == 400 and "not valid JSON" in response.text
    # still alive and answering correctly after all the bad input
    ok = _post(deployed["url"], "/predict", {"windows": [STILL]})
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 1


def test_prometheus_metrics_count_predictions(deployed):
    _post(deployed["url"], "/predict", {"windows": [STILL]})
    metrics = httpx.get(deployed["url"] + "/metrics", timeout=10).text
    assert "har_predictions_total{" in metrics
    assert "bentoml_service_request_total" in metrics or "bentoml_api_server_request_total" in metrics


def test_metrics_of_the_dashboard_and_alerts_are_exported(deployed, production):
    """prometheus_grafana/metrics.txt, the Grafana dashboard and the alert rules against the real GET /metrics."""

    def scrape():
        text = httpx.get(deployed["url"] + "/metrics", timeout=10).text
        families = {family.name: family for family in text_string_to_metric_families(text)}
        values = {(s.name, frozenset(s.labels.items())): s.value for f in families.values() for s in f.samples}
        return families, values

    def total(values, name, **labels):
        return sum(value for (series, found), value in values.items()
                   if series == name and set(labels.items()) <= found)

    _, before = scrape()
    windows = production["test"].X[:16]
    ok = _post(deployed["url"], "/predict", {"windows": windows.tolist()})
    assert ok.status_code == 200, ok.text
    assert _post(deployed["url"], "/predict", {"windows": [[[0.0] * 5] * 128]}).status_code == 400
    families, after = scrape()

    exported = {name for name, _ in after}
    for metric in load_catalog().values():
        family = families.get(metric.name.removesuffix("_total") if metric.type == "counter" else metric.name)
        assert family is not None and family.type == metric.type, f"{metric.name} ({metric.type}) not served"
        assert set(metric.series()) <= exported, metric.name
        for sample in family.samples:
            assert set(sample.labels) == metric.series()[sample.name], f"{sample.name} labels {sorted(sample.labels)}"
    used = referenced_series(dashboard_expressions(load_dashboard()) + alert_expressions()) - set(SCRAPE_SERIES)
    assert used <= exported, f"the dashboard or alerts use {sorted(used - exported)}, which /metrics does not serve"

    # har_predictions_total counts each classified window under its predicted activity
    labels = Counter(p["label"] for p in ok.json()["predictions"])
    assert sum(labels.values()) == len(windows) and set(labels) <= set(production["test"].class_names)
    counted = {activity: total(after, "har_predictions_total", activity=activity)
               - total(before, "har_predictions_total", activity=activity)
               for activity in production["test"].class_names}
    assert counted == {activity: labels.get(activity, 0) for activity in production["test"].class_names}
    # the labels the error-ratio and latency panels group by carry what happened
    for code in ("200", "400"):
        for name in ("bentoml_service_request_total", "bentoml_service_request_duration_seconds_count"):
            change = total(after, name, endpoint="/predict", http_response_code=code) - total(
                before, name, endpoint="/predict", http_response_code=code)
            assert change == 1, f"{name}{{endpoint=/predict, http_response_code={code}}} went up by {change}"


def test_redeploy_replaces_and_stop_frees_the_port(deployed):
    before = run_cli("--list-deployments").stdout
    assert before.count("running") == 1
    result = run_cli("--pipeline", "deploy", "--config", str(deployed["config"]))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = run_cli("--list-deployments").stdout
    assert after.count("running") == 1 and after.splitlines()[-1].split()[0] not in before
    assert _post(deployed["url"], "/model_info", {}).status_code == 200

    assert "Stopped 1 deployment" in run_cli("--stop-deployments").stdout
    with pytest.raises(httpx.ConnectError):
        httpx.get(deployed["url"] + "/readyz", timeout=5)
    assert "No deployments" in run_cli("--list-deployments").stdout
    json.dumps(after)  # keep the listing printable in failures
