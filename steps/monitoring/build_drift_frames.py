"""Per-window features and predicted activities for the reference and the current data."""

from typing import Annotated, Tuple

import numpy as np
import pandas as pd
from zenml import step

from har.drift import SUBJECT_COLUMN, drift_frame
from har.families import ModelFamily
from har.serving import ServingConfig
from har.types import ChannelNormalizer, WindowedDataset


def _frame(windows: WindowedDataset, model: ModelFamily, normalizer: ChannelNormalizer) -> pd.DataFrame:
    predicted = np.asarray(windows.class_names)[model.predict_proba(normalizer.transform(windows.X)).argmax(axis=1)]
    return drift_frame(windows, predicted)


@step
def build_drift_frames(
    reference_windows: WindowedDataset,
    calibration_windows: WindowedDataset,
    current_windows: WindowedDataset,
    trained_model: ModelFamily,
    serving_config: ServingConfig,
) -> Tuple[
    Annotated[pd.DataFrame, "reference_features"],
    Annotated[pd.DataFrame, "calibration_features"],
    Annotated[pd.DataFrame, "current_features"],
]:
    """Features (per channel: mean, std, min, max, energy, dominant frequency) and model predictions.

    Data that cannot be compared (other channels, rate or window) is an error
    here, not "drift".

    Args:
        reference_windows: The windows the production model was trained on.
        calibration_windows: Its test windows: people it never trained on, same sensors (what "no drift" looks like).
        current_windows: Windows of the new data.
        trained_model: The production model (for prediction drift).
        serving_config: Its serving contract (the training normaliser).

    Returns:
        Reference, calibration (with a subject column) and current feature tables, each with a
        predicted-activity column.
    """
    for what, ref, cur in (("channels", reference_windows.channel_names, current_windows.channel_names),
                           ("sample rate (Hz)", reference_windows.sample_rate_hz, current_windows.sample_rate_hz),
                           ("window size", reference_windows.window_size, current_windows.window_size)):
        if ref != cur:
            raise ValueError(f"incompatible current data: {what} {cur} vs {ref} in the reference; this is a data "
                             "problem, not drift. Re-ingest with the production model's data settings.")
    normalizer = serving_config.normalizer()
    calibration = _frame(calibration_windows, trained_model, normalizer)
    calibration[SUBJECT_COLUMN] = calibration_windows.subjects
    return (_frame(reference_windows, trained_model, normalizer), calibration,
            _frame(current_windows, trained_model, normalizer))
