"""On-device exports of the trained classifier: LiteRT (float32, int8) and ONNX, with parity and a device report.

Every export takes *raw* windows in the sensors' canonical units (the
per-channel normaliser is folded into the graph) and returns class
probabilities. Each carries a `PreprocessingSpec` a firmware engineer can
implement: rate, window, step, channel order and units.

Why the LiteRT graph is rebuilt: Keras 3 runs an LSTM on TensorFlow as a
`while_loop`; LiteRT converts that to a WHILE op (float) and the int8
converter crashes on it (segfault, TF 2.21). The window length is fixed, so
the LSTMs are rebuilt with `unroll=True` from the same config and weights
(`unrolled_copy`, checked numerically), which converts to builtin ops only.
ONNX keeps the original graph: tf2onnx maps the loop to ONNX's own LSTM op.

Runtimes: `ai_edge_litert` (the maintained LiteRT runtime) and
`onnxruntime`. Keras/TensorFlow/tf2onnx are imported inside functions; the
benchmark subprocess (`python -m har.export bench ...`) imports only the
runtime it measures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Sequence

import numpy as np

from har.outcomes import QualityGateFailed
from har.types import ChannelNormalizer, WindowedDataset

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from har.config import Schema

LITERT, ONNX = "litert", "onnx"
FLOAT32, INT8 = "float32", "int8"
FILE_SUFFIX = {LITERT: ".tflite", ONNX: ".onnx"}
ONNX_OPSET = 17
PROBE_TOLERANCE = 1e-4  # max |p_unrolled - p_original| accepted when rebuilding the LSTMs

# Builtin ops registered by TensorFlow Lite for Microcontrollers' MicroMutableOpResolver (Add* methods),
# read in tensorflow/tflite-micro, tensorflow/lite/micro/micro_mutable_op_resolver.h at commit 933f830.
# Newer TFLM versions only add ops; a name in this list still says nothing about which dtypes its kernel takes.
TFLM_OPS_SOURCE = ("tensorflow/tflite-micro: tensorflow/lite/micro/micro_mutable_op_resolver.h "
                   "(commit 933f830139560b2f9a47b5418439350c728a796f), the Add* builtin registrations")
TFLM_BUILTIN_OPS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_TO_SPACE_ND BROADCAST_ARGS BROADCAST_TO
CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE DEPTHWISE_CONV_2D DEQUANTIZE ELU EQUAL EXP
EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GATHER_ND GREATER GREATER_EQUAL HARD_SWISH IF
L2_NORMALIZATION L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC MAXIMUM
MAX_POOL_2D MIRROR_PAD MEAN MINIMUM MUL NEG NOT_EQUAL PACK PAD PADV2 PRELU QUANTIZE READ_VARIABLE REDUCE_MAX RELU
RELU6 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR ROUND RSQRT SHAPE SIN SLICE SOFTMAX SPACE_TO_BATCH_ND
SPACE_TO_DEPTH SPLIT SPLIT_V SQUEEZE SQRT SQUARE STRIDED_SLICE SUB SVDF TANH TRANSPOSE_CONV TRANSPOSE UNPACK
UNIDIRECTIONAL_SEQUENCE_LSTM VAR_HANDLE WHILE ZEROS_LIKE
""".split())

# LiteRT TensorType enum -> bytes per element (schema.fbs)
_TFLITE_DTYPE_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 11: 8, 12: 8, 15: 4, 16: 4}
_TFLITE_DTYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16",
                       9: "int8", 10: "float64", 15: "uint32", 16: "uint16"}


class ExportParityError(QualityGateFailed):
    """An export's predictions disagree with the Keras model's more than allowed."""


# ----------------------------------------------------------------------------------------------- types
@dataclass
class PreprocessingSpec:
    """What the device must do before calling the model (the normaliser is already inside it)."""

    sample_rate_hz: float
    window_size: int
    step: int
    channel_names: List[str]
    channel_units: Dict[str, str]
    class_names: List[str]
    linear_acceleration: bool = False
    normalizer_mean: List[float] = field(default_factory=list)
    normalizer_std: List[float] = field(default_factory=list)

    @property
    def window_seconds(self) -> float:
        return self.window_size / self.sample_rate_hz

    @property
    def step_seconds(self) -> float:
        return self.step / self.sample_rate_hz

    def instructions(self) -> List[str]:
        """The contract in plain sentences, for the report and the README."""
        channels = ", ".join(f"{name} [{self.channel_units.get(name, '?')}]" for name in self.channel_names)
        gravity = ("gravity removed (linear acceleration)" if self.linear_acceleration
                   else "gravity included (raw accelerometer, ~1 g at rest)")
        return [
            f"Resample every sensor to a uniform {self.sample_rate_hz:g} Hz grid (linear interpolation); "
            "do not bridge gaps in the data.",
            f"Channel order (last axis): {channels}. Accelerometer {gravity}.",
            f"Window: {self.window_size} samples ({self.window_seconds:g} s); run the model every "
            f"{self.step} samples ({self.step_seconds:g} s).",
            f"Input: float32 [1, {self.window_size}, {len(self.channel_names)}], oldest sample first, raw units "
            "as above; no normalisation on the device (mean/std are folded into the model).",
            f"Output: float32 [1, {len(self.class_names)}] probabilities in the order "
            f"{', '.join(self.class_names)}; argmax is the activity.",
        ]

    def to_dict(self) -> Dict[str, Any]:
        content = dataclasses.asdict(self)
        content.update(window_seconds=self.window_seconds, step_seconds=self.step_seconds)
        return content

    @classmethod
    def from_dict(cls, content: Dict[str, Any]) -> PreprocessingSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in content.items() if key in names})


@dataclass
class ExportedModel:
    """One exported model file plus what a firmware engineer needs to know about it.

    `parity`: top1_agreement, max_prob_diff, n_windows (vs Keras on the test
    split). `benchmark`: latency and memory figures on this CPU. `evaluation`:
    accuracy and macro_f1 on the test split.
    """

    format: str  # "litert" | "onnx"
    precision: str  # "float32" | "int8"
    content: bytes
    preprocessing: PreprocessingSpec
    ops: List[str]
    converter: str
    input_shape: List[int | None]
    parity: Dict[str, float] = field(default_factory=dict)
    benchmark: Dict[str, Any] = field(default_factory=dict)
    evaluation: Dict[str, float] = field(default_factory=dict)
    tensor_dtypes: Dict[str, int] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.format not in FILE_SUFFIX:
            raise ValueError(f"format must be one of {', '.join(FILE_SUFFIX)}, got {self.format!r}")
        if self.precision not in (FLOAT32, INT8):
            raise ValueError(f"precision must be {FLOAT32} or {INT8}, got {self.precision!r}")

    @property
    def name(self) -> str:
        return f"{self.format}_{self.precision}"

    @property
    def file_name(self) -> str:
        return f"model_{self.precision}{FILE_SUFFIX[self.format]}"

    @property
    def size_kb(self) -> float:
        return len(self.content) / 1024.0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def quantization(self) -> str:
        if self.precision == INT8:
            return "int8 post-training full-integer (representative training windows), float32 input/output"
        return "none (float32)"

    @property
    def tflm_unsupported_ops(self) -> List[str]:
        return [op for op in self.ops if op not in TFLM_BUILTIN_OPS] if self.format == LITERT else list(self.ops)

    @property
    def tflm_compatible(self) -> bool:
        return self.format == LITERT and self.precision == INT8 and not self.tflm_unsupported_ops

    @property
    def device_class(self) -> str:
        if self.format == ONNX:
            return "phone (ONNX Runtime Mobile, Android/iOS) or server; not a watch/MCU runtime"
        if self.tflm_compatible:
            return ("phone / Wear OS watch (LiteRT); microcontroller with TFLM: int8 and every op in TFLM's "
                    "builtin list")
        if self.precision == INT8:
            return "phone / Wear OS watch (LiteRT); not a microcontroller (ops outside TFLM's list)"
        return "phone / Wear OS watch (LiteRT, CPU/XNNPACK); microcontroller needs the int8 export"

    def describe(self) -> Dict[str, Any]:
        """Everything but the bytes, as plain JSON values."""
        return {
            "name": self.name,
            "format": self.format,
            "precision": self.precision,
            "file_name": self.file_name,
            "size_bytes": len(self.content),
            "size_kb": round(self.size_kb, 2),
            "sha256": self.sha256,
            "quantization": self.quantization,
            "converter": self.converter,
            "input_shape": list(self.input_shape),
            "ops": list(self.ops),
            "tensor_dtypes": dict(self.tensor_dtypes),
            "tflm_compatible": self.tflm_compatible,
            "tflm_unsupported_ops": self.tflm_unsupported_ops,
            "tflm_ops_source": TFLM_OPS_SOURCE,
            "device_class": self.device_class,
            "parity": dict(self.parity),
            "benchmark": dict(self.benchmark),
            "evaluation": dict(self.evaluation),
            "preprocessing": self.preprocessing.to_dict(),
            "instructions": self.preprocessing.instructions(),
            "notes": list(self.notes),
        }

    @classmethod
    def from_description(cls, content: bytes, meta: Dict[str, Any]) -> ExportedModel:
        return cls(
            format=str(meta["format"]), precision=str(meta["precision"]), content=content,
            preprocessing=PreprocessingSpec.from_dict(meta["preprocessing"]), ops=[str(op) for op in meta["ops"]],
            converter=str(meta["converter"]), input_shape=list(meta["input_shape"]),
            parity=dict(meta.get("parity") or {}), benchmark=dict(meta.get("benchmark") or {}),
            evaluation=dict(meta.get("evaluation") or {}), tensor_dtypes=dict(meta.get("tensor_dtypes") or {}),
            notes=[str(note) for note in meta.get("notes") or []],
        )


# ----------------------------------------------------------------------------------- preprocessing spec
def preprocessing_spec(
    windows: WindowedDataset, normalizer: ChannelNormalizer, schema: Schema, linear_acceleration: bool = False
) -> PreprocessingSpec:
    """The device contract from the windows' metadata (rate, window, step, channels) and the schema (units)."""
    units: Dict[str, str] = {}
    for stream in schema.streams.values():
        for channel in stream.channels():
            units[channel] = stream.unit
    missing = [name for name in windows.channel_names if name not in units]
    if missing:
        raise ValueError(f"channels {', '.join(missing)} belong to no stream of the schema "
                         f"(streams: {', '.join(schema.streams)}); cannot state their units")
    if list(normalizer.channel_names) != list(windows.channel_names):
        raise ValueError(f"normalizer channels {normalizer.channel_names} differ from the windows' "
                         f"{windows.channel_names}")
    return PreprocessingSpec(
        sample_rate_hz=float(windows.sample_rate_hz), window_size=windows.window_size, step=int(windows.step),
        channel_names=list(windows.channel_names), channel_units={name: units[name] for name in windows.channel_names},
        class_names=list(windows.class_names), linear_acceleration=bool(linear_acceleration),
        normalizer_mean=[float(v) for v in normalizer.mean], normalizer_std=[float(v) for v in normalizer.std],
    )


# ---------------------------------------------------------------------------------------- graph building
def unrolled_copy(model: keras.Model, probe: np.ndarray | None = None) -> keras.Model:
    """The same model with every recurrent layer unrolled (fixed window length), same weights.

    Raises ValueError if its probabilities on `probe` (random windows when
    None) differ from the original's by more than PROBE_TOLERANCE.
    """
    import keras

    config = model.get_config()
    if not _set_unroll(config):
        return model
    copy = keras.Model.from_config(config)
    copy.set_weights(model.get_weights())
    if probe is None:
        shape = tuple(int(d) for d in model.input_shape[1:])
        probe = np.random.default_rng(0).normal(size=(16, *shape)).astype(np.float32)
    diff = float(np.max(np.abs(np.asarray(copy(probe, training=False)) - np.asarray(model(probe, training=False)))))
    if not diff <= PROBE_TOLERANCE:
        raise ValueError(f"the unrolled rebuild differs from the trained model by {diff:.3g} (> {PROBE_TOLERANCE})")
    return copy


def _set_unroll(config: Any) -> bool:
    found = False
    if isinstance(config, dict):
        if config.get("class_name") in ("LSTM", "GRU", "SimpleRNN") and isinstance(config.get("config"), dict):
            config["config"]["unroll"] = True
            found = True
        for value in config.values():
            found = _set_unroll(value) or found
    elif isinstance(config, list):
        for value in config:
            found = _set_unroll(value) or found
    return found


def with_normalizer(model: keras.Model, normalizer: ChannelNormalizer) -> keras.Model:
    """Raw windows in, probabilities out: a Normalization layer with the training mean/std in front."""
    import keras

    mean = np.asarray(normalizer.mean, dtype=np.float32)
    std = np.asarray(normalizer.std, dtype=np.float32)
    inputs = keras.Input(shape=tuple(int(d) for d in model.input_shape[1:]), name="raw_window")
    normalized = keras.layers.Normalization(axis=-1, mean=mean, variance=std.astype(np.float64) ** 2,
                                            name="normalize")(inputs)
    return keras.Model(inputs, model(normalized, training=False), name=f"{model.name}_raw_input")


# -------------------------------------------------------------------------------------------- converters
def to_litert(model: keras.Model, normalizer: ChannelNormalizer, representative: np.ndarray | None = None) -> bytes:
    """A builtin-ops-only `.tflite` (batch 1); int8 full-integer when `representative` raw windows are given.

    Uses Keras' own LiteRT export (ExportArchive -> SavedModel -> TFLiteConverter)
    with SELECT_TF_OPS switched off: conversion fails rather than emit Flex ops.
    Tensor names are stripped (`strip_names`).
    """
    import tensorflow as tf

    graph = with_normalizer(unrolled_copy(model), normalizer)
    shape = [1, *(int(d) for d in model.input_shape[1:])]
    options: Dict[str, Any] = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if representative is not None:
        samples = np.asarray(representative, dtype=np.float32)
        if samples.ndim != 3 or len(samples) == 0:
            raise ValueError(f"representative windows must be a non-empty (n, window, channels) array, "
                             f"got shape {samples.shape}")
        options = {
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": lambda: ([samples[i : i + 1]] for i in range(len(samples))),
        }
    with tempfile.TemporaryDirectory(prefix="har-litert-") as tmp:
        path = os.path.join(tmp, "model.tflite")
        graph.export(path, format="litert", input_signature=[tf.TensorSpec(shape, tf.float32)], verbose=False,
                     **options)
        return strip_names(Path(path).read_bytes())


def strip_names(content: bytes) -> bytes:
    """Drop tensor/subgraph names and signature defs (LiteRT's own `flatbuffer_utils.strip_strings`).

    The unrolled graph has hundreds of tensors whose long names were most of the
    file (int8: 451 -> 177 KB on the default model); inputs and outputs stay
    addressable by index, as TFLM and `Interpreter.get_input_details()` use them.
    """
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(content))
    flatbuffer_utils.strip_strings(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def to_onnx(model: keras.Model, normalizer: ChannelNormalizer) -> bytes:
    """An ONNX graph (dynamic batch) from the original model via tf2onnx: the BiLSTM becomes ONNX LSTM ops.

    The normaliser is `(x - mean) / std` as in `ChannelNormalizer.transform`.
    """
    import tensorflow as tf
    import tf2onnx

    mean = np.asarray(normalizer.mean, dtype=np.float32)
    std = np.asarray(normalizer.std, dtype=np.float32)
    spec = [tf.TensorSpec([None, *(int(d) for d in model.input_shape[1:])], tf.float32, name="raw_window")]

    @tf.function(input_signature=spec)
    def function(x):  # constants made inside the trace: tf2onnx turns captured eager tensors into inputs
        return model((x - tf.constant(mean)) / tf.constant(std), training=False)

    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=ONNX_OPSET)
    return proto.SerializeToString()


def converter_versions() -> Dict[str, str]:
    import keras
    import tensorflow as tf

    versions = {"keras": keras.__version__, "tensorflow": tf.__version__}
    for name in ("tf2onnx", "ai_edge_litert", "onnxruntime", "onnx"):
        try:
            from importlib.metadata import version

            versions[name] = version(name.replace("_", "-"))
        except Exception:  # not installed: the versions table just omits it
            pass
    return versions


# ----------------------------------------------------------------------------------- reading the files
def litert_facts(content: bytes) -> Dict[str, Any]:
    """Op names (all subgraphs; Flex/custom ops by their custom name), tensor dtype counts and
    the activation bytes (non-constant tensors, an upper bound of the interpreter's arena).

    Raises ValueError when `content` is not a LiteRT flatbuffer.
    """
    from ai_edge_litert import schema_py_generated as schema

    if len(content) < 8 or not schema.Model.ModelBufferHasIdentifier(content, 0):
        raise ValueError("not a LiteRT (.tflite) flatbuffer: the 'TFL3' identifier is missing")
    try:
        model = schema.Model.GetRootAs(content, 0)
        names = {value: key for key, value in vars(schema.BuiltinOperator).items() if not key.startswith("_")}
        ops = set()
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
            name = names.get(builtin, f"BUILTIN_{builtin}")
            if name == "CUSTOM":
                name = (code.CustomCode() or b"CUSTOM").decode()
            ops.add(name)
        dtypes: Dict[str, int] = {}
        activation_bytes = 0
        constant_bytes = sum(int(model.Buffers(b).DataLength()) or int(model.Buffers(b).Size())
                             for b in range(model.BuffersLength()))
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for t in range(subgraph.TensorsLength()):
                tensor = subgraph.Tensors(t)
                kind = int(tensor.Type())
                label = _TFLITE_DTYPE_NAMES.get(kind, f"type{kind}")
                dtypes[label] = dtypes.get(label, 0) + 1
                buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() < model.BuffersLength() else None
                if buffer is None or (buffer.DataLength() == 0 and int(buffer.Offset()) == 0):
                    shape = tensor.ShapeAsNumpy() if tensor.ShapeLength() else []
                    elements = int(np.prod([max(int(d), 1) for d in shape]))
                    activation_bytes += elements * _TFLITE_DTYPE_BYTES.get(kind, 4)
    except Exception as error:  # flatbuffers raises struct/index errors on a truncated file
        raise ValueError(f"corrupt LiteRT flatbuffer ({type(error).__name__}: {error})") from error
    return {"ops": sorted(ops), "tensor_dtypes": dict(sorted(dtypes.items())), "activation_bytes": activation_bytes,
            "constant_bytes": constant_bytes}


def onnx_facts(content: bytes) -> Dict[str, Any]:
    """Op types and initializer dtypes of a checked ONNX model; ValueError when it is not one."""
    import onnx

    try:
        proto = onnx.load_from_string(content)
        onnx.checker.check_model(proto)
    except Exception as error:  # protobuf DecodeError, onnx ValidationError
        raise ValueError(f"not a valid ONNX model ({type(error).__name__}: {str(error)[:200]})") from error
    dtypes: Dict[str, int] = {}
    for initializer in proto.graph.initializer:
        label = onnx.helper.tensor_dtype_to_np_dtype(initializer.data_type).name
        dtypes[label] = dtypes.get(label, 0) + 1
    return {"ops": sorted({node.op_type for node in proto.graph.node}), "tensor_dtypes": dtypes}


def facts(format: str, content: bytes) -> Dict[str, Any]:
    return litert_facts(content) if format == LITERT else onnx_facts(content)


# ---------------------------------------------------------------------------------------------- running
def predict(format: str, content: bytes, windows: np.ndarray, threads: int = 1) -> np.ndarray:
    """Probabilities of raw windows with the format's maintained runtime (LiteRT: one window per call)."""
    windows = np.asarray(windows, dtype=np.float32)
    if format == LITERT:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=content, num_threads=threads)
        interpreter.allocate_tensors()
        source = interpreter.get_input_details()[0]["index"]
        target = interpreter.get_output_details()[0]["index"]
        out = []
        for window in windows:
            interpreter.set_tensor(source, window[None])
            interpreter.invoke()
            out.append(interpreter.get_tensor(target)[0].copy())
        return np.asarray(out, dtype=np.float32).reshape(len(windows), -1)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = ort.InferenceSession(content, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    parts = [session.run(None, {name: windows[i : i + 512]})[0] for i in range(0, len(windows), 512)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def parity(reference: np.ndarray, candidate: np.ndarray) -> Dict[str, float]:
    """Top-1 agreement and max absolute probability difference of two (n, classes) arrays."""
    if reference.shape != candidate.shape or len(reference) == 0:
        raise ValueError(f"cannot compare predictions of shapes {reference.shape} and {candidate.shape}")
    return {
        "top1_agreement": float(np.mean(reference.argmax(axis=1) == candidate.argmax(axis=1))),
        "max_prob_diff": float(np.max(np.abs(reference - candidate))),
        "n_windows": int(len(reference)),
    }


def check_parity(exports: Sequence[ExportedModel], min_agreement: float, model_version: str | None = None,
                 min_int8_agreement: float | None = None) -> None:
    """Raise ExportParityError naming every export whose top-1 agreement with the model is below its bound:
    `min_agreement` for float32 exports, `min_int8_agreement` (default: the same) for int8 ones."""
    def bound(export: ExportedModel) -> float:
        return min_int8_agreement if export.precision == INT8 and min_int8_agreement is not None else min_agreement

    failing = [e for e in exports if not e.parity.get("top1_agreement", 0.0) >= bound(e)]
    if failing:
        details = "; ".join(f"{e.name}: top-1 agreement {e.parity.get('top1_agreement', float('nan')):.4f} "
                            f"< required {bound(e):.4f} (max prob diff "
                            f"{e.parity.get('max_prob_diff', float('nan')):.4f}, {e.parity.get('n_windows', 0)} "
                            "windows)" for e in failing)
        raise ExportParityError(
            f"Export parity failed for model version {model_version}: {details}. "
            "The exports would not behave like the evaluated model; lower "
            "steps.export_model.parameters.min_agreement (or min_int8_agreement) in a copy of configs/train.yaml "
            "(--config) only if that difference is acceptable on the device."
        )


def benchmark(format: str, content: bytes, windows: np.ndarray, runs: int = 200, threads: int = 1,
              timeout_s: float = 300.0) -> Dict[str, Any]:
    """Latency and peak memory of single-window inference, measured in a fresh subprocess.

    Peak memory is the growth of the process' peak RSS from after importing
    the runtime to after loading the model and running one window, so native
    allocations count (tracemalloc sees only Python's); see `_memory_kb`.
    Latency is the median (and p90) of `runs` single-window calls after 10
    warm-up calls, `threads` runtime threads.
    """
    with tempfile.TemporaryDirectory(prefix="har-bench-") as tmp:
        model_path = os.path.join(tmp, "model" + FILE_SUFFIX[format])
        Path(model_path).write_bytes(content)
        data_path = os.path.join(tmp, "windows.npy")
        np.save(data_path, np.asarray(windows[: max(1, min(len(windows), runs))], dtype=np.float32))
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        result = subprocess.run(
            [sys.executable, "-m", "har.export", "bench", format, model_path, data_path, str(runs), str(threads)],
            capture_output=True, text=True, timeout=timeout_s, env=env, cwd=root,
        )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark of the {format} model failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _memory_kb() -> Dict[str, int]:
    """Current and peak resident set size of this process (KiB): VmRSS/VmHWM from /proc (Linux).

    Not `ru_maxrss`: on Linux a child started by fork+exec inherits its parent's
    peak in ru_maxrss (a pipeline step with TensorFlow loaded reports ~1 GB
    before the child has done anything), while VmHWM belongs to the new process.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        import resource

        peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return {"rss": peak, "hwm": peak}
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines()
              if line.startswith(("VmRSS:", "VmHWM:"))}
    return {"rss": values["VmRSS"], "hwm": values["VmHWM"]}


def _reset_peak_memory() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _bench_main(format: str, model_path: str, data_path: str, runs: int, threads: int) -> Dict[str, Any]:
    import gc
    import time

    windows = np.load(data_path)
    if format == LITERT:
        from ai_edge_litert.interpreter import Interpreter
    else:
        import onnxruntime as ort
    gc.collect()
    reset = _reset_peak_memory()
    baseline = _memory_kb()
    if format == LITERT:
        interpreter = Interpreter(model_path=model_path, num_threads=threads)
        interpreter.allocate_tensors()
        source = interpreter.get_input_details()[0]["index"]
        target = interpreter.get_output_details()[0]["index"]

        def run(window: np.ndarray) -> np.ndarray:
            interpreter.set_tensor(source, window[None])
            interpreter.invoke()
            return interpreter.get_tensor(target)
    else:
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run(window: np.ndarray) -> np.ndarray:
            return session.run(None, {name: window[None]})[0]

    run(windows[0])
    after = _memory_kb()
    for i in range(10):
        run(windows[i % len(windows)])
    times = []
    for i in range(runs):
        start = time.perf_counter()
        run(windows[i % len(windows)])
        times.append((time.perf_counter() - start) * 1000.0)
    return {
        "latency_ms_median": float(np.median(times)),
        "latency_ms_p90": float(np.percentile(times, 90)),
        "runs": int(runs),
        "threads": int(threads),
        "peak_memory_kb": int(max(0, after["hwm"] - baseline["rss"])),
        "memory_method": ("peak RSS (VmHWM, reset after importing the runtime) minus RSS before loading the model"
                          if reset else "peak RSS minus RSS before loading the model (peak not resettable)"),
        "runtime_baseline_rss_kb": int(baseline["rss"]),
    }


# --------------------------------------------------------------------------------------- the whole job
def export_all(
    model: keras.Model,
    normalizer: ChannelNormalizer,
    train_windows: WindowedDataset,
    test_windows: WindowedDataset,
    spec: PreprocessingSpec,
    representative_size: int = 300,
    benchmark_runs: int = 200,
    seed: int = 0,
    reference: np.ndarray | None = None,
) -> List[ExportedModel]:
    """LiteRT float32, LiteRT int8 and ONNX exports, each with ops, parity, test metrics and a benchmark.

    `model` is a Keras graph taking normalised windows (`ModelFamily.export_graph`); parity is against
    `reference`, the model's own probabilities on the test windows (default: the graph's).
    """
    from har.evaluation import evaluate_predictions
    from har.modeling import predict_proba

    if test_windows.n_windows == 0:
        raise ValueError("cannot check the exports on zero test windows")
    rng = np.random.default_rng(seed)
    pick = rng.choice(train_windows.n_windows, size=min(representative_size, train_windows.n_windows), replace=False)
    representative = train_windows.X[np.sort(pick)]
    versions = converter_versions()
    keras_label = f"Keras {versions['keras']} / TensorFlow {versions['tensorflow']}"
    if reference is None:
        reference = predict_proba(model, normalizer.transform(test_windows.X))
    labelled = test_windows.y >= 0
    window_shape = [int(d) for d in model.input_shape[1:]]

    built = [
        (LITERT, FLOAT32, to_litert(model, normalizer),
         f"{keras_label}: Model.export(format='litert'), builtin ops only, LSTMs unrolled",
         ["LSTMs rebuilt with unroll=True (same weights, checked on probe windows): Keras' while_loop LSTM "
          "becomes a WHILE op, which XNNPACK does not delegate and the int8 converter crashes on."]),
        (LITERT, INT8, to_litert(model, normalizer, representative),
         f"{keras_label}: Model.export(format='litert'), TFLITE_BUILTINS_INT8, "
         f"{len(representative)} representative training windows",
         ["Full-integer int8 inside; input and output stay float32 (QUANTIZE/DEQUANTIZE at the edges), "
          "so the device feeds raw units and reads probabilities."]),
        (ONNX, FLOAT32, to_onnx(model, normalizer),
         f"{keras_label}: tf2onnx {versions.get('tf2onnx', '?')} from_function, opset {ONNX_OPSET}",
         ["Original (not unrolled) graph; the BiLSTM maps to ONNX LSTM ops. Dynamic batch."]),
    ]
    exports = []
    for format, precision, content, converter, notes in built:
        info = facts(format, content)
        probabilities = predict(format, content, test_windows.X)
        report = evaluate_predictions(test_windows.y[labelled], probabilities[labelled].argmax(axis=1),
                                      test_windows.class_names)
        bench = benchmark(format, content, test_windows.X, runs=benchmark_runs)
        if format == LITERT:  # what a microcontroller needs: flash for constants, RAM for activations
            bench["constants_kb"] = round(info["constant_bytes"] / 1024.0, 1)
            bench["activation_kb_upper_bound"] = round(info["activation_bytes"] / 1024.0, 1)
        exports.append(ExportedModel(
            format=format, precision=precision, content=content, preprocessing=spec, ops=info["ops"],
            converter=converter, input_shape=[1 if format == LITERT else None, *window_shape],
            parity=parity(reference, probabilities), benchmark=bench,
            evaluation={"accuracy": report.accuracy, "macro_f1": report.macro_f1, "n_windows": report.n_windows},
            tensor_dtypes=info["tensor_dtypes"], notes=notes,
        ))
    return exports


def summary_rows(exports: Sequence[ExportedModel]) -> List[Dict[str, Any]]:
    """One row per export: the firmware-facing figures."""
    return [{
        "export": e.name,
        "file": e.file_name,
        "size KB": round(e.size_kb, 1),
        "latency ms (median)": round(float(e.benchmark.get("latency_ms_median", float("nan"))), 3),
        "peak memory KB": e.benchmark.get("peak_memory_kb"),
        "activation KB (upper bound)": e.benchmark.get("activation_kb_upper_bound"),
        "top-1 agreement": e.parity.get("top1_agreement"),
        "max prob diff": e.parity.get("max_prob_diff"),
        "accuracy": e.evaluation.get("accuracy"),
        "macro-F1": e.evaluation.get("macro_f1"),
        "TFLM ops": ("yes" if not e.tflm_unsupported_ops else "no") if e.format == LITERT else "n/a",
        "device class": e.device_class,
    } for e in exports]


if __name__ == "__main__":  # the benchmark subprocess: python -m har.export bench FORMAT MODEL WINDOWS RUNS THREADS
    if len(sys.argv) != 7 or sys.argv[1] != "bench":
        sys.exit("usage: python -m har.export bench {litert,onnx} MODEL_PATH WINDOWS_NPY RUNS THREADS")
    print(json.dumps(_bench_main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))))
