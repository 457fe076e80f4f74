"""Promote the new model version to production only if it beats the current one."""

from typing import Annotated, Any, Dict, List, Tuple

import keras
import numpy as np
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger
from zenml.types import HTMLString

from har.config import DataConfig
from har.evaluation import evaluate_predictions
from har.html_tables import banner, page, paragraph, table_from_records
from har.modeling import predict_proba
from har.types import ChannelNormalizer, EvaluationReport, WindowedDataset

logger = get_logger(__name__)


def _production_score(test_windows: WindowedDataset, production: Any) -> tuple[float | None, str]:
    """Macro-F1 of the production version on *this* run's test windows."""
    prod_normalizer: ChannelNormalizer = production.get_artifact("normalizer").load()
    prod_model: keras.Model = production.get_artifact("trained_model").load()
    if prod_normalizer.channel_names != test_windows.channel_names or int(prod_model.output_shape[-1]) != len(
        test_windows.class_names
    ) or tuple(prod_model.input_shape[1:]) != test_windows.X.shape[1:]:
        return None, "production model uses other channels, classes or window size; not comparable"
    probabilities = predict_proba(prod_model, prod_normalizer.transform(test_windows.X))
    report = evaluate_predictions(test_windows.y, np.argmax(probabilities, axis=1), test_windows.class_names)
    return report.macro_f1, "compared on this run's test split"


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
    test_windows: WindowedDataset,
    evaluation_report: EvaluationReport,
    data_config: DataConfig,
    target_stage: str = "production",
    min_improvement: float = 0.0,
) -> Tuple[Annotated[Dict[str, Any], "promotion_decision"], Annotated[HTMLString, "model_versions"]]:
    """Compare with the current production version on the same test data and promote if better.

    Args:
        test_windows: This run's test split; the production model is re-scored on it.
        evaluation_report: This run's model scores.
        data_config: The data settings the model was trained with; recorded on the model version
            because serving needs them (rate, window, merge tolerance).
        target_stage: Stage to promote to.
        min_improvement: The new macro-F1 must beat production's by more than this. 0 (training): strictly
            better. The retraining config allows a small negative margin: the retrained model has seen the
            new data, which the test split (of all subjects) under-represents.

    Returns:
        The decision with both scores (also logged as model-version metadata), and a table of the
        model's versions and stages after it (`model_versions`, an HTML visualization).
    """
    model = get_step_context().model
    new_score = evaluation_report.macro_f1
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
        prod_score, how = _production_score(test_windows, production)
        if prod_score is None:
            # A model for another activity set or sensor layout is not a better version of this
            # one; it belongs under its own model name (each dataset profile in configs/datasets/ names its own model).
            promote, reason = False, f"{how}; use a different model name for a different data setup"
        else:
            promote = new_score > prod_score + min_improvement
            margin = f" {min_improvement:+.4f}" if min_improvement else ""
            reason = (f"new macro-F1 {new_score:.4f} {'>' if promote else '<='} {target_stage} "
                      f"version {prod_version} {prod_score:.4f}{margin} ({how})")
    decision = {
        "promoted": promote,
        "reason": reason,
        "candidate_version": str(model.version),
        "candidate_macro_f1": new_score,
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
