"""ZenML materializers for the project's artifact types (portable formats, no pickle).

| class                            | type                | files                                  |
|----------------------------------|---------------------|----------------------------------------|
| WindowedDatasetMaterializer      | WindowedDataset     | X/y/recording_ids/subjects/start_times |
|                                  |                     | .npy + meta.json                       |
| KerasModelMaterializer           | keras.Model         | model.keras + meta.json                |
| ChannelNormalizerMaterializer    | ChannelNormalizer   | normalizer.json                        |
| CrossValidationReportMaterializer| CrossValidation-    | cross_validation.json                  |
|                                  | Report              |                                        |
| DataQualityReportMaterializer    | DataQualityReport   | report.json                            |
| EvaluationReportMaterializer     | EvaluationReport    | evaluation.json                        |
| ExportedModelMaterializer        | ExportedModel       | model_<precision>.tflite/.onnx +       |
|                                  |                     | export.json                            |
| ServingConfigMaterializer        | ServingConfig       | serving_config.json                    |

`KerasModelMaterializer` is resolved lazily (PEP 562) so that importing this
package, e.g. from a data step, does not import keras/TensorFlow. Importing a
materializer module registers it for its type in ZenML's registry; steps
should still name them explicitly via `output_materializers`.
"""

from __future__ import annotations

from typing import Any

from materializers.cross_validation_report_materializer import CrossValidationReportMaterializer
from materializers.data_quality_report_materializer import DataQualityReportMaterializer
from materializers.drift_verdict_materializer import DriftVerdictMaterializer
from materializers.evaluation_report_materializer import EvaluationReportMaterializer
from materializers.exported_model_materializer import ExportedModelMaterializer
from materializers.normalizer_materializer import ChannelNormalizerMaterializer
from materializers.serving_config_materializer import ServingConfigMaterializer
from materializers.windowed_dataset_materializer import WindowedDatasetMaterializer

__all__ = [
    "ChannelNormalizerMaterializer",
    "CrossValidationReportMaterializer",
    "DataQualityReportMaterializer",
    "DriftVerdictMaterializer",
    "EvaluationReportMaterializer",
    "ExportedModelMaterializer",
    "KerasModelMaterializer",
    "ServingConfigMaterializer",
    "WindowedDatasetMaterializer",
]


def __getattr__(name: str) -> Any:
    if name == "KerasModelMaterializer":
        from materializers.keras_model_materializer import KerasModelMaterializer

        return KerasModelMaterializer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
