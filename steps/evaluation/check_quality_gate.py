"""Stop the run when the model is not good enough to be considered."""

from zenml import step

from har.evaluation import most_confused
from har.outcomes import QualityGateFailed
from har.types import EvaluationReport


@step
def check_quality_gate(evaluation_report: EvaluationReport, min_macro_f1: float = 0.9) -> bool:
    """Fail with the score, the threshold and the model version if macro-F1 is too low.

    A separate step, so the evaluation report is saved (and visible) even
    when the gate fails.

    Args:
        evaluation_report: Output of `evaluate_model`.
        min_macro_f1: The minimum test macro-F1.

    Returns:
        True when the gate passes.
    """
    if evaluation_report.macro_f1 < min_macro_f1:
        raise QualityGateFailed(
            f"Quality gate failed for model version {evaluation_report.model_version}: test macro-F1 "
            f"{evaluation_report.macro_f1:.4f} < required {min_macro_f1:.4f} "
            f"(accuracy {evaluation_report.accuracy:.4f}; most confused: "
            f"{', '.join(most_confused(evaluation_report)) or 'none'}).\n"
            "The version was not promoted. Improve the data or the model, or lower "
            "steps.check_quality_gate.parameters.min_macro_f1 in a copy of configs/train.yaml (--config)."
        )
    return True
