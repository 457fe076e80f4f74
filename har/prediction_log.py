"""Persistent prediction log (SQLite): every batch prediction, once.

A row is keyed by (model name, model version, recording, window start), so
re-running the same input adds nothing; each append is one transaction, so a
crash never leaves half a batch.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Tuple

import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    window_start_s REAL NOT NULL,
    subject TEXT,
    label TEXT NOT NULL,
    probabilities TEXT NOT NULL,
    true_label TEXT,
    pipeline_run TEXT,
    logged_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (model_name, model_version, recording_id, window_start_s)
)
"""


def append_predictions(db_path: str | Path, predictions: pd.DataFrame, model_name: str,
                       pipeline_run: str = "") -> Tuple[int, int]:
    """Insert the rows not logged yet; returns (inserted, already present)."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    probability_columns = [c for c in predictions.columns if c.startswith("p_")]
    rows = [
        (model_name, str(r.model_version), str(r.recording_id), round(float(r.window_start_s), 3), str(r.subject),
         str(r.label), json.dumps({c[2:]: round(float(getattr(r, c)), 6) for c in probability_columns}),
         (str(r.true_label) or None), pipeline_run)
        for r in predictions.itertuples(index=False)
    ]
    with sqlite3.connect(path) as connection:  # commits on success, rolls back on error
        connection.execute(SCHEMA)
        before = connection.total_changes
        connection.executemany(
            "INSERT OR IGNORE INTO predictions (model_name, model_version, recording_id, window_start_s, subject, "
            "label, probabilities, true_label, pipeline_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        inserted = connection.total_changes - before
    return inserted, len(rows) - inserted


def count_predictions(db_path: str | Path) -> int:
    with sqlite3.connect(db_path) as connection:
        connection.execute(SCHEMA)
        return int(connection.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
