"""BentoML 1.4 service: activity predictions over HTTP for the production model.

    POST /predict          {"windows": [[[ax, ay, az, gx, gy, gz], ...128 samples], ...], "units": {...}}
                           or binary: application/octet-stream (float32 LE, header X-Shape: n,128,6) or
                           application/x-npy (np.save bytes); units in the header X-Units: accelerometer=m/s^2
    POST /predict_stream   {"timestamps": [epoch ms, ...], "samples": [[ax, ay, az, gx, gy, gz], ...], "units": {...}}
    GET  /model_info       the served model: name, version, classes, channels, units, window, limits

`units` is optional, e.g. {"accelerometer": "m/s^2", "gyroscope": "deg/s"};
without it the data is in the training units (g, rad/s). Accelerometer data
that does not read about 1 g after conversion gets 422 naming the unit it
looks like.
    GET  /healthz /livez /readyz /metrics (BentoML's own), / (Swagger UI; /docs redirects to it), /docs.json

Errors all have one shape, {"error": "...", "status": 400}, declared in /docs.json. With API keys
configured (HAR_API_KEYS, comma-separated, or the file HAR_API_KEYS_FILE), /predict, /predict_stream and
/model_info (and /metrics with HAR_METRICS_AUTH=1) need `Authorization: Bearer <key>`; probes stay open.

The model, its normaliser and its serving config come from the BentoML model
store (tag in `deployment.json`, written by the deploy pipeline next to this
file in the Bento). It runs in the runtime serving.json names (ONNX Runtime
for versions with an ONNX export, else Keras); HAR_RUNTIME / HAR_RUNTIME_THREADS
override it. Request validation, stream windowing and inference are
`har.serving`, i.e. the training code; this file is only the HTTP layer.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import os
from http import HTTPStatus
from pathlib import Path
from typing import Any, Dict, List

import bentoml
import numpy as np
import orjson
from bentoml.exceptions import BentoMLException
from pydantic import Field, ValidationError

from har.serving import (
    BINARY_TYPES,
    ERROR_SCHEMA,
    NPY_TYPE,
    OCTET_TYPE,
    SHAPE_HEADER,
    UNITS_HEADER,
    ApiKeys,
    MicroBatcher,
    Predictor,
    RequestError,
    as_error_body,
    check_windows,
    error_body,
    parse_binary_windows,
    stream_to_windows,
)
from har.serving_log import ServingLogSettings, ServingLogWriter

_HERE = Path(__file__).resolve().parent
_DEPLOYMENT = json.loads((_HERE / "deployment.json").read_text()) if (_HERE / "deployment.json").exists() else {}
MODEL_TAG = os.environ.get("HAR_MODEL_TAG") or _DEPLOYMENT.get("model_tag", "har-activity-classifier:latest")
MAX_BODY_BYTES = int(os.environ.get("HAR_MAX_BODY_BYTES") or _DEPLOYMENT.get("max_body_bytes", 32 * 1024 * 1024))
API_KEYS = ApiKeys.from_env()  # HAR_API_KEYS / HAR_API_KEYS_FILE; none: the endpoints are open
METRICS_AUTH = os.environ.get("HAR_METRICS_AUTH", "") == "1"
ACCESS_LOG = os.environ.get("HAR_ACCESS_LOG", "") == "1"  # one log line per request (off: see the service config)
# What the service received and predicted, for the drift pipeline (opt-in: raw sensor data is personal data).
# HAR_SERVING_LOG (JSON settings) overrides the deployment's, e.g. for benchmarks/bench_serving.py.
SERVING_LOG = ServingLogSettings.from_dict(json.loads(os.environ["HAR_SERVING_LOG"]) if os.environ.get(
    "HAR_SERVING_LOG") else _DEPLOYMENT.get("serving_log"))
_REQUESTS = itertools.count(1)

MAX_BATCH = 512  # windows per model call; larger requests are split
OFFLOAD_BYTES = 256 * 1024  # larger bodies are parsed (and big requests windowed) in a thread, off the event loop
UNKNOWN_PATH = "/{unknown}"  # the one metrics label (and route) of every path the service does not have
PROBES = ("/livez", "/readyz", "/healthz")
API_ERRORS = {400: "invalid request (shape, values, JSON, units)", 401: "missing or invalid API key (only when "
              "API keys are configured)", 413: "too many windows or samples, or a body over the size limit",
              415: "unsupported content type (BentoML's pickle format)",
              422: "accelerometer data not in the declared unit",
              429: "too many concurrent requests", 500: "internal error", 503: "service unavailable",
              504: "timeout"}

predictions_counter = bentoml.metrics.Counter(
    name="har_predictions", documentation="Windows classified, by predicted activity.", labelnames=["activity"]
)
serving_log_counter = bentoml.metrics.Counter(
    name="har_serving_log_windows", labelnames=["outcome"],
    documentation="Classified windows by serving-log outcome: logged (queued for the log), sampled_out, dropped "
                  "(the log's queue was full); all 0 when the log is off.")
SERVING_LOG_OUTCOMES = ("logged", "sampled_out", "dropped")
# BentoML logs every rejected request as an ERROR with a full traceback (~1.2 KB); a client error is one line.
rejections = logging.getLogger("bentoml._internal.server.http_app")


class ClientError(BentoMLException):
    """Raised for bad requests; BentoML answers with its status code and this message."""


def _fail(error: RequestError) -> ClientError:
    return ClientError(str(error), error_code=HTTPStatus(error.status))


class _OneLineClientErrors(logging.Filter):
    """BentoML's 'Exception on /path [POST]' + traceback for a client error -> one short WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = error.error_code.value if isinstance(error, BentoMLException) else 400
        if isinstance(error, ValidationError) or (isinstance(error, BentoMLException) and status < 500):
            record.msg, record.args = "rejected %s %s: %s %s", (*reversed(record.args or ("?", "?")), status,
                                                                   str(error).splitlines()[0][:200])
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


rejections.addFilter(_OneLineClientErrors())


async def _answer_error(send: Any, status: int, message: str, headers: tuple = ()) -> None:
    body = error_body(message, status)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class RequestGate:
    """ASGI middleware inside BentoML's metrics (its answers are counted): unknown paths 404, API keys 401,
    bodies over the size limit 413 before they are read (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int, keys: ApiKeys, protected: tuple):
        self.app, self.max_bytes, self.keys, self.protected = app, max_bytes, keys, protected

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == UNKNOWN_PATH:
            requested = str(scope.get("har.requested_path", "?"))[:100]
            rejections.warning("rejected %s %s: 404", scope["method"], requested)
            return await _answer_error(send, 404, f"no endpoint {requested}; the endpoints: POST /predict, "
                                       "/predict_stream, /model_info; GET /livez, /readyz, /healthz, /metrics, /, "
                                       "/docs.json")
        headers = dict(scope.get("headers") or [])
        if path in self.protected and not self.keys.allows(headers.get(b"authorization")):
            rejections.warning("rejected %s %s: 401", scope["method"], path)
            return await _answer_error(send, 401, "missing or invalid API key; send 'Authorization: Bearer <key>'",
                                       ((b"www-authenticate", b"Bearer"),))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            rejections.warning("rejected %s %s: 413 (%s bytes declared)", scope["method"], path, declared.decode())
            return await _answer_error(send, 413, f"request body over {self.max_bytes} bytes; split the request")
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise ClientError(f"request body over {self.max_bytes} bytes; split the request",
                                  error_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return message

        return await self.app(scope, limited_receive, send)


class EdgeGuard:
    """ASGI wrapper around the whole BentoML app, outside its metrics middleware.

    - An unknown path becomes `UNKNOWN_PATH` before BentoML's metrics label requests by their raw path
      (every random 404 used to add ~20 series to /metrics, for good); `RequestGate` answers it 404.
    - Every error response (BentoML's `[{"error": ...}]`, Starlette's plain text, ...) is rewritten into the
      one shape `{"error": ..., "status": ...}` that the OpenAPI schema declares.
    - `GET /docs` redirects to the Swagger UI at `/`.
    """

    def __init__(self, app: Any):
        self.app = app
        self._exact: set | None = None
        self._prefixes: tuple = ()

    def _learn_routes(self) -> None:
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles

        exact, prefixes = {"/docs"}, []
        for route in self.app.routes:
            if isinstance(route, Route) and not route.param_convertors:
                exact.add(route.path)
            elif isinstance(route, Mount) and isinstance(route.app, StaticFiles) and route.app.directory:
                folder = Path(route.app.directory)
                exact.update(f"{route.path}/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*")
                             if p.is_file())
            else:  # parametrised or mounted apps: known by prefix
                prefixes.append(getattr(route, "path", "/").split("{")[0] or "/")
        self._exact, self._prefixes = exact, tuple(prefixes)

    def known(self, path: str) -> bool:
        if self._exact is None:
            self._learn_routes()
        return path in self._exact or path.startswith(self._prefixes)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/docs":
            return await send_redirect(send, "/")
        if not self.known(scope["path"]):
            scope = {**scope, "path": UNKNOWN_PATH, "raw_path": UNKNOWN_PATH.encode(),
                     "har.requested_path": scope["path"]}
        if scope["method"] == "HEAD":
            return await self.app(scope, receive, send)
        start: dict | None = None
        parts: List[bytes] = []

        async def send_errors_in_shape(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                return await send(message)
            parts.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = as_error_body(start["status"], b"".join(parts))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length",
                                                                                       b"content-type")]
            await send({**start, "headers": [*headers, (b"content-type", b"application/json"),
                                             (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        return await self.app(scope, receive, send_errors_in_shape)


async def send_redirect(send: Any, location: str) -> None:
    await send({"type": "http.response.start", "status": 307,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ClientError(f"request body is not valid JSON: {error}", error_code=HTTPStatus.BAD_REQUEST) from None


async def _off_loop(func: Any, *args: Any, big: bool) -> Any:
    """Large work in a thread so the event loop keeps answering other requests; small work inline (no hop)."""
    return await asyncio.to_thread(func, *args) if big else func(*args)


class _FastJSONInput(bentoml.IODescriptor):
    """Request body parsed with orjson into plain lists, without per-element pydantic validation.

    BentoML's generic path validates every number of a 64-window body through
    pydantic (~9 ms, 70 % of the CPU time per request under load); orjson
    parses the same body in ~3 ms and `har.serving` checks shape, type and
    finiteness on the numpy array. The fields still document the API (/docs.json).
    """

    @classmethod
    async def from_http_request(cls, request: Any, serde: Any) -> Any:
        body = await request.body()
        content = await _off_loop(_parse, body, big=len(body) > OFFLOAD_BYTES)
        required = [name for name, field in cls.model_fields.items() if field.is_required()]
        missing = [name for name in required if not isinstance(content, dict) or name not in content]
        if missing:
            raise ClientError(f"expected a JSON object with field(s) {', '.join(required)}; missing: "
                              f"{', '.join(missing)}", error_code=HTTPStatus.BAD_REQUEST)
        return cls.model_construct(**{name: content[name] for name in cls.model_fields if name in content})


class NoInput(bentoml.IODescriptor):
    """No input: the body is not read, whatever its content type (multipart used to answer 500)."""

    @classmethod
    async def from_http_request(cls, request: Any, serde: Any) -> Any:
        return cls.model_construct()


def _json(content: Dict[str, Any]) -> Any:
    """The answer encoded once with orjson. BentoML's own output path (pydantic dump, stdlib json, and a JSON
    schema rebuilt per response to find the media type) was ~25 % of the event loop's time under load. The
    endpoints' return annotations still declare the answers in /docs.json."""
    from starlette.responses import Response

    return Response(orjson.dumps(content), media_type="application/json")


def _many(value: Any, rows: int) -> bool:
    """Worth a thread: JSON lists over `rows` rows; binary arrays (cheap to check) over 16x as many."""
    if isinstance(value, np.ndarray):
        return len(value) > 16 * rows
    return isinstance(value, list) and len(value) > rows


def _parse_binary(body: bytes, content_type: str, headers: Dict[str, str]) -> Any:
    try:
        return parse_binary_windows(body, content_type, headers)
    except RequestError as error:
        raise _fail(error) from None


UNITS_DESCRIPTION = (
    "Optional: the unit of each sensor stream in this request, by stream name as in meta.json, e.g. "
    '{"accelerometer": "m/s^2", "gyroscope": "deg/s"}. Streams left out are in the training units '
    "(accelerometer g, gyroscope rad/s). /model_info lists each stream's channels, canonical unit and "
    "accepted units with their conversion factors. Unknown stream or unit: 400. Accelerometer data whose "
    "median magnitude is not about 1 g after conversion (e.g. m/s^2 sent as g): 422 naming the unit it looks like.")


class PredictRequest(_FastJSONInput):
    windows: List[List[List[float]]] = Field(
        description="Windows of shape (n, window_size, channels), channels in the order of /model_info, raw "
                    "(unnormalised) values in the training units (accelerometer g, gyroscope rad/s) unless "
                    "'units' declares others (m/s^2, deg/s); at most max_windows_per_request windows.")
    units: Dict[str, str] | None = Field(None, description=UNITS_DESCRIPTION)

    @classmethod
    async def from_http_request(cls, request: Any, serde: Any) -> Any:
        """JSON (the default), or the same windows as binary float32 (BINARY_DESCRIPTION)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in BINARY_TYPES:
            return await super().from_http_request(request, serde)
        body = await request.body()  # RequestGate has already capped its size (413)
        headers = {name: request.headers.get(name) for name in (SHAPE_HEADER, UNITS_HEADER)
                   if request.headers.get(name) is not None}
        windows, units = await _off_loop(_parse_binary, body, content_type, headers, big=len(body) > 16 * OFFLOAD_BYTES)
        return cls.model_construct(windows=windows, units=units)


BINARY_DESCRIPTION = (
    "The same windows as the JSON body's 'windows', as binary float32 (about 5x smaller than JSON and parsed "
    "without a JSON decoder). application/octet-stream: little-endian float32 in C order (window, sample, "
    "channel), with the header 'X-Shape: <windows>,<samples>,<channels>' (e.g. 64,128,6). application/x-npy: "
    "the bytes of numpy.save of a (windows, samples, channels) array (float32; pickled/object arrays are refused). "
    "Units go in the optional header 'X-Units: accelerometer=m/s^2,gyroscope=deg/s'. Same checks, limits and "
    "errors as JSON.")
BINARY_HEADERS = [
    {"name": "X-Shape", "in": "header", "required": False, "schema": {"type": "string", "example": "64,128,6"},
     "description": "Only with Content-Type application/octet-stream: the array's shape, <windows>,<samples>,"
                    "<channels>."},
    {"name": "X-Units", "in": "header", "required": False,
     "schema": {"type": "string", "example": "accelerometer=m/s^2,gyroscope=deg/s"},
     "description": "Only with a binary body: the units of each stream (a JSON body uses its 'units' field)."},
]


class StreamRequest(_FastJSONInput):
    timestamps: List[float] = Field(description="Epoch milliseconds, strictly increasing, one per sample.")
    samples: List[List[float]] = Field(
        description="One row of channel values (order of /model_info) per timestamp, in the training units "
                    "(accelerometer g, gyroscope rad/s) unless 'units' declares others (m/s^2, deg/s).")
    units: Dict[str, str] | None = Field(None, description=UNITS_DESCRIPTION)
    stream_id: str | None = Field(
        None, max_length=200, description="Optional: an id of the device or session, so that consecutive requests "
        "of one stream are monitored as one (the serving log, when the deployment turns it on, keeps it with the "
        "windows). Not an identity: do not send names or other personal data.")


@bentoml.service(
    name="har_activity_service",
    workers=1,  # one process owns the model; concurrency comes from micro-batching, not copies of it
    traffic={"timeout": 60, "max_concurrency": 256},
    # No OpenTelemetry span per prediction (no exporter is configured, yet building and ending the spans was
    # ~10 % of the event loop's time with 8 one-window clients); /model_info and the probes keep theirs.
    tracing={"excluded_urls": ["/predict"]},  # a pattern: /predict and /predict_stream
    # One INFO line per request was ~10 % of a core at 20,000 windows/s (and fills the rotated log in seconds);
    # /metrics counts requests, rejections keep their WARNING line. HAR_ACCESS_LOG=1 brings the lines back.
    logging={"access": {"enabled": ACCESS_LOG}},
)
class HARClassifier:
    bento_model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        threads = os.environ.get("HAR_RUNTIME_THREADS") or os.environ.get("HAR_TF_THREADS")
        self.predictor = Predictor(self.bento_model.path, threads=int(threads) if threads else None,
                                   max_batch=MAX_BATCH, runtime=os.environ.get("HAR_RUNTIME") or None)
        self.config = self.predictor.config
        # Merged batches no larger than the runtime's best call size (ONNX: 128 windows, Keras: MAX_BATCH).
        self.batcher = MicroBatcher(self.predictor.predict_proba, max_batch=self.predictor.buckets[-1],
                                    inline_windows=self.predictor.runtime.inline_windows)
        # Garbage collection was most of the CPU under load: TensorFlow and Keras leave ~450k
        # long-lived objects on the heap, and a 64-window JSON body allocates ~57k lists and floats,
        # which set off collections that walked all of them (orjson.loads took 9-15 ms instead of
        # 2 ms). Freeze the start-up heap, and collect the young generation less often: request
        # data is acyclic and freed by reference counting anyway.
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        for outcome in SERVING_LOG_OUTCOMES:  # every series served from the start (at 0 with the log off)
            serving_log_counter.labels(outcome=outcome)
        self.serving_log = ServingLogWriter(
            SERVING_LOG, self.config.model_name, self.config.model_version, self.config.class_names,
            self.config.channel_names, report=lambda outcome, n: serving_log_counter.labels(outcome=outcome).inc(n),
        ) if SERVING_LOG.enabled else None

    @bentoml.on_shutdown
    def close_serving_log(self) -> None:
        if self.serving_log is not None:
            self.serving_log.close()

    def _log(self, endpoint: str, windows: np.ndarray, probabilities: np.ndarray, stream_id: str | None = None,
             starts: Any = None) -> None:
        """Queue the request for the serving log (no I/O and no metrics here: the writer's thread does both)."""
        if self.serving_log is not None:
            self.serving_log.record(endpoint, windows, probabilities, stream_id,
                                    None if starts is None else np.asarray(starts, dtype=np.float64))

    async def _answer(self, windows: np.ndarray, start_times_ms: Any = None, endpoint: str = "/predict",
                      stream_id: str | None = None) -> List[Dict[str, Any]]:
        probabilities = await self.batcher.submit(windows)
        answers = self.predictor.describe(probabilities, start_times_ms)
        for answer in answers:
            predictions_counter.labels(activity=answer["label"]).inc()
        self._log(endpoint, windows, probabilities, stream_id, start_times_ms)
        return answers

    @bentoml.api(route="/predict", input_spec=PredictRequest)
    async def predict(self, windows: Any, units: Any = None) -> Dict[str, Any]:
        """Classify a batch of windows: one label, the class probabilities and the model version per window."""
        try:
            array = await _off_loop(check_windows, windows, self.config, units,
                                    big=_many(windows, 16))
        except RequestError as error:
            if error.status == 422 and isinstance(windows, np.ndarray):  # a binary body declares units in a header
                error = RequestError(f"{error} (binary body: in the header X-Units, e.g. "
                                     "X-Units: accelerometer=m/s^2)", error.status)
            raise _fail(error) from None
        return _json({"predictions": await self._answer(array), "model_version": self.config.model_version})

    @bentoml.api(route="/predict_stream", input_spec=StreamRequest)
    async def predict_stream(self, timestamps: Any, samples: Any, units: Any = None,
                             stream_id: Any = None) -> Dict[str, Any]:
        """Raw samples of any length, windowed server-side exactly as in training; a label per window."""
        try:
            windows, starts = await _off_loop(stream_to_windows, timestamps, samples, self.config, units,
                                              big=_many(samples, 4096))
        except RequestError as error:
            raise _fail(error) from None
        # Without an id, each request is its own stream (consecutive windows of one request).
        stream = str(stream_id)[:200] if stream_id not in (None, "") else f"request-{os.getpid()}-{next(_REQUESTS)}"
        answers = await self._answer(windows, starts, "/predict_stream", stream)
        return _json({"predictions": answers, "model_version": self.config.model_version,
                      "window_size": self.config.window_size, "step": self.config.step,
                      "sample_rate_hz": self.config.sample_rate_hz})

    @bentoml.api(route="/model_info", input_spec=NoInput)
    def model_info(self) -> Dict[str, Any]:
        """The served model and the input it expects, with each stream's channels and units."""
        return {**self.config.to_dict(), "model_tag": str(self.bento_model.tag), "max_body_bytes": MAX_BODY_BYTES,
                "runtime": self.predictor.runtime.name, "runtime_threads": self.predictor.threads,
                "content_types": ["application/json", OCTET_TYPE, NPY_TYPE],
                "serving_log": {"enabled": self.serving_log is not None,
                                "sample_rate": SERVING_LOG.sample_rate if self.serving_log else 0.0,
                                "include_windows": bool(self.serving_log and SERVING_LOG.include_windows)}}


def openapi_with_errors(spec: Dict[str, Any], api_routes: tuple, keys: bool, metrics_auth: bool) -> Dict[str, Any]:
    """BentoML's schema with the errors the service really answers: one `Error` shape, every status, and the
    bearer-key security of the protected endpoints when API keys are configured."""
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    if keys:
        components["securitySchemes"] = {"apiKey": {
            "type": "http", "scheme": "bearer",
            "description": "One of the keys in HAR_API_KEYS / HAR_API_KEYS_FILE: 'Authorization: Bearer <key>'."}}

    def error(description: str) -> Dict[str, Any]:
        return {"description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

    for path, item in spec.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            kept = {str(code): answer for code, answer in operation["responses"].items() if int(code) < 400}
            protected = path in api_routes or (path == "/metrics" and metrics_auth)
            codes = dict(API_ERRORS) if path in api_routes else {500: API_ERRORS[500], 503: API_ERRORS[503]}
            if not protected or not keys:
                codes.pop(401, None)
            elif path == "/metrics":
                codes[401] = API_ERRORS[401]
            operation["responses"] = {**kept, **{str(code): error(text) for code, text in sorted(codes.items())}}
            if path == "/predict" and "requestBody" in operation:  # JSON first: the documented default
                binary = {"schema": {"type": "string", "format": "binary", "description": BINARY_DESCRIPTION}}
                operation["requestBody"].setdefault("content", {}).update({OCTET_TYPE: binary, NPY_TYPE: binary})
                operation["parameters"] = [*operation.get("parameters", []), *BINARY_HEADERS]
            if protected and keys:
                operation["security"] = [{"apiKey": []}]
    return spec


class _Spec:
    """BentoML's OpenAPI specification object, whose `asdict()` (what /docs.json serves) adds the errors."""

    def __init__(self, spec: Any, service: Any):
        self._spec, self._service = spec, service

    def __getattr__(self, name: str) -> Any:
        return getattr(self._spec, name)

    def asdict(self) -> Dict[str, Any]:
        routes = tuple(api.route for api in self._service.apis.values())
        return openapi_with_errors(self._spec.asdict(), routes, API_KEYS.enabled, METRICS_AUTH)


class _GuardedService(type(HARClassifier)):
    """HARClassifier's own type: its ASGI app is wrapped in `EdgeGuard`, its schema declares the errors."""

    __slots__ = ()

    def to_asgi(self, is_main: bool = True) -> Any:
        return EdgeGuard(super().to_asgi(is_main=is_main))

    @property
    def openapi_spec(self) -> Any:
        return _Spec(super().openapi_spec, self)


HARClassifier.__class__ = _GuardedService  # BentoML builds the app from this object: wrap it from outside
_PROTECTED = tuple(api.route for api in HARClassifier.apis.values()) + (("/metrics",) if METRICS_AUTH else ())
HARClassifier.add_asgi_middleware(RequestGate, max_bytes=MAX_BODY_BYTES, keys=API_KEYS, protected=_PROTECTED)
