"""Score the final model on the held-out test subjects (beside the cross-validation, never instead of it)."""

from typing import Annotated

import mlflow
import numpy as np
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from har.evaluation import evaluate_predictions, most_confused
from har.families import ModelFamily
from har.types import ChannelNormalizer, EvaluationReport, WindowedDataset

logger = get_logger(__name__)


@step
def evaluate_model(
    model: ModelFamily,
    test_windows: WindowedDataset,
    normalizer: ChannelNormalizer,
) -> Annotated[EvaluationReport, "evaluation_report"]:
    """Accuracy, macro-F1, per-class precision/recall and the confusion matrix.

    Args:
        model: The final model (any family).
        test_windows: Windows of subjects never seen in training.
        normalizer: The training normalizer.

    Returns:
        The report (the dashboard shows its confusion matrix); its scores are
        also attached to the model version and the MLflow run.
    """
    probabilities = model.predict_proba(normalizer.transform(test_windows.X))
    report = evaluate_predictions(
        test_windows.y, np.argmax(probabilities, axis=1), test_windows.class_names,
        model_version=str(get_step_context().model.version),
    )
    logger.info("Test accuracy %.4f, macro-F1 %.4f on %d windows; most confused: %s",
                report.accuracy, report.macro_f1, report.n_windows, most_confused(report) or "none")
    scores = {"test_accuracy": report.accuracy, "test_macro_f1": report.macro_f1}
    log_metadata(metadata=scores, infer_model=True)
    if mlflow.active_run() is not None:
        mlflow.log_metrics(scores)
        mlflow.log_metrics({f"test_f1_{name}": v["f1"] for name, v in report.per_class.items()})
    return report
