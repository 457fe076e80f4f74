"""Cut the validated samples into labelled fixed-length windows."""

from typing import Annotated

import pandas as pd
from zenml import step
from zenml.logger import get_logger

from har.config import DataConfig, Schema, channel_names
from har.types import DataQualityReport, WindowedDataset
from har.windowing import make_windows

logger = get_logger(__name__)


@step
def window_recordings(
    sensor_data: pd.DataFrame,
    quality_report: DataQualityReport,
    data_config: DataConfig,
    data_schema: Schema,
    keep_unlabelled: bool = False,
) -> Annotated[WindowedDataset, "windows"]:
    """Vectorised sliding windows with one label per window (config's policy).

    Args:
        sensor_data: Output of `ingest_recordings`.
        quality_report: Output of `validate_sensor_data`; windows are only
            cut from data that passed.
        data_config: Window size, overlap and label policy.
        data_schema: Gives the channel names.
        keep_unlabelled: Keep windows without a label (inference) as -1.

    Returns:
        All windows of all recordings.
    """
    if not quality_report.passed:
        raise ValueError("refusing to window data that failed validation; see the data quality report")
    windows = make_windows(sensor_data, data_config, channel_names(data_config, data_schema),
                           keep_unlabelled=keep_unlabelled)
    if windows.n_windows == 0:
        raise ValueError(
            f"no window of {data_config.window_size} samples fits in the data "
            f"(label policy '{data_config.label_policy}'); recordings are too short or unlabelled "
            f"({len(quality_report.skipped)} part(s), {quality_report.skipped_seconds:.1f} s, were skipped: "
            "see the data quality report)"
        )
    logger.info("Cut %d windows of %d x %d (step %d); class counts %s", windows.n_windows,
                windows.window_size, len(windows.channel_names), windows.step, windows.class_counts())
    return windows
