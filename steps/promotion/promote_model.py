"""Promote the new model version to production only if its subject-wise CV score beats the current one's."""

from typing import Annotated, Any, Dict, List, Tuple

from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger
from zenml.types import HTMLString

from har.config import DataConfig
from har.html_tables import banner, page, paragraph, table_from_records
from har.types import CrossValidationReport, EvaluationReport

logger = get_logger(__name__)


def _production_score(production: Any, data_config: DataConfig) -> tuple[bool, float | None, str]:
    """(comparable, CV macro-F1 recorded at its training or None, how): the production version's score."""
    metadata = production.run_metadata
    recorded = metadata.get("data_config")
    if recorded:
        theirs = DataConfig.model_validate(recorded)
        if [theirs.activities, theirs.streams, theirs.window_size, theirs.sampling_rate_hz] != [
                data_config.activities, data_config.streams, data_config.window_size, data_config.sampling_rate_hz]:
            return False, None, "production model uses other activities, sensors, window or rate; not comparable"
    score = metadata.get("cv_macro_f1_mean")
    if score is None:
        return True, None, "production version has no cross-validation score (trained before subject-wise CV)"
    return True, float(score), "both subject-wise cross-validation means"


def _versions_page(model_name: str, candidate: str, decision: Dict[str, Any], limit: int = 50) -> HTMLString:
    """The model's versions and their stages after this decision, for the dashboard.

    ZenML's open-source dashboard has no Model pages (they are a ZenML Pro
    feature), so the versions table travels with every training run instead.
    """
    versions = Client().list_model_versions(model=model_name, sort_by="desc:number", size=limit)
    rows: List[Dict[str, Any]] = []
    for version in versions.items:
        metadata = version.run_metadata
        rows.append({
            "version": version.number,
            "stage": version.stage or "",
            "CV macro-F1": metadata.get("cv_macro_f1_mean"),
            "family": (metadata.get("recipe") or {}).get("family", ""),
            "test macro-F1": metadata.get("test_macro_f1"),
            "test accuracy": metadata.get("test_accuracy"),
            "created": version.created.strftime("%Y-%m-%d %H:%M:%S"),
            "": "this run" if str(version.number) == candidate else "",
        })
    verdict = (f"Version {candidate} promoted to {decision['stage']}" if decision["promoted"]
               else f"Version {candidate} not promoted")
    return HTMLString(page(
        f"Model {model_name}: versions",
        banner(verdict, ok=decision["promoted"]),
        paragraph(decision["reason"]),
        table_from_records(rows, caption=f"Latest {min(limit, versions.total)} of {versions.total} versions "
                                         "(stages as of this run)",
                           row_class=lambda row: "total" if row["stage"] == "production" else None),
        paragraph("All versions: zenml model version list --model " + model_name, muted=True),
    ))


@step(enable_cache=False)  # depends on the current production version, which changes outside this run
def promote_model(
    cv_report: CrossValidationReport,
    evaluation_report: EvaluationReport,
    data_config: DataConfig,
    target_stage: str = "production",
    min_improvement: float = 0.0,
) -> Tuple[Annotated[Dict[str, Any], "promotion_decision"], Annotated[HTMLString, "model_versions"]]:
    """Promote if the new version's CV macro-F1 beats the current production version's.

    Both figures are means over subject folds (`cross_validate_model`), not one split of a few people.
    The held-out test score is recorded beside them.

    Args:
        cv_report: The cross-validation of this version's recipe.
        evaluation_report: The final model on the held-out test subjects (recorded, not decisive).
        data_config: The data settings the model was trained with; recorded on the model version
            because serving needs them (rate, window, merge tolerance).
        target_stage: Stage to promote to.
        min_improvement: The new CV macro-F1 must beat production's by more than this. 0 (training): strictly
            better. The retraining config allows a small negative margin: the retrained model's folds include
            the new people, whose data differs.

    Returns:
        The decision with both scores (also logged as model-version metadata), and a table of the
        model's versions and stages after it (`model_versions`, an HTML visualization).
    """
    model = get_step_context().model
    new_score = cv_report.mean("macro_f1")
    try:
        production = Client().get_model_version(model.name, ModelStages(target_stage))
    except KeyError:
        production = None

    prod_version, prod_score = None, None
    if production is None:
        promote, reason = True, f"no {target_stage} version yet"
    elif str(production.id) == str(model.id):
        promote, reason = False, f"this version is already {target_stage}"
        prod_version, prod_score = production.name, new_score
    else:
        prod_version = production.name
        comparable, prod_score, how = _production_score(production, data_config)
        if not comparable:
            # A model for another activity set or sensor layout is not a better version of this
            # one; it belongs under its own model name (each dataset profile in configs/datasets/ names its own model).
            promote, reason = False, f"{how}; use a different model name for a different data setup"
        elif prod_score is None:
            promote, reason = True, f"{how}; the cross-validated version replaces it"
        else:
            promote = new_score > prod_score + min_improvement
            margin = f" {min_improvement:+.4f}" if min_improvement else ""
            reason = (f"new CV macro-F1 {new_score:.4f} {'>' if promote else '<='} {target_stage} "
                      f"version {prod_version} {prod_score:.4f}{margin} ({how})")
    decision = {
        "promoted": promote,
        "reason": reason,
        "candidate_version": str(model.version),
        "candidate_macro_f1": new_score,
        "candidate_family": cv_report.family,
        "candidate_test_macro_f1": evaluation_report.macro_f1,
        "previous_version": prod_version,
        "previous_macro_f1": prod_score,
        "stage": target_stage,
    }
    # Everything inference needs is recorded before the stage changes: a crash in between must not leave
    # a production version without its data_config (which batch inference and drift refuse).
    metadata = {"promotion": {k: v for k, v in decision.items() if v is not None},
                "data_config": data_config.model_dump()}
    if promote:  # what `mlops.rollout.rollback` restores: the version that was production before this one
        metadata["previous_production_version"] = str(production.number) if production else "none"
    log_metadata(metadata=metadata, infer_model=True)
    if promote:
        model.set_stage(target_stage, force=True)
    logger.info("Promotion: %s — %s", "PROMOTED" if promote else "not promoted", reason)
    return decision, _versions_page(model.name, str(model.version), decision)
