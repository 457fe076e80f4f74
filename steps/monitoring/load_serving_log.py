"""The serving log of a time range as the windows the drift checks compare, plus what the service predicted."""

from typing import Annotated, Tuple

import numpy as np
from zenml import log_metadata, step
from zenml.logger import get_logger

from har.outcomes import BadInput
from har.serving import ServingConfig
from har.serving_log import parse_moment, read_serving_log
from har.types import WindowedDataset

logger = get_logger(__name__)


@step(enable_cache=False)
def load_serving_log(
    serving_log_dir: str,
    serving_config: ServingConfig,
    since: str | None = None,
    until: str | None = None,
) -> Tuple[
    Annotated[WindowedDataset, "windows"],
    Annotated[np.ndarray, "served_probabilities"],
    Annotated[str, "serving_log_source"],
]:
    """Read the segment files received in [since, until) into an unlabelled `WindowedDataset`.

    Recording ids are the log's stream ids and window starts its window start
    times (the receive time where a request had none), so the folder path and
    this one feed the same drift and monitor steps.

    Args:
        serving_log_dir: The service's log folder (see README "Serving log").
        serving_config: The production version's serving contract (rate, step, classes, channels).
        since: ISO-8601 start of the range (None: everything logged).
        until: ISO-8601 end of the range (None: now).

    Returns:
        The windows, the probabilities the service answered for them, and a one-line description of the source.
    """
    records = read_serving_log(serving_log_dir, parse_moment(since) if since else None,
                               parse_moment(until) if until else None)
    for what, logged, expected in (("classes", records.class_names, serving_config.class_names),
                                   ("channels", records.channel_names, serving_config.channel_names)):
        if list(logged) != list(expected):
            raise BadInput(f"serving log {serving_log_dir}: the served model's {what} {logged} differ from the "
                           f"production version's {expected}; choose a range logged by a compatible version")
    if records.windows is None:
        raise BadInput(f"serving log {serving_log_dir}: the records hold no raw windows (the deployment logged with "
                       "include_windows: false); the drift checks need them: set steps.package_model.parameters."
                       "serving_log.include_windows: true in configs/deploy.yaml and redeploy")
    n = records.n_windows
    windows = WindowedDataset(
        X=records.windows, y=np.full(n, -1, dtype=np.int64), recording_ids=records.stream_id.astype(str),
        subjects=np.full(n, "", dtype=str), start_times=records.start_ms() / 1000.0,
        class_names=list(serving_config.class_names), channel_names=list(serving_config.channel_names),
        sample_rate_hz=serving_config.sample_rate_hz, step=serving_config.step)
    source = records.describe()
    logger.info("Read %s%s", source, f" ({records.skipped_files} unreadable segment(s) skipped)"
                if records.skipped_files else "")
    log_metadata(metadata={"source": source, "n_windows": n, "n_streams": records.n_streams,
                           "model_versions": ", ".join(records.model_versions),
                           "skipped_files": records.skipped_files}, infer_artifact=False)
    return windows, records.probabilities.astype(np.float32), source
