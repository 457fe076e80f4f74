"""Stop the run when the recipe is not good enough, judged by subject-wise cross-validation."""

from zenml import get_step_context, step

from har.outcomes import QualityGateFailed
from har.types import CrossValidationReport


@step
def check_quality_gate(cv_report: CrossValidationReport, min_macro_f1: float = 0.9) -> bool:
    """Fail with the CV score, its spread, the weakest subject and the threshold if the CV mean is too low.

    It decides on the mean over subject folds, not on one split of a few people, and runs before the
    final fit: a recipe that fails costs no further training. A separate step, so the report is saved
    (and visible) even when the gate fails.

    Args:
        cv_report: Output of `cross_validate_model` (or the search's choice).
        min_macro_f1: The minimum mean CV macro-F1.

    Returns:
        True when the gate passes.
    """
    mean = cv_report.mean("macro_f1")
    if mean < min_macro_f1:
        model = get_step_context().model
        version = f"model version {model.version}" if model else "this model"
        per_class = cv_report.per_class_f1
        weakest = ", ".join(f"{name} {f1:.2f}" for name, f1 in sorted(per_class.items(), key=lambda kv: kv[1])[:2])
        raise QualityGateFailed(
            f"Quality gate failed for {version} ({cv_report.family}): CV macro-F1 {mean:.4f} +- "
            f"{cv_report.std('macro_f1'):.4f} over {cv_report.n_folds} subject folds < required "
            f"{min_macro_f1:.4f} (weakest subject {cv_report.worst_subject} "
            f"{cv_report.worst_subject_macro_f1:.2f}; weakest classes {weakest or 'none'}).\n"
            "The version was not promoted. Search the families (python run.py --pipeline search), add "
            "recordings of more people, or lower steps.check_quality_gate.parameters.min_macro_f1 in a copy "
            "of configs/train.yaml (--config)."
        )
    return True
