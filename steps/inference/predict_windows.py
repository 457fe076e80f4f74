"""Predict an activity for every window with the production model."""

from typing import Annotated

import numpy as np
import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from har.evaluation import evaluate_predictions
from har.families import ModelFamily
from har.serving import ServingConfig
from har.types import WindowedDataset

logger = get_logger(__name__)


@step
def predict_windows(
    trained_model: ModelFamily,
    serving_config: ServingConfig,
    windows: WindowedDataset,
) -> Annotated[pd.DataFrame, "predictions"]:
    """One row per window: recording, start time, label, class probabilities, model version (+ true label).

    When the input had labels, accuracy and macro-F1 on the labelled windows
    are logged as metadata.

    Args:
        trained_model: The production model.
        serving_config: Its serving contract (the training normaliser).
        windows: Windows of the new data (label -1 where unknown).

    Returns:
        The predictions table.
    """
    normalizer = serving_config.normalizer()
    if windows.channel_names != normalizer.channel_names:
        raise ValueError(f"the data has channels {windows.channel_names}, the model expects "
                         f"{normalizer.channel_names}")
    version = str(get_step_context().model.version)
    probabilities = trained_model.predict_proba(normalizer.transform(windows.X))
    best = probabilities.argmax(axis=1)
    names = np.asarray(windows.class_names)
    table = pd.DataFrame({
        "recording_id": windows.recording_ids,
        "subject": windows.subjects,
        "window_start_s": windows.start_times,
        "window_start": pd.to_datetime(windows.start_times, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "label": names[best],
        **{f"p_{name}": probabilities[:, i] for i, name in enumerate(windows.class_names)},
        "model_version": version,
        "true_label": np.where(windows.y >= 0, names[np.clip(windows.y, 0, None)], ""),
    })
    labelled = windows.y >= 0
    metadata = {"n_windows": len(table), "n_labelled": int(labelled.sum()), "model_version": version,
                "label_counts": {str(k): int(v) for k, v in table["label"].value_counts().items()}}
    if labelled.any():
        report = evaluate_predictions(windows.y[labelled], best[labelled], windows.class_names)
        metadata.update(accuracy=report.accuracy, macro_f1=report.macro_f1)
        logger.info("Labelled input: accuracy %.4f, macro-F1 %.4f on %d windows", report.accuracy, report.macro_f1,
                    int(labelled.sum()))
    log_metadata(metadata=metadata, infer_artifact=True)
    return table
