"""Read every recording of a data directory into one resampled table and report what ingestion found."""

from typing import Annotated, Tuple

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

from har.config import DataConfig, Schema
from har.ingest import ingest_recordings as ingest
from har.types import DataQualityReport

logger = get_logger(__name__)


@step
def ingest_recordings(
    data_dir: str,
    data_fingerprint: str,
    data_config: DataConfig,
    data_schema: Schema,
    require_labels: bool = True,
) -> Tuple[Annotated[pd.DataFrame, "sensor_data"], Annotated[DataQualityReport, "ingest_report"]]:
    """Parse, check and merge the sensor files, resampled to the configured rate.

    Row-level problems (bad values, timestamps, labels) fail here because only
    the raw files know their line numbers; the error lists every problem found.
    Gaps, too-short recordings and segments are warnings and skipped data in
    `ingest_report`, which `validate_sensor_data` merges into its report.

    Args:
        data_dir: Folder with one sub-folder per recording.
        data_fingerprint: Content hash of `data_dir`; part of the cache key so
            changed files are never served from cache.
        data_config: Rate, streams and activities.
        data_schema: The data contract (`configs/schema.yaml`).
        require_labels: Training needs `labels.csv` in every recording.

    Returns:
        One row per resampled sample of every used recording, and the
        ingestion findings (per-recording facts, warnings, skipped data).
    """

    def progress(done: int, total: int, recording_id: str) -> None:
        if done == total or done % max(1, total // 10) == 0:  # about every 10 %, every recording when few
            logger.info("Ingesting recordings: %d/%d (%d%%), last: %s", done, total, 100 * done // total, recording_id)

    sensor_data, report = ingest(
        data_dir, data_config, data_schema, require_labels=require_labels, progress=progress
    )
    logger.info(
        "Ingested %d recordings, %d samples at %.1f Hz from %s; %d warning(s), %d skipped (%.1f s)",
        len(report.recordings), len(sensor_data), data_config.sampling_rate_hz, data_dir,
        len(report.warnings), len(report.skipped), report.skipped_seconds,
    )
    shown = 5  # the console shows a few; the data_quality_report artifact lists every one
    for warning in report.warnings[:shown]:
        logger.warning("%s", warning)
    if len(report.warnings) > shown:
        logger.warning("... and %d more warning(s): see the data_quality_report artifact in the dashboard",
                       len(report.warnings) - shown)
    log_metadata(
        metadata={
            "data_dir": str(data_dir),
            "data_fingerprint": data_fingerprint,
            "n_recordings": len(report.recordings),
            "n_samples": int(len(sensor_data)),
            "sampling_rate_hz": float(data_config.sampling_rate_hz),
            "n_warnings": len(report.warnings),
            "n_skipped": len(report.skipped),
            "recordings": {str(f["recording_id"]): f for f in report.recordings},
        },
        artifact_name="sensor_data",
        infer_artifact=True,
    )
    return sensor_data, report
