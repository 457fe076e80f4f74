"""Check the ingested table against the data contract and report on it."""

from typing import Annotated

import pandas as pd
from zenml import log_metadata, save_artifact, step
from zenml.logger import get_logger

from har.config import DataConfig, Schema
from har.types import DataQualityReport
from har.validation import build_quality_report, raise_for_issues

logger = get_logger(__name__)


@step
def validate_sensor_data(
    sensor_data: pd.DataFrame,
    data_config: DataConfig,
    data_schema: Schema,
    require_labels: bool = True,
) -> Annotated[DataQualityReport, "data_quality_report"]:
    """Build the data quality report (JSON + HTML) and fail on any error in it.

    Args:
        sensor_data: Output of `ingest_recordings`.
        data_config: Rate, streams and activities.
        data_schema: The data contract.
        require_labels: Whether labelled samples are mandatory.

    Returns:
        The report; on failure it is still saved (as `data_quality_report_failed`)
        so the dashboard shows what was wrong.
    """
    report = build_quality_report(sensor_data, data_config, data_schema, require_labels=require_labels)
    n_errors = sum(issue["severity"] == "error" for issue in report.issues)
    n_warnings = len(report.issues) - n_errors
    logger.info("Data quality: %s (%d errors, %d warnings)", "passed" if report.passed else "FAILED",
                n_errors, n_warnings)
    if not report.passed:
        save_artifact(report, name="data_quality_report_failed")
        raise_for_issues(report, data_schema.max_issues_reported)
    log_metadata(metadata={"passed": report.passed, "n_warnings": n_warnings}, infer_artifact=True)
    return report
