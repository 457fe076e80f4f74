"""Write predictions to a file the user can open and append them to the prediction log."""

import os
import tempfile
from typing import Annotated, Any, Dict

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from har.paths import project_path
from har.prediction_log import append_predictions, count_predictions
from mlops.files import clean_stale_partials, partial_prefix

logger = get_logger(__name__)


@step(enable_cache=False)  # writes outside ZenML; the log itself prevents duplicates
def export_predictions(
    predictions: pd.DataFrame,
    output_dir: str = "outputs/predictions",
    file_format: str = "csv",
    prediction_log: str = "outputs/prediction_log.sqlite",
    stale_partial_minutes: float = 60.0,
) -> Annotated[Dict[str, Any], "export_summary"]:
    """Export to `<output_dir>/<run name>.<csv|parquet>` (atomically) and append to the SQLite log.

    Args:
        predictions: Output of `predict_windows`.
        output_dir: Folder for the exported file (relative paths: from the repository root).
        file_format: csv or parquet.
        prediction_log: SQLite file of all predictions ever made; re-running the same input adds no rows.
        stale_partial_minutes: `*.partial` files in `output_dir` left by an export that was killed are
            removed when their writer's pid is gone, or when older than this.

    Returns:
        Where things went and how many rows were new.
    """
    if file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got '{file_format}'")
    run_name = get_step_context().pipeline_run.name
    target = project_path(output_dir) / f"{run_name}.{file_format}"
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in clean_stale_partials(target.parent, max_age_s=stale_partial_minutes * 60):
        logger.info("Removed %s, left by an export that did not finish", stale)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=partial_prefix(run_name), suffix=".partial")
    os.close(handle)
    try:
        if file_format == "csv":
            predictions.to_csv(temporary, index=False)
        else:
            predictions.to_parquet(temporary, index=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600 files; the export is for the user's tools
        os.replace(temporary, target)  # never a half-written file under the final name
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    prediction_log = str(project_path(prediction_log))
    model_name = get_step_context().model.name
    inserted, duplicates = append_predictions(prediction_log, predictions, model_name, run_name)
    summary = {"file": str(target), "rows": len(predictions), "prediction_log": prediction_log,
               "log_rows_added": inserted, "log_rows_already_present": duplicates,
               "log_rows_total": count_predictions(prediction_log)}
    logger.info("Wrote %d predictions to %s; prediction log %s: %d new, %d already logged", len(predictions),
                target, summary["prediction_log"], inserted, duplicates)
    log_metadata(metadata=summary)
    return summary
