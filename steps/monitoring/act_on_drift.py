"""Apply the drift policy: retrain, alert or nothing."""

from typing import Annotated, Literal

from zenml import log_metadata, step
from zenml.logger import get_logger

from har.drift import DriftVerdict
from har.outcomes import DriftDetected

logger = get_logger(__name__)


@step(enable_cache=False)
def act_on_drift(
    drift_verdict: DriftVerdict,
    on_drift: Literal["retrain", "alert", "none"] = "alert",
) -> Annotated[str, "drift_action"]:
    """`alert` fails the run with the summary; `retrain` asks run.py to retrain on reference + new data.

    Retraining runs after this pipeline (run.py starts the training pipeline
    on the reference recordings plus the new labelled ones) and its promotion
    step decides whether the new model replaces production.

    Args:
        drift_verdict: Output of `detect_drift`.
        on_drift: Policy when drift is detected.

    Returns:
        The action taken: "none", "retrain" or (never returned) the alert.
    """
    action = on_drift if drift_verdict.drift_detected else "none"
    log_metadata(metadata={"action": action, "policy": on_drift})
    if action == "alert":
        raise DriftDetected(f"Data drift detected: {drift_verdict.summary()}.\nPolicy on_drift=alert: see the "
                            "drift_report and drift_verdict artifacts in the dashboard; to retrain on labelled new "
                            "data instead, set on_drift: retrain in a copy of configs/drift.yaml (--config).")
    logger.info("Drift policy %s -> action %s (%s)", on_drift, action, drift_verdict.summary())
    return action
