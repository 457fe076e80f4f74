"""Export the trained model for devices (LiteRT float32/int8, ONNX), check parity, report the figures."""

from typing import Annotated, Tuple

from zenml import ArtifactConfig, get_step_context, log_metadata, step
from zenml.enums import ArtifactType
from zenml.logger import get_logger
from zenml.types import HTMLString

from har.config import DataConfig, Schema
from har.export import ExportedModel, check_parity, export_all, preprocessing_spec
from har.families import ModelFamily
from har.types import ChannelNormalizer, WindowedDataset
from materializers.exported_model_materializer import ExportedModelMaterializer, export_report_html

logger = get_logger(__name__)


def _model_artifact(name: str) -> ArtifactConfig:
    return ArtifactConfig(name=name, artifact_type=ArtifactType.MODEL)


@step(output_materializers={"litert_float32": ExportedModelMaterializer, "litert_int8": ExportedModelMaterializer,
                            "onnx_float32": ExportedModelMaterializer})
def export_model(
    model: ModelFamily,
    normalizer: ChannelNormalizer,
    train_windows: WindowedDataset,
    test_windows: WindowedDataset,
    data_config: DataConfig,
    data_schema: Schema,
    min_agreement: float = 0.99,
    min_int8_agreement: float | None = None,
    representative_size: int = 300,
    benchmark_runs: int = 200,
) -> Tuple[
    Annotated[ExportedModel, _model_artifact("litert_float32")],
    Annotated[ExportedModel, _model_artifact("litert_int8")],
    Annotated[ExportedModel, _model_artifact("onnx_float32")],
    Annotated[HTMLString, "export_report"],
]:
    """LiteRT (float32, int8) and ONNX files that take raw sensor units, each checked against the model.

    Args:
        model: The final model; its family's Keras graph (`export_graph`) is converted, and every export is
            checked against the model's own probabilities.
        normalizer: The training normalizer (folded into every export).
        train_windows: Training split; a seeded sample is the int8 representative set.
        test_windows: Test split for parity, accuracy/macro-F1 and benchmark inputs.
        data_config: The run's data settings (gravity in the accelerometer or not).
        data_schema: The run's schema (channel units).
        min_agreement: Minimum top-1 agreement with the model on the test windows, per export.
        min_int8_agreement: The same for the int8 export (None: `min_agreement`). Quantisation moves
            MiniRocket's convolution outputs onto its feature thresholds: 0.945-0.985 measured there.
        representative_size: Training windows used to calibrate int8 quantization.
        benchmark_runs: Single-window invocations timed per export.

    Returns:
        The three exports (linked to the model version) and a comparison page.

    Raises:
        ExportParityError: An export agrees with the model on fewer than its bound of the test windows.
    """
    spec = preprocessing_spec(train_windows, normalizer, data_schema,
                              linear_acceleration=data_config.linear_acceleration)
    graph = model.export_graph()
    if graph is None:
        raise ValueError(f"model family '{model.name}' has no exportable graph; choose an exportable family")
    exports = export_all(graph, normalizer, train_windows, test_windows, spec,
                         representative_size=representative_size, benchmark_runs=benchmark_runs,
                         reference=model.predict_proba(normalizer.transform(test_windows.X)))
    context = get_step_context()
    version = str(context.model.version) if context.model else None
    for export in exports:
        logger.info("%s: %.1f KB, top-1 agreement %.4f, max prob diff %.2g, accuracy %.4f, %.3f ms/window, "
                    "peak %d KB", export.name, export.size_kb, export.parity["top1_agreement"],
                    export.parity["max_prob_diff"], export.evaluation["accuracy"],
                    export.benchmark["latency_ms_median"], export.benchmark["peak_memory_kb"])
    summary = {e.name: {"size_kb": round(e.size_kb, 2), "top1_agreement": e.parity["top1_agreement"],
                        "max_prob_diff": e.parity["max_prob_diff"], "test_accuracy": e.evaluation["accuracy"],
                        "test_macro_f1": e.evaluation["macro_f1"],
                        "latency_ms_median": e.benchmark["latency_ms_median"],
                        "peak_memory_kb": e.benchmark["peak_memory_kb"], "tflm_compatible": e.tflm_compatible}
               for e in exports}
    if context.model:
        log_metadata(metadata={"exports": summary}, infer_model=True)
    check_parity(exports, min_agreement, model_version=version, min_int8_agreement=min_int8_agreement)
    report = HTMLString(export_report_html(exports, title="On-device exports", model_version=version))
    by_name = {e.name: e for e in exports}
    return by_name["litert_float32"], by_name["litert_int8"], by_name["onnx_float32"], report
