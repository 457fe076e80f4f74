"""One recording of a dataset as a POST /predict_stream body, in the recording's own units.

The body is {"timestamps": [epoch ms], "samples": [[channels in model order]],
"units": {stream: unit}}: the server converts the units and windows the stream
exactly as in training. Streams in separate files are joined on the first
stream's timestamps (nearest sample). Entry point: scripts/stream_request.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
import pandas as pd

from har.config import TIMESTAMP_UNITS


def epoch_ms(column: pd.Series, unit: str) -> np.ndarray:
    """A timestamp column (numbers in `unit`, or ISO-8601 text) as epoch milliseconds."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64) * TIMESTAMP_UNITS[unit] * 1000.0
    parsed = pd.to_datetime(column, utc=True, format="ISO8601")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy() * 1000.0


def stream_body(recording_dir: Path, dataset: Any) -> Dict[str, Any]:
    """The /predict_stream body of `recording_dir`, read as the dataset profile `dataset` describes it."""
    schema = dataset.schema
    base_t, columns, units = None, [], {}
    for name in dataset.data.streams:
        spec = schema.streams[name]
        frame = pd.read_csv(Path(recording_dir) / spec.file)
        t = epoch_ms(frame[spec.columns[0]], schema.timestamp_unit)
        values = frame[spec.columns[1:]].to_numpy(dtype=np.float64)
        if base_t is None:
            base_t = t
        else:  # nearest sample of this stream at the first stream's timestamps
            index = np.clip(np.searchsorted(t, base_t), 1, len(t) - 1)
            index -= (base_t - t[index - 1]) < (t[index] - base_t)
            values = values[index]
        columns.append(values)
        units[name] = spec.default_unit
    return {"timestamps": np.round(base_t, 3).tolist(), "samples": np.round(np.hstack(columns), 6).tolist(),
            "units": units}
