"""Check the ingested table against the data contract and report on it, ingestion's findings included."""

from typing import Annotated

import pandas as pd
from zenml import log_metadata, save_artifact, step
from zenml.logger import get_logger

from har.config import DataConfig, Schema
from har.types import DataQualityReport
from har.validation import build_quality_report, merge_reports, raise_for_issues

logger = get_logger(__name__)


@step
def validate_sensor_data(
    sensor_data: pd.DataFrame,
    ingest_report: DataQualityReport,
    data_config: DataConfig,
    data_schema: Schema,
    require_labels: bool = True,
) -> Annotated[DataQualityReport, "data_quality_report"]:
    """Build the data quality report (JSON + HTML) and fail on any error in it.

    Args:
        sensor_data: Output of `ingest_recordings`.
        ingest_report: Ingestion's findings (gaps, skipped data, ...); every
            one of them is listed in the final report.
        data_config: Rate, streams and activities.
        data_schema: The data contract.
        require_labels: Whether labelled samples are mandatory.

    Returns:
        The report; on failure it is still saved (as `data_quality_report_failed`)
        so the dashboard shows what was wrong.
    """
    checked = build_quality_report(sensor_data, data_config, data_schema, require_labels=require_labels)
    report = merge_reports(ingest_report, checked)
    logger.info(
        "Data quality: %s (%d errors, %d warnings, %d skipped: %.1f s)",
        "passed" if report.passed else "FAILED", len(report.errors), len(report.warnings), len(report.skipped),
        report.skipped_seconds,
    )
    if not report.passed:
        save_artifact(report, name="data_quality_report_failed")
        raise_for_issues(report, data_schema.max_issues_reported)
    log_metadata(
        metadata={"passed": report.passed, "n_warnings": len(report.warnings), "n_skipped": len(report.skipped)},
        infer_artifact=True,
    )
    return report
