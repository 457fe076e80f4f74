"""Synthetic sensor shifts applied to an ingested table or to recording folders (drift tests, benchmarks, the
loop demo)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import pandas as pd

ACC = ["acc_x", "acc_y", "acc_z"]
GYRO = ["gyro_x", "gyro_y", "gyro_z"]


def _copy(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.copy(deep=True)


def gain(frame: pd.DataFrame, factor: float = 1.3) -> pd.DataFrame:
    out = _copy(frame)
    out[ACC] = out[ACC] * factor
    return out


def offset(frame: pd.DataFrame, g: float = 0.5, column: str = "acc_x") -> pd.DataFrame:
    out = _copy(frame)
    out[column] = out[column] + g
    return out


def swap_axes(frame: pd.DataFrame) -> pd.DataFrame:
    """x and y exchanged on both sensors (a device worn turned by 90 degrees, mis-mapped)."""
    out = _copy(frame)
    for a, b in (("acc_x", "acc_y"), ("gyro_x", "gyro_y")):
        out[[a, b]] = frame[[b, a]].to_numpy()
    return out


def rotate(frame: pd.DataFrame, degrees: float = 30.0) -> pd.DataFrame:
    """Sensor tilted by rotating it about its z axis (both sensors, as a rigidly mounted IMU would be).

    The synthetic wearer's vertical is the sensor's x axis, so a rotation about z tilts gravity; a
    rotation about x would only turn the device around the vertical.
    """
    angle = np.deg2rad(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    out = _copy(frame)
    for columns in (ACC, GYRO):
        out[columns] = frame[columns].to_numpy() @ rotation.T
    return out


def noise(frame: pd.DataFrame, factor: float = 3.0, base_std: float = 0.02, seed: int = 0) -> pd.DataFrame:
    """Sensor noise multiplied by `factor` (the generator's white noise is ~0.02)."""
    rng = np.random.default_rng(seed)
    extra = base_std * np.sqrt(factor**2 - 1.0)
    out = _copy(frame)
    for columns in (ACC, GYRO):
        out[columns] = out[columns] + rng.normal(0.0, extra, size=(len(out), 3))
    return out


def undeclared_rate(frame: pd.DataFrame, true_rate_hz: float = 40.0, declared_rate_hz: float = 50.0) -> pd.DataFrame:
    """Data really sampled at `true_rate_hz` but stamped as `declared_rate_hz`: time runs faster."""
    channels = [c for c in ACC + GYRO if c in frame]
    out = _copy(frame).astype({c: np.float64 for c in channels})
    stretch = declared_rate_hz / true_rate_hz
    for _, index in frame.groupby(["recording_id", "segment"], sort=False).groups.items():
        rows = frame.loc[index]
        t = rows["timestamp"].to_numpy()
        source_t = t[0] + (t - t[0]) * stretch
        keep = source_t <= t[-1]
        for column in channels:
            values = np.interp(source_t, t, rows[column].to_numpy())
            out.loc[index, column] = np.where(keep, values, np.nan)
    return out.dropna(subset=channels).reset_index(drop=True)


SHIFTS: Dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "gain x1.3": gain,
    "+0.5 g offset (x)": offset,
    "swapped axes (x<->y)": swap_axes,
    "tilted 30 deg (about z)": rotate,
    "noise x3": noise,
    "rate 40 Hz declared as 50 Hz": undeclared_rate,
}


def rotate_recordings(source: Path, target: Path, schema: Any, degrees: float = 30.0) -> List[Path]:
    """Copies of the recording folders in `source` with both sensors rotated as `rotate` does (a watch worn
    differently); written to `target` in the same file format (the schema's file and column names). Labels and
    everything else are copied unchanged. Returns the new recording folders."""
    angle = np.deg2rad(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    written = []
    for folder in sorted(p for p in Path(source).iterdir() if p.is_dir() and not p.name.startswith(".")):
        copy = Path(target) / folder.name
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        for spec in schema.streams.values():
            path = copy / spec.file
            if path.is_file():
                frame = pd.read_csv(path, dtype={spec.columns[0]: str})
                axes = list(spec.columns[1:4])
                frame[axes] = frame[axes].to_numpy(dtype=np.float64) @ rotation.T
                frame.to_csv(path, index=False)
        written.append(copy)
    return written
