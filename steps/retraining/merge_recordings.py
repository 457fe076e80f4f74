"""The production version's training recordings plus the new labelled ones, as one ingested table."""

from typing import Annotated, Tuple

import pandas as pd
from zenml import log_metadata, step

from har.retraining import merge_recordings as merge
from har.types import DataQualityReport


@step
def merge_recordings(
    production_data: pd.DataFrame,
    production_report: DataQualityReport,
    new_data: pd.DataFrame,
    new_report: DataQualityReport,
) -> Tuple[Annotated[pd.DataFrame, "sensor_data"], Annotated[DataQualityReport, "ingest_report"]]:
    """Both sources' recordings (artifacts, not paths: the lineage shows where each came from).

    Args:
        production_data: The production version's `sensor_data` artifact (its training recordings).
        production_report: Its `ingest_report`.
        new_data: The new labelled recordings, ingested with the production version's data settings.
        new_report: Their ingestion report.

    Returns:
        The merged recordings and report, in the shape `ingest_recordings` gives (training goes on from them).
    """
    sensor_data, report = merge(production_data, production_report, new_data, new_report)
    log_metadata(metadata={"n_recordings_production": len(production_report.recordings),
                           "n_recordings_new": len(new_report.recordings), "n_samples": int(len(sensor_data))},
                 artifact_name="sensor_data", infer_artifact=True)
    return sensor_data, report
