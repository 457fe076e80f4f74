"""Training-window augmentation: physically coherent, seeded, strictly configured."""

import numpy as np
import pytest
from pydantic import ValidationError

from har.augmentation import (
    AugmentationConfig,
    augment_dataset,
    augment_windows,
    random_rotations,
    rotate,
    time_warp,
)
from har.types import WindowedDataset

CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
OFF = dict(rotation_deg=0.0, scale=0.0, time_warp=0.0, jitter=0.0)


def windows(n=8, length=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, 6)).astype(np.float32)
    X[:, :, 2] += 1.0  # gravity on z
    return X


def dataset(n=8):
    return WindowedDataset(X=windows(n), y=np.arange(n) % 2, recording_ids=np.array([f"r{i}" for i in range(n)]),
                           subjects=np.array(["s1"] * n), start_times=np.arange(n, dtype=float),
                           class_names=["a", "b"], channel_names=CHANNELS, sample_rate_hz=50.0, step=20)


def test_config_is_strict():
    with pytest.raises(ValidationError, match="extra"):
        AugmentationConfig(rotation=10)
    with pytest.raises(ValidationError):
        AugmentationConfig(scale=1.5)
    with pytest.raises(ValidationError):
        AugmentationConfig(copies=-1)


def test_rotations_are_proper_and_bounded():
    R = random_rotations(np.random.default_rng(1), 200, 30.0)
    assert np.allclose(R @ np.transpose(R, (0, 2, 1)), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(R), 1.0)
    angles = np.degrees(np.arccos(np.clip((np.trace(R, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    assert angles.max() <= 30.0 + 1e-9 and angles.max() > 20.0
    assert np.allclose(random_rotations(np.random.default_rng(1), 5, 0.0), np.eye(3))


def test_one_rotation_for_both_sensors_keeps_norms():
    X = windows().astype(np.float64)
    X[:, :, 3:] = X[:, :, :3]  # gyro triad equal to acc triad: a shared rotation keeps them equal
    R = random_rotations(np.random.default_rng(2), len(X), 90.0)
    out = rotate(X, R, [[0, 1, 2], [3, 4, 5]])
    assert np.allclose(out[:, :, :3], out[:, :, 3:])
    assert np.allclose(np.linalg.norm(out[:, :, :3], axis=2), np.linalg.norm(X[:, :, :3], axis=2))
    assert not np.allclose(out, X)


def test_rotation_only_keeps_magnitudes_per_sample():
    X = windows()
    out = augment_windows(X, CHANNELS, AugmentationConfig(**{**OFF, "rotation_deg": 45.0}),
                          np.random.default_rng(0))
    for idx in ([0, 1, 2], [3, 4, 5]):
        assert np.allclose(np.linalg.norm(out[:, :, idx], axis=2), np.linalg.norm(X[:, :, idx], axis=2), atol=1e-5)


def test_scaling_is_one_gain_per_sensor():
    X = windows()
    out = augment_windows(X, CHANNELS, AugmentationConfig(**{**OFF, "scale": 0.2}), np.random.default_rng(0))
    ratio = out / X
    assert np.allclose(ratio[:, :, 0:3], ratio[:, :1, :1], atol=1e-5)  # same factor for acc x, y, z
    assert np.all((ratio > 0.8 - 1e-6) & (ratio < 1.2 + 1e-6))


def test_time_warp_keeps_ends_and_constants():
    X = windows(length=50).astype(np.float64)
    out = time_warp(X, np.random.default_rng(3), 0.3, 4)
    assert np.allclose(out[:, 0], X[:, 0]) and np.allclose(out[:, -1], X[:, -1])
    assert not np.allclose(out, X)
    const = np.full((2, 30, 6), 2.5)
    assert np.allclose(time_warp(const, np.random.default_rng(0), 0.3, 4), 2.5)
    ramp = np.broadcast_to(np.arange(30.0)[None, :, None], (2, 30, 6))
    assert np.all(np.diff(time_warp(ramp, np.random.default_rng(0), 0.5, 5), axis=1) > 0)  # monotonic map


def test_everything_off_is_identity_and_seeds_reproduce():
    X = windows()
    assert np.array_equal(augment_windows(X, CHANNELS, AugmentationConfig(**OFF), np.random.default_rng(0)), X)
    config = AugmentationConfig()
    a = augment_windows(X, CHANNELS, config, np.random.default_rng(7))
    b = augment_windows(X, CHANNELS, config, np.random.default_rng(7))
    c = augment_windows(X, CHANNELS, config, np.random.default_rng(8))
    assert a.dtype == np.float32 and a.shape == X.shape
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_augment_dataset_appends_copies_with_their_labels():
    ds = dataset()
    out = augment_dataset(ds, AugmentationConfig(copies=2), seed=0)
    assert out.n_windows == 3 * ds.n_windows
    assert np.array_equal(out.X[: ds.n_windows], ds.X)  # originals first, untouched
    assert np.array_equal(out.y, np.tile(ds.y, 3)) and np.array_equal(out.subjects, np.tile(ds.subjects, 3))
    assert np.array_equal(augment_dataset(ds, AugmentationConfig(copies=2), seed=0).X, out.X)
    assert augment_dataset(ds, AugmentationConfig(copies=0), seed=0).n_windows == ds.n_windows


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="not among the window channels"):
        augment_windows(windows(), ["a", "b", "c", "d", "e", "f"], AugmentationConfig(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="expected windows"):
        augment_windows(windows()[0], CHANNELS, AugmentationConfig(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="3 channels"):
        augment_windows(windows(), CHANNELS, AugmentationConfig(triads=[["acc_x", "acc_y"]]), np.random.default_rng(0))
    assert augment_windows(windows()[:0], CHANNELS, AugmentationConfig(), np.random.default_rng(0)).shape == (0, 40, 6)
