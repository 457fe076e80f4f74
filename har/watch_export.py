"""A smartwatch export with the quirks of real ones, for the "Your own watch data" tutorial and its test.

Real exports are not written the way `configs/schema.yaml` expects, and this
one is not either: one combined `imu.csv` per recording with columns
`time,ax,ay,az,gx,gy,gz` (ISO-8601 times, acceleration in m/s^2 with gravity,
rotation in deg/s), 25 Hz, 10 s recordings (as in public benchmarks; the last
piece of a session is shorter), dropouts of 1.4 s, stretches without a label,
and `labels.csv` with `begin,end,label` in the user's own words (walk, jog,
sit, stand; `other` for anything else). The signals come from
`har.synthetic` (same physics as the built-in data), so the test knows the
truth.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np
import pandas as pd

from har.synthetic import generate_dataset

ACTIVITIES = ("walking", "running", "sitting", "standing")
USER_LABELS = {"walking": "walk", "running": "jog", "sitting": "sit", "standing": "stand"}
G = 9.80665  # m/s^2 per g
DEG_PER_RAD = 180.0 / np.pi


def write_watch_export(out_dir: str | Path, *, n_subjects: int = 6, first_subject: int = 1, seed: int = 11,
                       rate_hz: float = 25.0, recording_s: float = 10.0, seconds_per_activity: float = 34.0,
                       dropout_every: int = 4, dropout_s: float = 1.4) -> List[str]:
    """Write one folder per 10 s recording under `out_dir`; returns the recording ids, sorted."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: List[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        sessions = generate_dataset(tmp, seed=seed, n_subjects=n_subjects, first_subject=first_subject,
                                    activities=ACTIVITIES, sampling_rate_hz=rate_hz,
                                    seconds_per_activity=seconds_per_activity, transition_seconds=2.0)
        piece = int(round(recording_s * rate_hz))
        for session in sessions:
            folder = Path(tmp) / session
            subject = json.loads((folder / "meta.json").read_text())["subject"]
            acc = pd.read_csv(folder / "accelerometer.csv")
            gyro = pd.read_csv(folder / "gyroscope.csv")
            labels = pd.read_csv(folder / "labels.csv")
            t = acc["timestamp"].to_numpy() / 1000.0  # the watch samples both sensors at the accelerometer's ticks
            gyro_t = gyro["timestamp"].to_numpy() / 1000.0
            values = np.column_stack([
                acc[["x", "y", "z"]].to_numpy() * G,
                *[np.interp(t, gyro_t, gyro[axis].to_numpy()) * DEG_PER_RAD for axis in "xyz"],
            ])
            for k, start in enumerate(range(0, len(t), piece)):
                rows = np.arange(start, min(start + piece, len(t)))
                if len(rows) < rate_hz * 2:  # a crumb at the very end of a session
                    continue
                if dropout_every and k % dropout_every == dropout_every - 1:
                    lost = (t[rows] >= t[rows[0]] + 4.0) & (t[rows] < t[rows[0]] + 4.0 + dropout_s)
                    rows = rows[~lost]
                recording_id = f"{subject}_{session.split('_')[-1]}_{k:02d}"
                _write(out / recording_id, subject, t[rows], values[rows], labels)
                written.append(recording_id)
    return sorted(written)


def _iso(seconds: np.ndarray) -> np.ndarray:
    ms = np.round(np.asarray(seconds) * 1000.0).astype(np.int64)
    return np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z")


def _write(folder: Path, subject: str, t: np.ndarray, values: np.ndarray, labels: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(values, columns=["ax", "ay", "az", "gx", "gy", "gz"]).round(4)
    table.insert(0, "time", _iso(t))
    table.to_csv(folder / "imu.csv", index=False)
    begin, end = float(t[0]), float(t[-1]) + (t[1] - t[0] if len(t) > 1 else 0.0)
    rows: List[Dict[str, str]] = []
    cursor = begin
    for start, stop, activity in labels[["start", "end", "activity"]].itertuples(index=False):
        start, stop = max(start / 1000.0, begin), min(stop / 1000.0, end)
        if stop <= start:
            continue
        if start - cursor > 0.5:  # a transition between activities: the user marked it "other"
            rows.append({"begin": cursor, "end": start, "label": "other"})
        rows.append({"begin": start, "end": stop, "label": USER_LABELS[activity]})
        cursor = stop
    frame = pd.DataFrame(rows, columns=["begin", "end", "label"])
    for column in ("begin", "end"):
        frame[column] = _iso(frame[column].to_numpy(dtype=np.float64))
    frame.to_csv(folder / "labels.csv", index=False)
    (folder / "meta.json").write_text(json.dumps({"subject": subject, "device": "watch"}))
