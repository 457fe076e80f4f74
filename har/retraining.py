"""Retraining data: the production version's ingested recordings plus new labelled ones, and when to retrain.

Pure functions (no ZenML); the retraining pipeline's steps call them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pandas as pd

from har.errors import ERROR, DataValidationError, Issue
from har.types import DataQualityReport

SUMMARY_COUNTS = ("n_recordings_found", "n_recordings_skipped", "n_segments_skipped", "skipped_s")


def merge_recordings(production: pd.DataFrame, production_report: DataQualityReport, new: pd.DataFrame,
                     new_report: DataQualityReport) -> Tuple[pd.DataFrame, DataQualityReport]:
    """One ingested table (and report) of both sources; recording ids must not collide.

    The columns (channels, activity) must be the same: both were ingested with
    the production version's data settings. A recording id present in both is
    an error naming it: the same recording would be counted twice, or two
    different ones would be mixed up.
    """
    if list(production.columns) != list(new.columns):
        raise DataValidationError([Issue(
            severity=ERROR, message=f"the new recordings have columns {list(new.columns)}, the production version's "
            f"training data {list(production.columns)}: ingest them with the same dataset profile")])
    both = sorted(set(production["recording_id"].unique()) & set(new["recording_id"].unique()))
    if both:
        raise DataValidationError([Issue(
            message=f"recording id(s) {', '.join(map(str, both[:5]))} are in the production version's training data "
                    "already; give the new recordings folders of their own names (a recording is one folder)",
            severity=ERROR, recording=str(both[0]), column="recording_id")])
    merged = pd.concat([production, new], ignore_index=True)
    summary: Dict[str, Any] = {key: production_report.summary.get(key, 0) + new_report.summary.get(key, 0)
                               for key in SUMMARY_COUNTS}
    summary.update(n_recordings_production=len(production_report.recordings),
                   n_recordings_new=len(new_report.recordings))
    report = DataQualityReport(
        passed=production_report.passed and new_report.passed, summary=summary,
        recordings=[*production_report.recordings, *new_report.recordings],
        issues=[*production_report.issues, *new_report.issues],
        skipped=[*production_report.skipped, *new_report.skipped])
    return merged, report


def retraining_decision(drift_detected: bool | None, drift_summary: str, require_drift: bool,
                        new_recordings: int) -> Tuple[bool, str]:
    """Whether to retrain, and why (one line).

    `drift_detected` is the production version's latest drift verdict (None:
    no drift run yet). Without drift, retraining only when `require_drift` is
    off (e.g. a schedule that retrains on every labelled delivery).
    """
    if new_recordings == 0:
        return False, "no new labelled recordings"
    if not require_drift:
        return True, f"require_drift is off: retraining on {new_recordings} new recording(s)"
    if drift_detected is None:
        return False, ("no drift verdict for the production version yet (run the drift pipeline first, or set "
                       "require_drift: false)")
    if not drift_detected:
        return False, f"the latest drift check found no drift ({drift_summary})"
    return True, f"drift detected ({drift_summary}); retraining on {new_recordings} new recording(s)"


def recording_ids(report: DataQualityReport) -> List[str]:
    return [str(row.get("recording_id")) for row in report.recordings]
