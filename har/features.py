"""Per-window summary features, shared by drift detection and analysis (vectorised, no loops over windows)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

FEATURES = ("mean", "std", "min", "max", "energy", "dominant_hz", "centroid_hz", "jerk")


def window_features(X: np.ndarray, channel_names: Sequence[str], sample_rate_hz: float) -> pd.DataFrame:
    """One row per window, columns `<channel>_<feature>` plus accelerometer magnitude statistics.

    `energy` is the mean square; `dominant_hz` the frequency of the largest
    non-DC spectral peak (the gait cadence for walking and running);
    `centroid_hz` the amplitude-weighted mean frequency (tempo); `jerk`
    the standard deviation of sample-to-sample differences (sensor noise
    dominates it in still windows).
    """
    if X.ndim != 3 or X.shape[2] != len(channel_names):
        raise ValueError(f"expected windows (n, window, {len(channel_names)}), got {X.shape}")
    x = X.astype(np.float64, copy=False)
    columns: dict = {}
    mean = x.mean(axis=1)
    spectrum = np.abs(np.fft.rfft(x - mean[:, None, :], axis=1))
    spectrum[:, 0, :] = 0.0
    freqs = np.fft.rfftfreq(X.shape[1], d=1.0 / sample_rate_hz)
    stats = {
        "mean": mean,
        "std": x.std(axis=1),
        "min": x.min(axis=1),
        "max": x.max(axis=1),
        "energy": np.mean(x**2, axis=1),
        "dominant_hz": freqs[spectrum.argmax(axis=1)],
        "centroid_hz": (spectrum * freqs[None, :, None]).sum(axis=1) / np.maximum(spectrum.sum(axis=1), 1e-12),
        "jerk": np.diff(x, axis=1).std(axis=1),
    }
    for c, name in enumerate(channel_names):
        for feature in FEATURES:
            columns[f"{name}_{feature}"] = stats[feature][:, c]
    acc = [i for i, name in enumerate(channel_names) if name.startswith("acc_")]
    if len(acc) == 3:  # gravity + motion magnitude: sensitive to gain, insensitive to orientation
        magnitude = np.linalg.norm(x[:, :, acc], axis=2)
        columns["acc_magnitude_mean"] = magnitude.mean(axis=1)
        columns["acc_magnitude_std"] = magnitude.std(axis=1)
        centred = magnitude - magnitude.mean(axis=1, keepdims=True)
        magnitude_spectrum = np.abs(np.fft.rfft(centred, axis=1))
        magnitude_spectrum[:, 0] = 0.0
        columns["acc_magnitude_dominant_hz"] = freqs[magnitude_spectrum.argmax(axis=1)]
        columns["acc_magnitude_centroid_hz"] = (magnitude_spectrum * freqs).sum(axis=1) / np.maximum(
            magnitude_spectrum.sum(axis=1), 1e-12)
    return pd.DataFrame(columns)
