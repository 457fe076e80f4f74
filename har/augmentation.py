"""Seeded augmentation of raw training windows: device rotation, sensor gain, time warp, jitter.

Apply to the *training* windows only, in sensor units, before normalisation:
a rotation is only a rotation of the device while each triad is still a
physical vector (per-channel standardisation with gravity in the mean breaks
that). Fit the normalizer on the un-augmented training windows.

Every augmented window gets, in this order:

1. one random 3-D rotation (axis uniform on the sphere, angle uniform in
   [0, `rotation_deg`]) applied identically to every triad (accelerometer and
   gyroscope: one device, one orientation);
2. one gain per triad (and per other channel) from [1 - `scale`, 1 + `scale`];
3. a smooth random time warp: playback speed varies by up to +-`time_warp`
   around 1 between `warp_knots` knots, first and last sample kept;
4. Gaussian jitter with `jitter` times each channel's standard deviation.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from har.types import WindowedDataset


class AugmentationConfig(BaseModel):
    """How much augmented data to add and how strongly to perturb it (0 switches a transform off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    copies: int = Field(1, ge=0, description="Augmented copies of every training window, added to the originals.")
    rotation_deg: float = Field(20.0, ge=0.0, le=180.0, description="Largest device rotation angle.")
    scale: float = Field(0.1, ge=0.0, lt=1.0, description="Largest relative gain change per sensor.")
    time_warp: float = Field(0.1, ge=0.0, lt=1.0, description="Largest relative playback-speed change.")
    warp_knots: int = Field(4, ge=2, description="Control points of the speed curve.")
    jitter: float = Field(0.02, ge=0.0, description="Noise std as a fraction of each channel's std.")
    triads: List[List[str]] = Field(
        default_factory=lambda: [["acc_x", "acc_y", "acc_z"], ["gyro_x", "gyro_y", "gyro_z"]],
        description="Channel names of each 3-axis sensor, rotated together.",
    )


def random_rotations(rng: np.random.Generator, n: int, max_angle_deg: float) -> np.ndarray:
    """`(n, 3, 3)` rotation matrices: random axis, angle uniform in [0, max_angle_deg] (Rodrigues)."""
    axis = rng.normal(size=(n, 3))
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    angle = np.deg2rad(rng.uniform(0.0, max_angle_deg, size=n))
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k -= np.transpose(k, (0, 2, 1))
    sin, cos = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3)[None] + sin * k + (1.0 - cos) * (k @ k)


def triad_indices(channel_names: Sequence[str], triads: Sequence[Sequence[str]]) -> List[List[int]]:
    """Column indices of each triad; every named channel must exist."""
    out = []
    for triad in triads:
        if len(triad) != 3:
            raise ValueError(f"a triad names 3 channels, got {list(triad)}")
        missing = [c for c in triad if c not in channel_names]
        if missing:
            raise ValueError(f"triad channel(s) {missing} not among the window channels {list(channel_names)}")
        out.append([list(channel_names).index(c) for c in triad])
    return out


def rotate(X: np.ndarray, rotations: np.ndarray, triads: Sequence[Sequence[int]]) -> np.ndarray:
    """Rotate every triad of window i by `rotations[i]` (vectors are rows: v' = R v)."""
    out = X.copy()
    for idx in triads:
        out[:, :, idx] = np.einsum("nij,ntj->nti", rotations, X[:, :, idx])
    return out


def time_warp(X: np.ndarray, rng: np.random.Generator, strength: float, knots: int) -> np.ndarray:
    """Resample each window along a smooth, monotonic random time map (linear interpolation)."""
    n, length, _ = X.shape
    if strength == 0.0 or length < 2:
        return X.copy()
    speed_knots = 1.0 + rng.uniform(-strength, strength, size=(n, knots))
    speed = np.stack([np.interp(np.linspace(0, knots - 1, length - 1), np.arange(knots), s) for s in speed_knots])
    positions = np.concatenate([np.zeros((n, 1)), np.cumsum(speed, axis=1)], axis=1)
    positions *= (length - 1) / positions[:, -1:]  # same span: first and last sample stay
    left = np.clip(np.floor(positions).astype(np.int64), 0, length - 2)
    frac = (positions - left)[:, :, None]
    take = np.take_along_axis
    return (take(X, left[:, :, None], axis=1) * (1.0 - frac) + take(X, left[:, :, None] + 1, axis=1) * frac)


def augment_windows(X: np.ndarray, channel_names: Sequence[str], config: AugmentationConfig,
                    rng: np.random.Generator) -> np.ndarray:
    """One augmented version of every window of `X` `(n, window, channels)` (raw sensor units)."""
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[2] != len(channel_names):
        raise ValueError(f"expected windows (n, window, {len(channel_names)}), got {X.shape}")
    if len(X) == 0:
        return X.astype(np.float32, copy=True)
    triads = triad_indices(channel_names, config.triads)
    out = X.astype(np.float64)
    n = len(out)
    if config.rotation_deg > 0:
        out = rotate(out, random_rotations(rng, n, config.rotation_deg), triads)
    if config.scale > 0:
        gains = rng.uniform(1.0 - config.scale, 1.0 + config.scale, size=(n, X.shape[2]))
        for idx in triads:  # one gain per sensor: scaling a vector keeps its direction
            gains[:, idx] = gains[:, idx[:1]]
        out = out * gains[:, None, :]
    if config.time_warp > 0:
        out = time_warp(out, rng, config.time_warp, config.warp_knots)
    if config.jitter > 0:
        std = X.reshape(-1, X.shape[2]).std(axis=0)
        out = out + rng.normal(size=out.shape) * (config.jitter * std)
    return out.astype(np.float32)


def augment_dataset(train: WindowedDataset, config: AugmentationConfig, seed: int) -> WindowedDataset:
    """The training windows followed by `config.copies` augmented copies (labels and ids repeated)."""
    if config.copies == 0 or train.n_windows == 0:
        return train.subset(np.arange(train.n_windows))
    rng = np.random.default_rng(seed)
    copies = [augment_windows(train.X, train.channel_names, config, rng) for _ in range(config.copies)]
    repeat = np.tile(np.arange(train.n_windows), config.copies + 1)
    out = train.subset(repeat)
    out.X = np.concatenate([train.X.astype(np.float32), *copies])
    return out
