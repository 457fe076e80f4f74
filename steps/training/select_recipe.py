"""Choose the search's winner from its trials' cross-validation reports."""

from typing import Annotated, List, Tuple

from zenml import log_metadata, step
from zenml.logger import get_logger
from zenml.types import HTMLString

from har.families import get_family
from har.html_tables import banner, page, paragraph, table_from_records
from har.search import choose
from har.types import CrossValidationReport
from materializers.cross_validation_report_materializer import CrossValidationReportMaterializer

logger = get_logger(__name__)


@step(output_materializers={"cv_report": CrossValidationReportMaterializer})
def select_recipe(
    cv_reports: List[CrossValidationReport],
    trial_names: List[str],
    prefer_exportable_within: float | None = 0.01,
) -> Tuple[Annotated[CrossValidationReport, "cv_report"], Annotated[HTMLString, "search_leaderboard"]]:
    """The trial with the best CV macro-F1 (or a watch-capable one within the tolerance) and a leaderboard.

    Args:
        cv_reports: One per trial, all on the same subject folds.
        trial_names: The trials' names, in the same order ("champion" = the production version's recipe).
        prefer_exportable_within: See `har.search.SearchSpace.prefer_exportable_within`.

    Returns:
        The winner's report (the final fit trains its recipe) and the leaderboard page.
    """
    if len(trial_names) != len(cv_reports):
        raise ValueError(f"{len(trial_names)} trial names for {len(cv_reports)} reports")
    exportable = [get_family(report.family).exportable for report in cv_reports]
    chosen, rows = choose(cv_reports, exportable, prefer_exportable_within)
    for row in rows:
        row["trial"] = trial_names[row.pop("index")]
    winner = trial_names[chosen]
    logger.info("Search: %s (%s) chosen from %d trials, CV macro-F1 %.4f", winner, cv_reports[chosen].family,
                len(rows), cv_reports[chosen].mean("macro_f1"))
    log_metadata(metadata={"search": {"chosen_trial": winner, "family": cv_reports[chosen].family,
                                      "n_trials": len(rows), "leaderboard": rows}}, infer_model=True)
    columns = ["rank", "trial", "family", "cv_macro_f1", "std", "recording_acc", "worst_subject_f1", "watch",
               "chosen"]
    html = page("Search leaderboard", banner(f"Chosen: {winner} ({cv_reports[chosen].family})", ok=True),
                paragraph("Subject-grouped cross-validation, every trial on the same folds. 'champion' is the "
                          "production version's recipe re-run on these folds."),
                table_from_records(rows, columns=columns))
    return cv_reports[chosen], HTMLString(html)
