"""Read every recording of a data directory into one resampled table."""

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

from har.config import DataConfig, Schema
from har.ingest import ingest_recordings as ingest

logger = get_logger(__name__)


@step
def ingest_recordings(
    data_dir: str,
    data_fingerprint: str,
    data_config: DataConfig,
    data_schema: Schema,
    require_labels: bool = True,
) -> Annotated[pd.DataFrame, "sensor_data"]:
    """Parse, check and merge the sensor files, resampled to the configured rate.

    Row-level problems (bad values, timestamps, labels) fail here because only
    the raw files know their line numbers; the error lists every problem found.

    Args:
        data_dir: Folder with one sub-folder per recording.
        data_fingerprint: Content hash of `data_dir`; part of the cache key so
            changed files are never served from cache.
        data_config: Rate, streams and activities.
        data_schema: The data contract (`configs/schema.yaml`).
        require_labels: Training needs `labels.csv` in every recording.

    Returns:
        One row per resampled sample of every recording.
    """
    sensor_data, facts = ingest(data_dir, data_config, data_schema, require_labels=require_labels)
    logger.info(
        "Ingested %d recordings, %d samples at %.1f Hz from %s",
        len(facts), len(sensor_data), data_config.sampling_rate_hz, data_dir,
    )
    log_metadata(
        metadata={
            "data_dir": str(data_dir),
            "data_fingerprint": data_fingerprint,
            "n_recordings": len(facts),
            "n_samples": int(len(sensor_data)),
            "sampling_rate_hz": float(data_config.sampling_rate_hz),
            "recordings": {str(f["recording_id"]): f for f in facts},
        },
        infer_artifact=True,
    )
    return sensor_data
