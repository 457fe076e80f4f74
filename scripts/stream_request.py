"""Turn one recording of a dataset into a POST /predict_stream body, in the recording's own units.

Usage: python scripts/stream_request.py RECORDING_DIR [--dataset NAME_OR_FILE] > request.json

Reads the recording's stream files as the dataset profile describes them
(file and column names, timestamp unit, the units the files are written in)
and writes {"timestamps": [epoch ms], "samples": [[channels in model order]],
"units": {stream: unit}}: the server converts the units and windows the
stream exactly as in training. Streams in separate files are joined on the
first stream's timestamps (nearest sample).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from har.config import TIMESTAMP_UNITS  # noqa: E402
from har.profiles import load_dataset  # noqa: E402


def epoch_ms(column: pd.Series, unit: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.float64) * TIMESTAMP_UNITS[unit] * 1000.0
    parsed = pd.to_datetime(column, utc=True, format="ISO8601")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy() * 1000.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recording_dir", type=Path)
    parser.add_argument("--dataset", default=None, help="dataset profile (name or YAML path); default: default")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset, ROOT)
    schema = dataset.schema
    base_t, columns, units = None, [], {}
    for name in dataset.data.streams:
        spec = schema.streams[name]
        frame = pd.read_csv(args.recording_dir / spec.file)
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
    body = {"timestamps": np.round(base_t, 3).tolist(), "samples": np.round(np.hstack(columns), 6).tolist(),
            "units": units}
    json.dump(body, sys.stdout)


if __name__ == "__main__":
    main()
