"""The retraining pipeline's first step: is retraining needed? The pipeline ends early when not."""

from typing import Annotated

from zenml import log_metadata, step
from zenml.logger import get_logger

from har.drift import DriftVerdict
from har.retraining import recording_ids, retraining_decision
from har.types import DataQualityReport

logger = get_logger(__name__)


@step(enable_cache=False)
def decide_retraining(
    new_data_report: DataQualityReport,
    drift_verdict: DriftVerdict | None = None,
    require_drift: bool = True,
) -> Annotated[bool, "retrain"]:
    """Retrain when the production version's latest drift check flagged drift and labelled data arrived.

    Args:
        new_data_report: Ingestion's report of the new labelled recordings.
        drift_verdict: The production version's latest `drift_verdict` (None: no drift run yet).
        require_drift: False retrains on every delivery of labelled data (e.g. from a schedule).

    Returns:
        Whether the pipeline goes on to train, evaluate, promote (and redeploy).
    """
    detected = None if drift_verdict is None else bool(drift_verdict.drift_detected)
    summary = "" if drift_verdict is None else drift_verdict.summary()
    retrain, reason = retraining_decision(detected, summary, require_drift, len(recording_ids(new_data_report)))
    logger.info("Retraining %s: %s", "needed" if retrain else "not needed", reason)
    log_metadata(metadata={"retrain": retrain, "reason": reason,
                           "new_recordings": recording_ids(new_data_report)[:100]})
    return retrain
