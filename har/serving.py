"""Serving-side logic: request validation (JSON and binary bodies), stream windowing, runtimes and micro-batching.

Shared by the BentoML service (`service.py`), the consistency tests and the
benchmarks. Windowing and normalisation are the training code itself
(`har.windowing`, `har.resampling`, `ChannelNormalizer`), so serving cannot
drift from training. The model runs in a `Runtime`: `OnnxRuntime` (the
training pipeline's ONNX export, normaliser inside) or `KerasRuntime` (the
`.keras` model and `normalizer.json`), as `serving.json` says.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import io
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Protocol, Sequence, Tuple

import numpy as np

from har.resampling import resample_streams
from har.types import ChannelNormalizer
from har.units import check_acceleration_unit
from har.windowing import segment_bounds, sliding_windows, window_starts

if TYPE_CHECKING:  # har.config (pydantic, yaml) is only needed where a config is packaged
    from har.config import Schema

MODEL_FILE = "model.keras"
NORMALIZER_FILE = "normalizer.json"
SERVING_CONFIG_FILE = "serving.json"
ONNX_FILE = "model.onnx"  # the training pipeline's onnx_float32 export (normaliser inside)

FAMILY_DIR = "family"  # the model in its family's own files (har.families: family.json + .keras/.npy)
# "onnx": the version's onnx_float32 export in ONNX Runtime. "native": the family's own code (Keras families
# behind a tf.function, others their predict_proba). "keras": what serving.json files written before model
# families said for "native".
KERAS, ONNX, NATIVE = "keras", "onnx", "native"
RUNTIMES = (ONNX, NATIVE, KERAS)
logger = logging.getLogger(__name__)


MAX_TIMESTAMP_MS = 1e13  # epoch milliseconds of the year 2286: anything later is another unit (us, ns) or garbage


class RequestError(ValueError):
    """A client error: the message says what was expected. `status` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# --- the one error shape of every error the service answers --------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "description": "Every error the service answers (4xx and 5xx) has this shape.",
    "required": ["error", "status"],
    "properties": {"error": {"type": "string", "description": "What was wrong and what was expected."},
                   "status": {"type": "integer", "description": "The HTTP status code, repeated."}},
    "additionalProperties": False,
}


def error_body(message: str, status: int) -> bytes:
    """`{"error": message, "status": status}` as JSON bytes."""
    return json.dumps({"error": message, "status": status}).encode()


def as_error_body(status: int, body: bytes) -> bytes:
    """Any error response body (BentoML's `[{"error": ...}]` or `{"error": ..., "detail": ...}`, Starlette's
    plain text) rewritten into the one error shape."""
    try:
        content: Any = json.loads(body) if body else None
    except ValueError:
        content = None
    items = content if isinstance(content, list) else [content]
    messages = [str(item["error"]) for item in items if isinstance(item, dict) and "error" in item]
    if messages:
        details = [item.get("detail") for item in items if isinstance(item, dict) and item.get("detail")]
        message = "; ".join(messages) + (f": {json.dumps(details)[:500]}" if details else "")
    else:
        message = body.decode("utf-8", "replace").strip()[:500] or _REASONS.get(status, "error")
    return error_body(message, status)


_REASONS = {400: "bad request", 401: "missing or invalid API key", 404: "not found", 405: "method not allowed",
            413: "request body too large", 415: "unsupported media type", 500: "internal server error",
            503: "service unavailable", 504: "timeout"}


# --- optional API keys ----------------------------------------------------------------------------------------

class ApiKeys:
    """The valid API keys (several at once, for rotation), compared in constant time.

    From `HAR_API_KEYS` (comma-separated) and/or the file `HAR_API_KEYS_FILE`
    (keys separated by commas or new lines). None configured: no key is needed.
    Only SHA-256 digests are kept and compared, so every comparison has the
    same length and takes the same time whichever key (or prefix) is tried.
    """

    def __init__(self, keys: Sequence[str]):
        self._digests = [hashlib.sha256(key.encode()).digest() for key in keys]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiKeys:
        environ = os.environ if environ is None else environ
        text = environ.get("HAR_API_KEYS", "")
        if environ.get("HAR_API_KEYS_FILE"):
            text += "," + Path(environ["HAR_API_KEYS_FILE"]).read_text()
        return cls([key.strip() for key in text.replace("\n", ",").split(",") if key.strip()])

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def allows(self, authorization: str | bytes | None) -> bool:
        """True for `Bearer <a valid key>` (or when no keys are configured)."""
        if not self._digests:
            return True
        if isinstance(authorization, bytes):
            authorization = authorization.decode("latin-1")
        scheme, _, key = (authorization or "").strip().partition(" ")
        digest = hashlib.sha256(key.strip().encode("utf-8", "replace")).digest()
        matches = [hmac.compare_digest(digest, valid) for valid in self._digests]  # no early exit
        return scheme.lower() == "bearer" and any(matches)


GRAVITY_UNIT = "g"  # a stream in this canonical unit measures acceleration with gravity: check_acceleration_unit
# Models packaged before serving.json stated units were trained on the default schema's canonical units;
# these are its conversions (standard gravity 9.80665 m/s^2, pi/180 rad per degree).
LEGACY_UNITS = {
    "acc": ("accelerometer", "g", {"g": 1.0, "m/s^2": 1.0 / 9.80665}),
    "gyro": ("gyroscope", "rad/s", {"rad/s": 1.0, "deg/s": math.pi / 180.0}),
}


@dataclass(frozen=True)
class StreamUnits:
    """One sensor stream of the model input: its channels, canonical unit, and the units a request may declare."""

    channels: List[str]
    unit: str  # canonical: what the model was trained on
    accepted_units: Dict[str, float]  # unit -> factor converting it to `unit` (`unit` itself: 1.0)

    def __post_init__(self) -> None:
        if self.accepted_units.get(self.unit) != 1.0:
            raise ValueError(f"accepted_units {self.accepted_units} must map the canonical unit '{self.unit}' to 1.0")


def units_from_schema(streams: Sequence[str], schema: Schema) -> Dict[str, StreamUnits]:
    """The units of a model trained on `streams` (DataConfig order) of `schema` (configs/schema.yaml)."""
    units = {}
    for name in streams:
        spec = schema.streams[name]
        units[name] = StreamUnits(channels=spec.channels(), unit=spec.unit,
                                  accepted_units={unit: spec.factor(unit) for unit in spec.known_units()})
    return units


def legacy_units(channel_names: Sequence[str]) -> Dict[str, StreamUnits]:
    """Units of a serving.json written before it stated them: g and rad/s, by channel prefix (acc_, gyro_)."""
    units = {}
    for prefix, (name, unit, factors) in LEGACY_UNITS.items():
        channels = [c for c in channel_names if c.split("_", 1)[0] == prefix]
        if channels:
            units[name] = StreamUnits(channels=channels, unit=unit, accepted_units=dict(factors))
    return units


@dataclass(frozen=True)
class ServingConfig:
    """The serving contract of a model version: everything besides its weights that serving needs.

    Produced once by the training pipeline (`build_serving_config`, artifact
    `serving_config`, linked to the model version) and read by everyone else:
    packaging (written next to the weights as serving.json), the service
    (`/model_info` is this), batch inference and drift (`data_config()`:
    how new recordings are resampled and windowed; `normalizer()`).

    `units` maps each stream (the names of configs/schema.yaml and meta.json)
    to its channels, canonical unit and accepted units; requests may declare
    any accepted unit and are converted to the canonical one.
    """

    model_name: str
    model_version: str
    class_names: List[str]
    channel_names: List[str]
    window_size: int
    step: int
    sample_rate_hz: float
    merge_tolerance_ms: float
    max_windows_per_request: int = 1024
    max_stream_samples: int = 360_000  # 2 h at 50 Hz
    units: Dict[str, StreamUnits] = field(default_factory=dict)
    linear_acceleration: bool = False  # gravity-free accelerometer: no 1 g plausibility check
    # What runs the model (`load_runtime`); serving.json files written before runtimes existed mean Keras.
    runtime: str = KERAS
    family: str = "cnn_bilstm"  # har.families name; files written before families held the CNN-BiLSTM
    runtime_threads: int = 1
    max_body_bytes: int = 32 * 1024 * 1024  # request bodies above it are refused before parsing
    # The rest of the training data settings (with the fields above: `data_config()`), and the normaliser.
    overlap: float = 0.5
    label_policy: str = "majority"
    min_label_purity: float = 0.6
    normalizer_mean: List[float] = field(default_factory=list)
    normalizer_std: List[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}")
        seen: List[str] = []
        for name, stream in self.units.items():
            unknown = [c for c in stream.channels if c not in self.channel_names or c in seen]
            if unknown:
                raise ValueError(f"units.{name}: channel(s) {unknown} are not model channels "
                                 f"({', '.join(self.channel_names)}) or belong to another stream")
            seen.extend(stream.channels)
        for what, values in (("normalizer_mean", self.normalizer_mean), ("normalizer_std", self.normalizer_std)):
            if values and len(values) != len(self.channel_names):
                raise ValueError(f"{what} has {len(values)} values for {len(self.channel_names)} channels")
        for what in ("max_windows_per_request", "max_stream_samples", "max_body_bytes", "runtime_threads"):
            if getattr(self, what) < 1:
                raise ValueError(f"{what} must be at least 1, got {getattr(self, what)}")

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> ServingConfig:
        content = dict(content)
        units = content.pop("units", None)
        units = (legacy_units(content["channel_names"]) if units is None
                 else {name: StreamUnits(**spec) for name, spec in units.items()})
        return cls(**content, units=units)

    def normalizer(self) -> ChannelNormalizer:
        """The training normaliser (raises for a serving.json written before the contract carried it)."""
        if not self.normalizer_mean:
            raise ValueError(f"the serving config of {self.model_name} version {self.model_version} has no "
                             "normaliser (written before it carried one); retrain the model")
        return ChannelNormalizer(list(self.channel_names), list(self.normalizer_mean), list(self.normalizer_std))

    def data_config(self) -> Any:
        """The `har.config.DataConfig` the model was trained with: how new recordings are windowed."""
        from har.config import DataConfig

        return DataConfig(sampling_rate_hz=self.sample_rate_hz, streams=list(self.units), activities=self.class_names,
                          window_size=self.window_size, overlap=self.overlap, label_policy=self.label_policy,
                          min_label_purity=self.min_label_purity, merge_tolerance_ms=self.merge_tolerance_ms,
                          linear_acceleration=self.linear_acceleration)

    @classmethod
    def for_model(cls, model_name: str, model_version: str, data: Any, schema: Schema, channel_names: Sequence[str],
                  normalizer: ChannelNormalizer, **serving: Any) -> ServingConfig:
        """The contract of a model trained on `data` (a DataConfig) of `schema` with `normalizer`.

        `serving` holds the limits and the runtime. The channels of the training
        windows must be the streams' channels in order, and the round trip
        through `data_config()` must give `data` back: checked here, once.
        """
        units = units_from_schema(data.streams, schema)
        unit_channels = [channel for stream in units.values() for channel in stream.channels]
        if unit_channels != list(channel_names) or list(normalizer.channel_names) != list(channel_names):
            raise ValueError(f"model version {model_version} was trained on channels {list(channel_names)} "
                             f"(normaliser: {normalizer.channel_names}), but streams {data.streams} of the "
                             f"dataset's schema give {unit_channels}")
        config = cls(model_name=model_name, model_version=str(model_version), class_names=list(data.activities),
                     channel_names=list(channel_names), window_size=data.window_size, step=data.step,
                     sample_rate_hz=data.sampling_rate_hz, merge_tolerance_ms=data.merge_tolerance_ms, units=units,
                     linear_acceleration=data.linear_acceleration, overlap=data.overlap,
                     label_policy=data.label_policy, min_label_purity=data.min_label_purity,
                     normalizer_mean=[float(v) for v in normalizer.mean],
                     normalizer_std=[float(v) for v in normalizer.std], **serving)
        if config.data_config() != data:
            raise ValueError("the serving config does not reproduce the training data settings; a DataConfig field "
                             "is missing from ServingConfig")
        return config

    def describe_units(self) -> str:
        """e.g. 'accelerometer (g; accepted: g, m/s^2), gyroscope (rad/s; accepted: deg/s, rad/s)'."""
        return ", ".join(f"{name} ({s.unit}; accepted: {', '.join(sorted(s.accepted_units))})"
                         for name, s in self.units.items()) or "none declared"


def to_canonical_units(values: np.ndarray, units: Any, config: ServingConfig) -> np.ndarray:
    """Convert `values` (..., channels), finite, from the request's declared `units` to the model's units.

    The one conversion of both endpoints. `units` is the request's optional
    `{"accelerometer": "m/s^2", ...}` (streams left out are in their canonical
    unit). Afterwards the accelerometer must be plausible
    (`har.units.check_acceleration_unit` over all samples of the request),
    else RequestError 422 naming the unit the data looks like.
    """
    declared = _declared_units(units, config)
    scale = np.ones(values.shape[-1], dtype=values.dtype)
    indices = {}
    for name, stream in config.units.items():
        indices[name] = [config.channel_names.index(c) for c in stream.channels]
        scale[indices[name]] = stream.accepted_units[declared[name]]
    if np.any(scale != 1.0):
        values = values * scale
    for name, stream in config.units.items():
        if stream.unit != GRAVITY_UNIT or len(stream.channels) != 3:
            continue
        mismatch = check_acceleration_unit(values[..., indices[name]].reshape(-1, 3), declared[name],
                                           stream.accepted_units, stream.unit, config.linear_acceleration)
        if mismatch is not None:
            raise RequestError(_mismatch_message(name, mismatch, stream), status=422)
    return values


def _declared_units(units: Any, config: ServingConfig) -> Dict[str, str]:
    """Each stream's unit in the request: as declared, else canonical; RequestError 400 for unknown names."""
    declared = {name: stream.unit for name, stream in config.units.items()}
    if units is None:
        return declared
    example = ", ".join(f'"{name}": "{stream.unit}"' for name, stream in config.units.items())
    if not isinstance(units, Mapping):
        raise RequestError(f"'units' must be an object mapping stream to unit, e.g. {{{example}}}; got {units!r}")
    for name, unit in units.items():
        if name not in config.units:
            raise RequestError(f"'units' names stream '{name}', which this model does not take; its streams: "
                               f"{config.describe_units()}")
        accepted = config.units[name].accepted_units
        if not isinstance(unit, str) or unit not in accepted:
            raise RequestError(f"units.{name} is {unit!r}, not an accepted unit; accepted: "
                               f"{', '.join(sorted(accepted))} (canonical: {config.units[name].unit})")
        declared[name] = unit
    return declared


def _mismatch_message(name: str, mismatch: Any, stream: StreamUnits) -> str:
    if mismatch.likely_unit is not None:
        fix = f'declare the unit it is in: "units": {{"{name}": "{mismatch.likely_unit}"}}'
        if mismatch.likely_unit == stream.unit:
            fix += f" (or leave {name} out of 'units': {stream.unit} is the default)"
    else:
        fix = (f'declare the unit it is in with "units": {{"{name}": "<unit>"}} (accepted: '
               f"{', '.join(sorted(stream.accepted_units))}); it matches none of them, check the data")
    return f"{name} data is not in {mismatch.declared_unit}: {mismatch.describe()}; {fix}"


def numbers(value: Any) -> np.ndarray | None:
    """`value` (nested lists from JSON, or an array) as a numeric array; None if anything in it is not a number.

    Strings, booleans, null and ragged nesting are refused: `np.asarray(..., dtype=float)` would
    quietly turn "0.5" and true into numbers. Without a dtype numpy keeps strings and None visible in
    the array's dtype; a boolean among numbers becomes 0 or 1, so only rows holding an exact 0 or 1
    are looked at in Python (real sensor rows rarely do).
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # ragged
        return None
    if array.dtype.kind not in "fiu":
        return None
    if isinstance(value, list) and array.size:
        rows = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array[None]
        suspects = np.flatnonzero(((rows == 0) | (rows == 1)).any(axis=1))
        if suspects.size:
            nested = [value]
            for _ in range(array.ndim - 1):
                nested = [row for rows_ in nested for row in rows_]
            if any(bool in map(type, nested[i]) for i in suspects.tolist()):
                return None
    return array


def check_windows(windows: Any, config: ServingConfig, units: Any = None) -> np.ndarray:
    """Validate a batch of windows in the declared `units`; returns float32 `(n, window, channels)` in the
    model's units, or raises RequestError (see `to_canonical_units`)."""
    _declared_units(units, config)  # a bad 'units' is reported before the data
    array = numbers(windows)
    if array is None:
        raise RequestError(
            "'windows' must be a list of windows, each a list of "
            f"{config.window_size} samples of {len(config.channel_names)} numbers (JSON numbers: not strings, "
            "booleans or null)"
        )
    array = array.astype(np.float32, copy=False)
    expected = f"(n, {config.window_size}, {len(config.channel_names)}) = (windows, samples, channels " \
               f"{', '.join(config.channel_names)})"
    if array.ndim == 2 and array.shape == (config.window_size, len(config.channel_names)):
        raise RequestError(f"'windows' must be a list of windows; got a single window of shape {array.shape}; "
                           f"wrap it in a list: expected {expected}")
    if array.ndim != 3:
        raise RequestError(f"'windows' has shape {array.shape}; expected {expected}")
    n, size, channels = array.shape
    if n == 0:
        raise RequestError("'windows' is empty; send at least one window")
    if n > config.max_windows_per_request:
        raise RequestError(
            f"{n} windows in one request; at most {config.max_windows_per_request} are allowed "
            "(split the batch)", status=413)
    if channels != len(config.channel_names):
        raise RequestError(f"windows have {channels} channels; expected {len(config.channel_names)} "
                           f"({', '.join(config.channel_names)})")
    if size != config.window_size:
        raise RequestError(f"windows have {size} samples; expected {config.window_size} "
                           f"({config.window_size / config.sample_rate_hz:g} s at {config.sample_rate_hz:g} Hz)")
    finite = np.isfinite(array)
    if not finite.all():
        w, s, c = (int(i) for i in np.argwhere(~finite)[0])
        raise RequestError(f"windows[{w}][{s}][{c}] ({config.channel_names[c]}) is {array[w, s, c]}; "
                           "all values must be finite numbers")
    return to_canonical_units(array, units, config)


# --- binary request bodies for /predict ---------------------------------------------------------------------

JSON_TYPE, OCTET_TYPE, NPY_TYPE = "application/json", "application/octet-stream", "application/x-npy"
BINARY_TYPES = (OCTET_TYPE, NPY_TYPE)
SHAPE_HEADER, UNITS_HEADER = "x-shape", "x-units"


def parse_shape_header(value: str | None) -> Tuple[int, ...]:
    """`X-Shape: 64,128,6` -> (64, 128, 6); RequestError 400 when missing or not comma-separated integers."""
    if not value:
        raise RequestError(f"an {OCTET_TYPE} body needs the header 'X-Shape: <windows>,<samples>,<channels>' "
                           "(e.g. X-Shape: 64,128,6); the body is float32 little-endian in that C order")
    try:
        shape = tuple(int(part) for part in value.split(","))
    except ValueError:
        shape = ()
    if not shape or len(shape) > 4 or any(d < 0 for d in shape):
        raise RequestError(f"X-Shape is {value[:100]!r}; expected non-negative integers separated by commas, "
                           "e.g. X-Shape: 64,128,6")
    return shape


def parse_units_header(value: str | None) -> Dict[str, str] | None:
    """`X-Units: accelerometer=m/s^2,gyroscope=deg/s` -> the JSON body's `units` object (None when absent)."""
    if value is None or not value.strip():
        return None
    units = {}
    for part in value.split(","):
        name, sep, unit = part.partition("=")
        if not sep or not name.strip() or not unit.strip():
            raise RequestError(f"X-Units is {value[:200]!r}; expected stream=unit pairs separated by commas, "
                               "e.g. X-Units: accelerometer=m/s^2,gyroscope=deg/s")
        units[name.strip()] = unit.strip()
    return units


def _npy_array(body: bytes) -> np.ndarray:
    """A `.npy` body as an array, reading the header first: never unpickles, never allocates more than sent."""
    fmt = np.lib.format
    stream = io.BytesIO(body)
    try:
        version = fmt.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"npy format version {version} is not supported (1.0 or 2.0)")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran_order, dtype = read_header(stream)
    except Exception as error:  # numpy's header parser raises ValueError, SyntaxError, TokenError, ...
        raise RequestError(f"the body is not a valid .npy file ({str(error)[:200]})") from None
    if dtype.hasobject or dtype.kind not in "fiu":
        raise RequestError(f".npy dtype {dtype} is refused; send float32 (little-endian '<f4') numbers")
    if len(shape) > 4:
        raise RequestError(f".npy shape {shape} has too many dimensions; expected (windows, samples, channels)")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(body) - stream.tell() != expected:
        raise RequestError(f".npy header says shape {shape} of {dtype} ({expected} bytes of data) but the body "
                           f"has {len(body) - stream.tell()} bytes after the header")
    try:
        return np.load(io.BytesIO(body), allow_pickle=False)  # the checks above make this a plain copy
    except ValueError as error:
        raise RequestError(f"the body is not a valid .npy file ({str(error)[:200]})") from None


def parse_binary_windows(body: bytes, content_type: str, headers: Mapping[str, str]
                         ) -> Tuple[np.ndarray, Dict[str, str] | None]:
    """A binary /predict body -> (the windows array, the declared units); `check_windows` validates them next,
    exactly as it validates a JSON body's windows.

    `application/octet-stream`: float32 little-endian values in C order, shape
    in `X-Shape: n,window,channels`. `application/x-npy`: a `.npy` file
    (`np.save` of a float32 array; no pickles, object dtypes refused).
    `X-Units` declares the units as the JSON body's `units` does. `headers`
    has lower-case names.
    """
    units = parse_units_header(headers.get(UNITS_HEADER))
    if content_type == NPY_TYPE:
        array = _npy_array(body)
    elif content_type == OCTET_TYPE:
        shape = parse_shape_header(headers.get(SHAPE_HEADER))
        count = math.prod(shape)
        if count * 4 != len(body):
            raise RequestError(f"X-Shape {','.join(map(str, shape))} needs {count * 4} bytes of float32; the body "
                               f"has {len(body)}")
        array = np.frombuffer(body, dtype="<f4").reshape(shape)
    else:
        raise RequestError(f"content type {content_type!r} is not a windows format; send {JSON_TYPE}, "
                           f"{OCTET_TYPE} (with X-Shape) or {NPY_TYPE}", status=415)
    return array, units


def stream_to_windows(timestamps_ms: Any, samples: Any, config: ServingConfig,
                      units: Any = None) -> Tuple[np.ndarray, np.ndarray]:
    """Raw samples of any length -> (windows, window start times in epoch ms), as in training.

    Timestamps are epoch milliseconds, strictly increasing; samples are
    `(n, channels)` in the training channel order and the declared `units`
    (default: the training units), converted and checked over the whole
    stream by `to_canonical_units`. The stream is resampled to the training
    rate (gaps over the merge tolerance split it) and windowed with the
    training window size and step.
    """
    _declared_units(units, config)
    t, x = numbers(timestamps_ms), numbers(samples)
    if t is None or x is None:
        raise RequestError(f"'timestamps' must be numbers (epoch ms) and 'samples' a list of "
                           f"[{', '.join(config.channel_names)}] rows of numbers (JSON numbers: not strings, "
                           "booleans or null)")
    t, x = t.astype(np.float64, copy=False), x.astype(np.float64, copy=False)
    n_channels = len(config.channel_names)
    if t.ndim != 1 or x.ndim != 2 or x.shape[1] != n_channels:
        raise RequestError(f"expected 'timestamps' of shape (n,) and 'samples' of shape (n, {n_channels}) "
                           f"({', '.join(config.channel_names)}); got {t.shape} and {x.shape}")
    if len(t) != len(x):
        raise RequestError(f"{len(t)} timestamps but {len(x)} samples; expected one timestamp per sample")
    if len(t) > config.max_stream_samples:
        raise RequestError(f"{len(t)} samples in one request; at most {config.max_stream_samples} are allowed",
                           status=413)
    if len(t) < config.window_size:
        raise RequestError(f"{len(t)} samples are fewer than one window ({config.window_size} samples at "
                           f"{config.sample_rate_hz:g} Hz)")
    for name, values in (("timestamps", t), ("samples", x)):
        bad = np.flatnonzero(~np.isfinite(values).reshape(len(values), -1).all(axis=1))
        if len(bad):
            raise RequestError(f"{name}[{bad[0]}] is not a finite number ({len(bad)} such rows)")
    if t[0] < 0 or t[-1] > MAX_TIMESTAMP_MS:
        raise RequestError(f"timestamps run from {t[0]:.6g} to {t[-1]:.6g}; expected epoch milliseconds between 0 "
                           f"and {MAX_TIMESTAMP_MS:.0e} (is the unit micro- or nanoseconds?)")
    steps = np.diff(t)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise RequestError(f"timestamps[{i}] = {t[i]:.3f} is not after timestamps[{i - 1}] = {t[i - 1]:.3f}; "
                           "timestamps must be strictly increasing epoch milliseconds")
    x = to_canonical_units(x, units, config)
    # Sparse: the work follows the sample count, not the time span (a few samples days apart made the
    # dense grid gigabytes); identical to training's `resample_streams` (tests/unit/test_resampling.py).
    grid, values, segments = resample_streams(
        {"stream": (t / 1000.0, x)}, config.sample_rate_hz, config.merge_tolerance_ms / 1000.0
    )
    starts = window_starts(*segment_bounds(segments), config.window_size, config.step)
    if len(starts) == 0:
        raise RequestError(f"no gap-free run of {config.window_size} samples at {config.sample_rate_hz:g} Hz "
                           "in the stream; check the timestamps' unit (epoch milliseconds) and gaps")
    windows = sliding_windows(values.astype(np.float32, copy=False), starts, config.window_size, config.step)
    return windows, grid[starts] * 1000.0


class Runtime(Protocol):
    """What runs the model: raw windows (canonical units, not normalised) in, probabilities out.

    Each implementation owns its normalisation: the Keras runtime applies the
    training normaliser, the ONNX graph has it folded in (never twice).
    """

    name: str
    buckets: Tuple[int, ...]  # batch sizes run once at load; the last is the largest batch per call
    inline_windows: int  # batches up to this size cost less than a hop to a worker thread: run them in place

    def predict_proba(self, raw_windows: np.ndarray) -> np.ndarray:
        """`(n, window, channels)` float32 raw windows -> `(n, n_classes)` float32 probabilities."""
        ...


def batch_buckets(max_batch: int) -> Tuple[int, ...]:
    """1, 2, 4, ... up to `max_batch` (included): the batch sizes warmed up at load."""
    buckets = tuple(2**k for k in range(max_batch.bit_length()) if 2**k <= max_batch)
    return buckets if buckets[-1] == max_batch else (*buckets, max_batch)


class KerasRuntime:
    """The `.keras` model behind a compiled `tf.function`: ~1.5 ms for one window instead of ~60 ms for
    `model.predict`, because Keras' per-call set-up is paid once at load time.

    `threads` caps TensorFlow's thread pools. On a small machine the HTTP side
    (JSON parsing) needs a core of its own: with TF's default pools their
    spinning threads took it, and a 64-window request spent 20 ms instead of
    3 ms in `orjson.loads`. Batches are padded to the buckets: oneDNN builds
    kernels per input shape, and the first call with each new batch size cost
    tens of milliseconds under load. All are built at load.
    """

    name = NATIVE
    inline_windows = 0  # ~1.5 ms even for one window: always in a worker thread

    def __init__(self, model_dir: str | Path, window_shape: Tuple[int, int], threads: int = 1,
                 max_batch: int = 512, keras_file: str | Path | None = None):
        import keras
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TF already initialised in this process (e.g. tests): keep its pools
            pass
        model_dir = Path(model_dir)
        self.normalizer = ChannelNormalizer.from_dict(json.loads((model_dir / NORMALIZER_FILE).read_text()))
        self.model = keras.models.load_model(keras_file or model_dir / MODEL_FILE, compile=False)
        self._call = tf.function(self._forward, input_signature=[tf.TensorSpec([None, *window_shape], tf.float32)])
        self.buckets = batch_buckets(max_batch)
        for n in self.buckets:
            self._call(np.zeros((n, *window_shape), np.float32))

    def _forward(self, x):  # traced once by tf.function
        return self.model(x, training=False)

    def predict_proba(self, raw_windows: np.ndarray) -> np.ndarray:
        x = self.normalizer.transform(raw_windows)
        n = len(x)
        size = next(b for b in self.buckets if b >= n)
        if size != n:
            x = np.concatenate([x, np.zeros((size - n, *x.shape[1:]), np.float32)])
        return np.asarray(self._call(x), dtype=np.float32)[:n]


class OnnxRuntime:
    """The training pipeline's `onnx_float32` export (normaliser folded in) in ONNX Runtime.

    One window takes ~0.05 ms instead of ~1.5-3 ms through TensorFlow, and a
    batch of 64 about half TF's time (benchmarks/bench_serving.py measures
    both on this machine). `threads` is ONNX Runtime's intra-op pool:
    1 runs the graph in the calling thread, which leaves the other core to
    the HTTP side; with more, the pool's threads do not spin between calls
    (spinning took the event loop's core on a shared 2-core machine and
    halved batch throughput). Execution is sequential (one small graph). No
    padding: ONNX Runtime has no per-shape compilation; every bucket size
    is still run once at load so memory arenas are sized before traffic.
    """

    name = ONNX
    # ~0.05 ms for one window, ~0.25 ms for 8: less than handing the batch to a thread and back on a busy
    # 2-core machine (the hop was ~10 % of the event loop's time with 8 one-window clients).
    inline_windows = 8
    # Per window, batches of 256-512 ran about half as fast as 64-128 here (the LSTM's working set leaves the
    # cache), and one call costs only ~0.05 ms: larger batches are split into calls of at most this size.
    max_call_batch = 128

    def __init__(self, model: str | Path | bytes, window_shape: Tuple[int, int], threads: int = 1,
                 max_batch: int = 512):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self._input = self.session.get_inputs()[0].name
        self.buckets = batch_buckets(min(max_batch, self.max_call_batch))
        for n in self.buckets:
            self.session.run(None, {self._input: np.zeros((n, *window_shape), np.float32)})

    def predict_proba(self, raw_windows: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(raw_windows, dtype=np.float32)
        size = self.buckets[-1]
        parts = [self.session.run(None, {self._input: x[i : i + size]})[0] for i in range(0, len(x), size)]
        return np.asarray(parts[0] if len(parts) == 1 else np.concatenate(parts), dtype=np.float32)


class FamilyRuntime:
    """A model family's own `predict_proba` (e.g. MiniRocket through aeon's numba transform) on normalised
    windows: what serves a family that has no ONNX export in the model folder."""

    name = NATIVE
    inline_windows = 0

    def __init__(self, family_dir: str | Path, normalizer: ChannelNormalizer, max_batch: int = 512):
        from har.families import load_model

        self.model = load_model(family_dir, warm_up=True)  # pays numba compilation / tracing before traffic
        self.normalizer = normalizer
        self.buckets = batch_buckets(max_batch)

    def predict_proba(self, raw_windows: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(self.normalizer.transform(np.asarray(raw_windows, dtype=np.float32)))


def load_runtime(model_dir: str | Path, config: ServingConfig, runtime: str | None = None, threads: int = 1,
                 max_batch: int = 512) -> Runtime:
    """The runtime `runtime` (default: the one `config` was packaged with) for the model in `model_dir`.

    A model folder without `model.onnx` (packaged before the exports, or from a
    version without them) is served natively, with a warning: Keras models
    behind a tf.function, other families by their own code.
    """
    name = runtime or config.runtime
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; one of {', '.join(RUNTIMES)}")
    model_dir = Path(model_dir)
    window_shape = (config.window_size, len(config.channel_names))
    if name == ONNX:
        if (model_dir / ONNX_FILE).exists():
            return OnnxRuntime(model_dir / ONNX_FILE, window_shape, threads=threads, max_batch=max_batch)
        logger.warning("runtime 'onnx' requested but %s has no %s: serving natively", model_dir, ONNX_FILE)
    for keras_file in (model_dir / FAMILY_DIR / MODEL_FILE, model_dir / MODEL_FILE):  # Keras family, or legacy
        if keras_file.exists():
            return KerasRuntime(model_dir, window_shape, threads=threads, max_batch=max_batch, keras_file=keras_file)
    if (model_dir / FAMILY_DIR).is_dir():
        return FamilyRuntime(model_dir / FAMILY_DIR, config.normalizer(), max_batch=max_batch)
    raise FileNotFoundError(f"{model_dir}: holds neither {ONNX_FILE} nor a model ({FAMILY_DIR}/, {MODEL_FILE})")


class Predictor:
    """The served model: its `ServingConfig`, a `Runtime`, and the JSON answers.

    `runtime` and `threads` default to what `serving.json` says (`runtime`,
    `runtime_threads`); `HAR_RUNTIME` / `HAR_RUNTIME_THREADS` override them in
    the service. Requests over `max_batch` windows are split.
    """

    def __init__(self, model_dir: str | Path, threads: int | None = None, max_batch: int = 512,
                 runtime: str | None = None):
        self.config = ServingConfig.from_dict(json.loads((Path(model_dir) / SERVING_CONFIG_FILE).read_text()))
        self.threads = self.config.runtime_threads if threads is None else threads
        self.runtime = load_runtime(model_dir, self.config, runtime, threads=self.threads, max_batch=max_batch)
        self.max_batch = max_batch

    @property
    def buckets(self) -> Tuple[int, ...]:
        return self.runtime.buckets  # type: ignore[attr-defined]

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities for raw (unnormalised) windows, as `(n, n_classes)` float32."""
        if len(windows) > self.max_batch:
            return np.concatenate([self.runtime.predict_proba(windows[i : i + self.max_batch])
                                   for i in range(0, len(windows), self.max_batch)])
        return self.runtime.predict_proba(windows)

    def describe(self, probabilities: np.ndarray, start_times_ms: Sequence[float] | None = None) -> List[dict]:
        """One JSON-ready answer per window: label, class probabilities, model version."""
        names = self.config.class_names
        best = probabilities.argmax(axis=1)
        rounded = np.round(probabilities.astype(np.float64), 6).tolist()
        out = []
        for i, row in enumerate(rounded):
            item = {"label": names[best[i]], "probabilities": dict(zip(names, row, strict=True)),
                    "model_version": self.config.model_version}
            if start_times_ms is not None:
                item["start_time_ms"] = float(start_times_ms[i])
            out.append(item)
        return out


class MicroBatcher:
    """Runs concurrent requests through the model together, without waiting for a batch to fill.

    While one batch is in the model, new requests queue; the next batch takes
    everything queued (up to `max_batch` windows). At low load a request runs
    alone with no added delay; under load, batches grow and throughput follows
    the model's batched speed. Unlike a deadline-based batcher it never
    rejects a request because a latency target might be missed.
    """

    def __init__(self, infer: Callable[[np.ndarray], np.ndarray], max_batch: int = 512, inline_windows: int = 0):
        self._infer = infer
        self._max_batch = max_batch
        self._inline_windows = inline_windows  # batches this small run on the event loop (Runtime.inline_windows)
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self.batches = 0
        self.windows = 0

    async def submit(self, windows: np.ndarray) -> np.ndarray:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((windows, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        pending: Tuple[np.ndarray, asyncio.Future] | None = None
        while True:
            batch = [pending or await self._queue.get()]
            pending = None
            size = len(batch[0][0])
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if size + len(item[0]) > self._max_batch:
                    pending = item
                    break
                batch.append(item)
                size += len(item[0])
            inputs = batch[0][0] if len(batch) == 1 else np.concatenate([w for w, _ in batch])
            try:
                if len(inputs) <= self._inline_windows:
                    outputs = self._infer(inputs)
                else:
                    outputs = await loop.run_in_executor(None, self._infer, inputs)
            except Exception as error:  # the model failed: every waiting request gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            self.windows += len(inputs)
            offset = 0
            for windows, future in batch:
                if not future.done():  # the client may have gone away
                    future.set_result(outputs[offset : offset + len(windows)])
                offset += len(windows)
