"""BentoML 1.4 service: activity predictions over HTTP for the production model.

    POST /predict          {"windows": [[[ax, ay, az, gx, gy, gz], ...128 samples], ...], "units": {...}}
    POST /predict_stream   {"timestamps": [epoch ms, ...], "samples": [[ax, ay, az, gx, gy, gz], ...], "units": {...}}
    GET  /model_info       the served model: name, version, classes, channels, units, window, limits

`units` is optional, e.g. {"accelerometer": "m/s^2", "gyroscope": "deg/s"};
without it the data is in the training units (g, rad/s). Accelerometer data
that does not read about 1 g after conversion gets 422 naming the unit it
looks like.
    GET  /healthz /livez /readyz /metrics /docs   (BentoML's own)

The model, its normaliser and its serving config come from the BentoML model
store (tag in `deployment.json`, written by the deploy pipeline next to this
file in the Bento). Request validation, stream windowing and inference are
`har.serving`, i.e. the training code; this file is only the HTTP layer.
"""

from __future__ import annotations

import gc
import json
import os
from http import HTTPStatus
from pathlib import Path
from typing import Any, Dict, List

import bentoml
import numpy as np
import orjson
from bentoml.exceptions import BentoMLException
from pydantic import Field

from har.serving import MicroBatcher, Predictor, RequestError, check_windows, stream_to_windows

_HERE = Path(__file__).resolve().parent
_DEPLOYMENT = json.loads((_HERE / "deployment.json").read_text()) if (_HERE / "deployment.json").exists() else {}
MODEL_TAG = os.environ.get("HAR_MODEL_TAG") or _DEPLOYMENT.get("model_tag", "har-activity-classifier:latest")
MAX_BODY_BYTES = int(os.environ.get("HAR_MAX_BODY_BYTES") or _DEPLOYMENT.get("max_body_bytes", 32 * 1024 * 1024))

MAX_BATCH = 512  # windows per model call; larger requests are split

predictions_counter = bentoml.metrics.Counter(
    name="har_predictions", documentation="Windows classified, by predicted activity.", labelnames=["activity"]
)


class ClientError(BentoMLException):
    """Raised for bad requests; BentoML answers with its status code and this message."""


def _fail(error: RequestError) -> ClientError:
    return ClientError(str(error), error_code=HTTPStatus(error.status))


class BodySizeLimit:
    """ASGI middleware: 413 before reading a body larger than the limit (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._reject(send)
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise ClientError(f"request body over {self.max_bytes} bytes",
                                  error_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return message

        return await self.app(scope, limited_receive, send)

    async def _reject(self, send: Any) -> None:
        body = json.dumps({"error": f"request body over {self.max_bytes} bytes; split the request"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _FastJSONInput(bentoml.IODescriptor):
    """Request body parsed with orjson into plain lists, without per-element pydantic validation.

    BentoML's generic path validates every number of a 64-window body through
    pydantic (~9 ms, 70 % of the CPU time per request under load); orjson
    parses the same body in ~3 ms and `har.serving` checks shape, type and
    finiteness on the numpy array. The fields still document the API (/docs).
    """

    @classmethod
    async def from_http_request(cls, request: Any, serde: Any) -> Any:
        body = await request.body()
        try:
            content = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise ClientError(f"request body is not valid JSON: {error}", error_code=HTTPStatus.BAD_REQUEST) from None
        required = [name for name, field in cls.model_fields.items() if field.is_required()]
        missing = [name for name in required if not isinstance(content, dict) or name not in content]
        if missing:
            raise ClientError(f"expected a JSON object with field(s) {', '.join(required)}; missing: "
                              f"{', '.join(missing)}", error_code=HTTPStatus.BAD_REQUEST)
        return cls.model_construct(**{name: content[name] for name in cls.model_fields if name in content})


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


class StreamRequest(_FastJSONInput):
    timestamps: List[float] = Field(description="Epoch milliseconds, strictly increasing, one per sample.")
    samples: List[List[float]] = Field(
        description="One row of channel values (order of /model_info) per timestamp, in the training units "
                    "(accelerometer g, gyroscope rad/s) unless 'units' declares others (m/s^2, deg/s).")
    units: Dict[str, str] | None = Field(None, description=UNITS_DESCRIPTION)


@bentoml.service(
    name="har_activity_service",
    workers=1,  # one process owns the model; concurrency comes from micro-batching, not copies of it
    traffic={"timeout": 60, "max_concurrency": 256},
)
class HARClassifier:
    bento_model = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        self.predictor = Predictor(self.bento_model.path, threads=int(os.environ.get("HAR_TF_THREADS", "1")),
                                   max_batch=MAX_BATCH)
        self.config = self.predictor.config
        self.batcher = MicroBatcher(self.predictor.predict_proba, max_batch=MAX_BATCH)
        # Garbage collection was most of the CPU under load: TensorFlow and Keras leave ~450k
        # long-lived objects on the heap, and a 64-window JSON body allocates ~57k lists and floats,
        # which set off collections that walked all of them (orjson.loads took 9-15 ms instead of
        # 2 ms). Freeze the start-up heap, and collect the young generation less often: request
        # data is acyclic and freed by reference counting anyway.
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)

    async def _answer(self, windows: np.ndarray, start_times_ms: Any = None) -> List[Dict[str, Any]]:
        probabilities = await self.batcher.submit(windows)
        answers = self.predictor.describe(probabilities, start_times_ms)
        for answer in answers:
            predictions_counter.labels(activity=answer["label"]).inc()
        return answers

    @bentoml.api(route="/predict", input_spec=PredictRequest)
    async def predict(self, windows: Any, units: Any = None) -> Dict[str, Any]:
        """Classify a batch of windows: one label, the class probabilities and the model version per window."""
        try:
            array = check_windows(windows, self.config, units)
        except RequestError as error:
            raise _fail(error) from None
        return {"predictions": await self._answer(array), "model_version": self.config.model_version}

    @bentoml.api(route="/predict_stream", input_spec=StreamRequest)
    async def predict_stream(self, timestamps: Any, samples: Any, units: Any = None) -> Dict[str, Any]:
        """Raw samples of any length, windowed server-side exactly as in training; a label per window."""
        try:
            windows, starts = stream_to_windows(timestamps, samples, self.config, units)
        except RequestError as error:
            raise _fail(error) from None
        return {"predictions": await self._answer(windows, starts), "model_version": self.config.model_version,
                "window_size": self.config.window_size, "step": self.config.step,
                "sample_rate_hz": self.config.sample_rate_hz}

    @bentoml.api(route="/model_info")
    def model_info(self) -> Dict[str, Any]:
        """The served model and the input it expects, with each stream's channels and units."""
        return {**self.config.to_dict(), "model_tag": str(self.bento_model.tag),
                "max_body_bytes": MAX_BODY_BYTES}


HARClassifier.add_asgi_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
