"""Hostile requests against one real `bentoml serve` of service.py with API keys (HAR_API_KEYS) and a protected
/metrics (HAR_METRICS_AUTH=1), serving the production model of the session's training run."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
import jsonschema
import numpy as np
import pytest
from zenml.client import Client
from zenml.enums import ModelStages

from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration
MODEL = "har-activity-classifier"
KEYS = ("key-one-" + uuid.uuid4().hex, "key-two-" + uuid.uuid4().hex)  # two valid at once: rotation
AUTH = {"Authorization": f"Bearer {KEYS[0]}"}
STILL = [[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * 128


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _export_production_model() -> str:
    """The production version into BentoML's model store, as the deploy pipeline's package_model does."""
    from dataclasses import replace

    from mlops.bento import export_model

    version = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    config = replace(version.get_artifact("serving_config").load(), max_windows_per_request=16,
                     max_stream_samples=20_000, runtime="native")  # the family's own code behind the service
    return export_model(version.get_artifact("trained_model").load(), config)


def _descendants(pid: int) -> list:
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as file:
            children += [int(child) for child in file.read().split()]
    return children + [grandchild for child in children for grandchild in _descendants(child)]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("VmRSS")) / 1024


@pytest.fixture(scope="module")
def server(trained_run, tmp_path_factory):
    tag = _export_production_model()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("hostile") / "service.log"
    env = {**os.environ, "HAR_MODEL_TAG": tag, "HAR_API_KEYS": ",".join(KEYS), "HAR_METRICS_AUTH": "1",
           "HAR_MAX_BODY_BYTES": "2000000", "BENTOML_DO_NOT_TRACK": "true", "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(os.path.join(os.path.dirname(sys.executable), "bentoml")), "serve",
                                    "service:HARClassifier", "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # bounded: 120 s
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.5)
        else:
            pytest.fail("the server did not become ready in 120 s: " + log_path.read_text()[-3000:])
        worker = max(_descendants(process.pid), key=rss_mb)
        yield {"url": url, "worker": worker, "log": log_path, "schema": httpx.get(url + "/docs.json").json()}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _post(server, path: str, body, headers=AUTH, **kwargs) -> httpx.Response:
    return httpx.post(server["url"] + path, json=body, headers=headers, timeout=60, **kwargs)


def assert_error_shape(server, response: httpx.Response, path: str | None = None) -> dict:
    """The body is the one Error object of the served schema; on an API path the status is declared."""
    schema = server["schema"]
    body = response.json()
    jsonschema.validate(body, schema["components"]["schemas"]["Error"])
    assert body["status"] == response.status_code
    if path is not None:
        assert str(response.status_code) in schema["paths"][path]["post"]["responses"], (path, response.status_code)
    return body


def test_span_attack_is_refused_fast_without_memory_while_good_requests_are_served(server):
    """129 samples over 1e6 s took 10-27 s and 3.6 GB, blocking everyone; 1e15 ms answered 500."""
    samples = [[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * 129
    attacks = [{"timestamps": (1.7e12 + np.arange(129) * 1e9 / 128).tolist(), "samples": samples},  # 1e6 s
               {"timestamps": np.linspace(0, 1e15, 129).tolist(), "samples": samples}]
    assert _post(server, "/predict", {"windows": [STILL]}).status_code == 200  # warm
    before = rss_mb(server["worker"])
    results, good = [], []

    def attack():
        with httpx.Client(headers=AUTH, timeout=60) as client:
            for i in range(20):
                start = time.perf_counter()
                response = client.post(server["url"] + "/predict_stream", json=attacks[i % 2])
                results.append((response, time.perf_counter() - start))

    threads = [threading.Thread(target=attack) for _ in range(3)]
    for thread in threads:
        thread.start()
    with httpx.Client(headers=AUTH, timeout=60) as client:
        while any(thread.is_alive() for thread in threads) or len(good) < 5:
            start = time.perf_counter()
            response = client.post(server["url"] + "/predict", json={"windows": [STILL]})
            good.append((response.status_code, time.perf_counter() - start))
            if len(good) > 2000:
                break
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 60
    for response, seconds in results:
        assert 400 <= response.status_code < 500, response.text
        assert_error_shape(server, response, "/predict_stream")
        assert seconds < 2.0
    assert {status for status, _ in good} == {200}
    assert max(seconds for _, seconds in good) < 2.0
    assert rss_mb(server["worker"]) - before < 200


def test_unknown_paths_add_a_bounded_number_of_metric_series(server):
    def lines() -> int:
        response = httpx.get(server["url"] + "/metrics", headers=AUTH, timeout=30)
        assert response.status_code == 200
        return len(response.text.splitlines())

    with httpx.Client(timeout=30) as client:
        client.get(server["url"] + "/warm-up-unknown")
        before = lines()
        for i in range(2000):
            response = client.get(f"{server['url']}/{uuid.uuid4().hex}/{i}")
            assert response.status_code == 404
        assert_error_shape(server, response)
    assert lines() - before <= 5


def test_api_keys_protect_predictions_and_metrics_but_not_probes(server):
    for path in ("/predict", "/predict_stream", "/model_info"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEYS[0]}):
            response = _post(server, path, {"windows": [STILL]}, headers=headers)
            assert response.status_code == 401
            assert_error_shape(server, response, path)
    for key in KEYS:
        assert _post(server, "/predict", {"windows": [STILL]}, headers={"Authorization": f"Bearer {key}"}
                     ).status_code == 200
        assert _post(server, "/model_info", {}, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for probe in ("/livez", "/readyz", "/healthz"):
        assert httpx.get(server["url"] + probe, timeout=10).status_code == 200
    assert httpx.get(server["url"] + "/metrics", timeout=10).status_code == 401
    assert httpx.get(server["url"] + "/metrics", headers=AUTH, timeout=10).status_code == 200
    schema = server["schema"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for path in ("/predict", "/predict_stream", "/model_info"):
        assert schema["paths"][path]["post"]["security"] == [{"apiKey": []}]
    assert "security" not in schema["paths"]["/livez"]["get"]


@pytest.mark.parametrize("value", ["0.5", True, None])
def test_strings_booleans_and_null_are_not_numbers(server, value):
    window = [row[:] for row in STILL]
    window[3][1] = value
    response = _post(server, "/predict", {"windows": [window]})
    assert response.status_code == 400 and "not strings, booleans or null" in assert_error_shape(
        server, response, "/predict")["error"]
    timestamps = (1.7e12 + np.arange(128) * 20.0).tolist()
    for body in ({"timestamps": timestamps, "samples": window},
                 {"timestamps": timestamps[:7] + [value] + timestamps[8:], "samples": STILL}):
        response = _post(server, "/predict_stream", body)
        assert response.status_code == 400
        assert_error_shape(server, response, "/predict_stream")


def test_every_error_the_service_produces_has_the_declared_shape(server):
    url = server["url"]
    multipart = httpx.post(url + "/model_info", files={"file": ("a.txt", b"hello")}, headers=AUTH, timeout=30)
    assert multipart.status_code == 200, multipart.text  # no input: the body is not read (was a 500)
    cases = [
        ("/predict", httpx.post(url + "/predict", content=b"{not json", headers=AUTH, timeout=30), 400),
        ("/predict", _post(server, "/predict", {"wrong": 1}), 400),
        ("/predict", _post(server, "/predict", {"windows": [STILL] * 17}), 413),
        ("/predict", httpx.post(url + "/predict", content=b"x" * 2_000_001, headers=AUTH, timeout=30), 413),
        ("/predict", _post(server, "/predict", {"windows": [[[0.0] * 6] * 128]}), 422),
        ("/predict", httpx.post(url + "/predict", content=b"x", timeout=30,
                                headers={**AUTH, "content-type": "application/vnd.bentoml+pickle"}), 415),
        (None, httpx.get(url + "/predict", headers=AUTH, timeout=30), 405),
        (None, httpx.get(url + "/no/such/path", timeout=30), 404),
    ]
    for path, response, status in cases:
        assert response.status_code == status, response.text
        assert_error_shape(server, response, path)
    docs = httpx.get(url + "/docs", timeout=30, follow_redirects=True)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_rejections_are_one_short_log_line_without_traceback(server):
    marker = uuid.uuid4().hex
    for _ in range(5):
        _post(server, "/predict", {"windows": [[[0.0] * 5] * 128], "units": {marker: "g"}})
    time.sleep(1)
    log = server["log"].read_text()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if marker in line]
    assert len(lines) == 5 and all(len(line) < 600 for line in lines), lines[:2]


def test_bounded_schemathesis_fuzz_finds_no_5xx_and_no_schema_violation(server):
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_dict(server["schema"])
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [schemathesis.GenerationMode.POSITIVE]
        if operation.method.upper() == "POST":  # a GET without parameters has no invalid variant
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=50, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def fuzz(case):
                case.call_and_validate(base_url=server["url"], headers=AUTH, checks=checks, timeout=30)

            fuzz()
    assert time.monotonic() - started < 120
    assert httpx.get(server["url"] + "/readyz", timeout=10).status_code == 200
    json.dumps(server["schema"])  # the served schema stays plain JSON


def test_the_natively_served_family_answers_what_it_computes_in_process(server):
    """Skew test of the "native" runtime (the family's own predict_proba, e.g. aeon's MiniRocket, no export)."""
    import numpy as np

    version = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
    model = version.get_artifact("trained_model").load()
    test = version.get_artifact("test_windows").load()
    windows = test.X[:8]
    response = httpx.post(server["url"] + "/predict", json={"windows": windows.tolist()}, headers=AUTH, timeout=60)
    assert response.status_code == 200, response.text
    served = np.array([[p["probabilities"][c] for c in test.class_names] for p in response.json()["predictions"]])
    own = model.predict_proba(version.get_artifact("normalizer").load().transform(windows))
    np.testing.assert_allclose(served, own, atol=1e-5, rtol=0)  # same code; the service rounds to 6 decimals
    info = httpx.post(server["url"] + "/model_info", json={}, headers=AUTH, timeout=10).json()
    assert (info["family"], info["runtime"]) == (model.name, "native")
