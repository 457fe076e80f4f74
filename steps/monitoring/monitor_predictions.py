"""Label-free monitors: low-confidence share, prediction change rate, activity-mix shift vs. the reference."""

from typing import Annotated, Any, Dict

import numpy as np
from zenml import log_metadata, step
from zenml.logger import get_logger

from har.families import ModelFamily
from har.monitors import MonitorsConfig, Predictions, monitor_report
from har.serving import ServingConfig
from har.types import WindowedDataset

logger = get_logger(__name__)


def _predictions(windows: WindowedDataset, probabilities: np.ndarray) -> Predictions:
    return Predictions(probabilities, windows.recording_ids, windows.start_times)


@step
def monitor_predictions(
    reference_windows: WindowedDataset,
    calibration_windows: WindowedDataset,
    current_windows: WindowedDataset,
    trained_model: ModelFamily,
    serving_config: ServingConfig,
    source: str,
    served_probabilities: np.ndarray | None = None,
    monitors: MonitorsConfig = MonitorsConfig(),
) -> Annotated[Dict[str, Any], "monitor_report"]:
    """Each monitor on the current windows and on the reference, against the thresholds of `monitors`.

    Args:
        reference_windows: The training windows (their labels give the training activity mix).
        calibration_windows: The held-out test windows: the reference predictions (people the model never
            trained on, same sensors).
        current_windows: The windows to check (recording id = stream, start time = order).
        trained_model: The production model.
        serving_config: Its serving contract (the normaliser).
        source: What the current windows are ("folder <path>" or the serving log's description).
        served_probabilities: What the service answered for the current windows (serving log); None: the
            production model predicts them here.
        monitors: Thresholds (`steps.monitor_predictions.parameters.monitors` in configs/drift.yaml).

    Returns:
        The monitor report (plain JSON values) that `detect_drift` adds to the verdict.
    """
    normalizer = serving_config.normalizer()
    if served_probabilities is None:
        served_probabilities = trained_model.predict_proba(normalizer.transform(current_windows.X))
    if served_probabilities.shape != (current_windows.n_windows, len(current_windows.class_names)):
        raise ValueError(f"served_probabilities has shape {served_probabilities.shape}; expected "
                         f"({current_windows.n_windows}, {len(current_windows.class_names)})")
    reference = trained_model.predict_proba(normalizer.transform(calibration_windows.X))
    report = monitor_report(_predictions(current_windows, served_probabilities),
                            _predictions(calibration_windows, reference), list(reference_windows.class_names),
                            reference_windows.class_counts(), monitors, source)
    for result in report["results"]:
        logger.info("%s%s: %s", result["name"], " ALERT" if result["alert"] else "", result["explanation"])
    log_metadata(metadata={"source": source, **{r["name"]: r["value"] for r in report["results"]},
                           "alerts": ", ".join(r["name"] for r in report["results"] if r["alert"])},
                 infer_artifact=False)
    return report
