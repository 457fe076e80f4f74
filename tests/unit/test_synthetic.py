"""The synthetic IMU generator: file format, determinism, label layout and signal realism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence, Tuple

import numpy as np
import pandas as pd
import pytest

from har.synthetic import DEFAULT_ACTIVITIES, generate_dataset

SMALL = dict(seed=7, n_subjects=3, seconds_per_activity=20.0)


def _times_s(column: pd.Series) -> np.ndarray:
    """Epoch seconds from numeric epoch milliseconds or ISO-8601 strings."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float) / 1000.0
    stamps = pd.to_datetime(column, utc=True, format="ISO8601")
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _load(folder: Path) -> dict:
    out = {name: pd.read_csv(folder / f"{name}.csv") for name in ("accelerometer", "gyroscope", "labels")}
    out["meta"] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    for name in ("accelerometer", "gyroscope"):
        out[name]["t"] = _times_s(out[name]["timestamp"])
    out["labels"]["t0"] = _times_s(out["labels"]["start"])
    out["labels"]["t1"] = _times_s(out["labels"]["end"])
    return out


def _segment(rec: dict, stream: str, activity: str) -> np.ndarray:
    row = rec["labels"][rec["labels"].activity == activity].iloc[0]
    frame = rec[stream]
    inside = (frame.t >= row.t0) & (frame.t < row.t1)
    return frame.loc[inside, ["x", "y", "z"]].to_numpy()


def _dominant_hz(signal: np.ndarray, rate: float) -> float:
    centred = signal - signal.mean()
    power = np.abs(np.fft.rfft(centred * np.hanning(centred.size))) ** 2
    freqs = np.fft.rfftfreq(centred.size, 1.0 / rate)
    power[freqs < 0.5] = 0.0
    return float(freqs[np.argmax(power)])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("synthetic") / "data"  # does not exist yet: must be created
    return root, generate_dataset(root, **SMALL)


@pytest.fixture(scope="module")
def recordings(small: tuple[Path, list[str]]) -> list[dict]:
    root, ids = small
    return [_load(root / rid) for rid in ids]


def test_layout_and_columns(small: tuple[Path, list[str]]) -> None:
    root, ids = small
    assert ids == ["s01_r1", "s02_r1", "s03_r1"]
    assert sorted(p.name for p in root.iterdir()) == ids  # no temp folders left behind
    for rid in ids:
        folder = root / rid
        assert sorted(p.name for p in folder.iterdir()) == [
            "accelerometer.csv",
            "gyroscope.csv",
            "labels.csv",
            "meta.json",
        ]
        for stream in ("accelerometer", "gyroscope"):
            assert (folder / f"{stream}.csv").read_text().splitlines()[0] == "timestamp,x,y,z"
        assert (folder / "labels.csv").read_text().splitlines()[0] == "start,end,activity"
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["subject"] == rid.split("_")[0]
        assert meta["units"] == {"accelerometer": "g", "gyroscope": "rad/s"}
        assert meta["device"] and meta["generator"]["seed"] == SMALL["seed"]


def test_timestamps_nominal_rate_jitter_and_independent_streams(recordings: list[dict]) -> None:
    for rec in recordings:
        acc, gyro = rec["accelerometer"], rec["gyroscope"]
        for frame in (acc, gyro):
            dt = np.diff(frame.t.to_numpy())
            assert np.all(dt > 0)
            assert np.median(dt) == pytest.approx(0.02, abs=2e-4)
            assert 0.0005 < dt.std() < 0.003  # jittered, but within a couple of ms
            assert dt.max() < 0.026
        # sampled independently: own start offset and own jitter
        assert not np.allclose(np.diff(acc.t.to_numpy()[:100]), np.diff(gyro.t.to_numpy()[:100]), atol=1e-4)
        # the recording lasts roughly 6 activities x 20 s (+-20 %) plus transitions
        assert 0.8 * 120 < acc.t.iloc[-1] - acc.t.iloc[0] < 1.2 * 120 + 15


def test_labels_layout(recordings: list[dict]) -> None:
    orders = set()
    for rec in recordings:
        labels = rec["labels"]
        t0, t1 = labels.t0.to_numpy(), labels.t1.to_numpy()
        assert sorted(labels.activity) == sorted(DEFAULT_ACTIVITIES)  # each requested activity exactly once
        assert np.all(t1 > t0)
        assert np.all((0.8 * 20 - 0.01 <= t1 - t0) & (t1 - t0 <= 1.2 * 20 + 0.01))
        # ordered, non-overlapping, and the 1.5 s transitions between them are unlabelled
        assert np.allclose(t0[1:] - t1[:-1], 1.5, atol=0.002)
        start = min(rec["accelerometer"].t.iloc[0], rec["gyroscope"].t.iloc[0])
        end = max(rec["accelerometer"].t.iloc[-1], rec["gyroscope"].t.iloc[-1])
        assert start < t0[0] and t1[-1] < end
        assert rec["meta"]["generator"]["activity_order"] == labels.activity.tolist()
        orders.add(tuple(labels.activity))
    assert len(orders) > 1  # the order is shuffled per recording


def test_static_postures_measure_gravity_only(recordings: list[dict]) -> None:
    for rec in recordings:
        for activity in ("sitting", "standing"):
            acc = _segment(rec, "accelerometer", activity)
            magnitude = np.linalg.norm(acc, axis=1)
            assert magnitude.mean() == pytest.approx(1.0, abs=0.07)
            assert magnitude.std() < 0.06
            gyro = _segment(rec, "gyroscope", activity)
            assert np.sqrt(np.mean(np.sum(gyro**2, axis=1))) < 0.15


def test_gait_energy_and_cadence(recordings: list[dict]) -> None:
    bands = {"walking": (1.6, 2.1), "running": (2.5, 3.2), "walking_upstairs": (1.1, 1.9)}
    for rec in recordings:
        params = rec["meta"]["generator"]["subject_params"]
        dynamic = {}
        for activity, (lo, hi) in bands.items():
            magnitude = np.linalg.norm(_segment(rec, "accelerometer", activity), axis=1)
            dynamic[activity] = magnitude.std()
            dominant = _dominant_hz(magnitude, 50.0)
            assert lo * 0.9 <= dominant <= hi * 1.1, (activity, dominant)
            assert dominant == pytest.approx(params[f"{activity}_cadence_hz"], rel=0.12)
        assert dynamic["running"] > 1.5 * dynamic["walking"]
        gyro_rms = {
            activity: np.sqrt(np.mean(np.sum(_segment(rec, "gyroscope", activity) ** 2, axis=1)))
            for activity in ("walking", "running", "standing")
        }
        assert gyro_rms["standing"] < 0.3 < gyro_rms["walking"] < gyro_rms["running"]


def test_deterministic_and_seed_dependent(tmp_path: Path) -> None:
    args = dict(n_subjects=2, seconds_per_activity=8.0)

    def snapshot(root: Path) -> dict:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_dataset(tmp_path / name, seed=seed, **args)
        runs[name] = snapshot(tmp_path / name)
    assert len(runs["a"]) == 8 and runs["a"] == runs["b"]
    assert runs["a"].keys() == runs["c"].keys()
    assert all(runs["a"][key] != runs["c"][key] for key in runs["a"])
    # regenerating in place atomically replaces the recordings, with identical content
    generate_dataset(tmp_path / "a", seed=3, **args)
    assert snapshot(tmp_path / "a") == runs["a"]


def test_subjects_depend_on_their_number_not_position(tmp_path: Path) -> None:
    args = dict(seed=5, seconds_per_activity=6.0, activities=("walking", "sitting"))
    generate_dataset(tmp_path / "all", n_subjects=3, **args)
    ids = generate_dataset(tmp_path / "third", n_subjects=1, first_subject=3, **args)
    assert ids == ["s03_r1"]
    for name in ("accelerometer.csv", "gyroscope.csv", "labels.csv", "meta.json"):
        alone, among_others = tmp_path / "third/s03_r1" / name, tmp_path / "all/s03_r1" / name
        assert alone.read_bytes() == among_others.read_bytes()
    new = generate_dataset(tmp_path / "new", n_subjects=2, first_subject=11, recordings_per_subject=2, **args)
    assert new == ["s11_r1", "s11_r2", "s12_r1", "s12_r2"]
    first, second = (_load(tmp_path / "new" / rid) for rid in ("s11_r1", "s11_r2"))
    assert first["accelerometer"].t.iloc[-1] < second["accelerometer"].t.iloc[0]  # no overlap in time


def test_smartwatch_variant_10hz_iso_timestamps(tmp_path: Path) -> None:
    activities = ("walking", "running", "sitting", "standing")
    ids = generate_dataset(
        tmp_path,
        seed=11,
        n_subjects=2,
        activities=activities,
        sampling_rate_hz=10.0,
        gyro_rate_hz=12.5,
        seconds_per_activity=30.0,
        timestamp_format="iso8601",
    )
    for rid in ids:
        first_line = (tmp_path / rid / "accelerometer.csv").read_text().splitlines()[1]
        assert first_line.split(",")[0].endswith("Z") and "T" in first_line and "." in first_line
        rec = _load(tmp_path / rid)
        assert set(rec["labels"].activity) == set(activities) and len(rec["labels"]) == 4
        for stream, period in (("accelerometer", 0.1), ("gyroscope", 0.08)):
            dt = np.diff(rec[stream].t.to_numpy())
            assert np.all(dt > 0) and np.median(dt) == pytest.approx(period, abs=0.002)
        params = rec["meta"]["generator"]["subject_params"]
        for activity in ("walking", "running"):
            magnitude = np.linalg.norm(_segment(rec, "accelerometer", activity), axis=1)
            assert _dominant_hz(magnitude, 10.0) == pytest.approx(params[f"{activity}_cadence_hz"], rel=0.12)
        for activity in ("sitting", "standing"):
            magnitude = np.linalg.norm(_segment(rec, "accelerometer", activity), axis=1)
            assert magnitude.mean() == pytest.approx(1.0, abs=0.07)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"activities": ("walking", "jumping")},
        {"activities": ("walking", "walking")},
        {"activities": ()},
        {"activities": "walking"},
        {"timestamp_format": "unix"},
        {"sampling_rate_hz": 0.0},
        {"n_subjects": 0},
    ],
)
def test_invalid_arguments_raise(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate_dataset(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def _window_features(root: Path, ids: Sequence[str]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-window mean and std of the accelerometer (128 samples, step 64), with class index and recording."""
    features, labels, subjects = [], [], []
    for rid in ids:
        rec = _load(root / rid)
        for k, activity in enumerate(DEFAULT_ACTIVITIES):
            acc = _segment(rec, "accelerometer", activity)
            for start in range(0, len(acc) - 128 + 1, 64):
                window = acc[start : start + 128]
                features.append(np.concatenate([window.mean(axis=0), window.std(axis=0)]))
                labels.append(k)
                subjects.append(rid)
    return np.array(features), np.array(labels), np.array(subjects)


def _nearest_centroid(features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    """Accuracy on `test` of a nearest-centroid classifier fitted on `train` (boolean masks)."""
    centroids = np.stack([features[train & (labels == k)].mean(axis=0) for k in range(len(DEFAULT_ACTIVITIES))])
    distances = np.linalg.norm(features[test][:, None, :] - centroids[None], axis=2)
    return float(np.mean(distances.argmin(axis=1) == labels[test]))


def test_not_trivially_separable_across_subjects(tmp_path: Path) -> None:
    """Subjects differ in mount, posture, cadence and gait shape, so a trivial classifier (nearest
    centroid on per-window mean and std of the accelerometer) trained on other subjects is well above
    chance yet far from perfect on an unseen one, while it is much better on subjects it has seen
    (the classes are learnable, the difficulty is generalising across people, as on real data)."""
    ids = generate_dataset(tmp_path, seed=42, n_subjects=8, seconds_per_activity=12.0)
    features, labels, subjects = _window_features(tmp_path, ids)

    def nearest_centroid(train: np.ndarray, test: np.ndarray) -> float:
        return _nearest_centroid(features, labels, train, test)

    unseen = np.mean([nearest_centroid(subjects != s, subjects == s) for s in ids])
    seen = np.mean([nearest_centroid(subjects == s, subjects == s) for s in ids])
    assert 1.0 / len(DEFAULT_ACTIVITIES) + 0.2 < unseen < 0.95, unseen
    assert seen > unseen + 0.05, (seen, unseen)


# --------------------------------------------------------------------------------------------------
# Between-subject variation (placement, orientation, cadence, intensity, within-subject noise)
# --------------------------------------------------------------------------------------------------

REALISTIC = dict(
    placement_mix=0.3,
    orientation_deg=30.0,
    other_wrist_fraction=0.3,
    cadence_spread=0.1,
    intensity_spread=0.25,
    within_subject_noise=1.0,
)


def _digest(root: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_default_arguments_produce_the_files_they_always_produced(tmp_path: Path) -> None:
    """Tests and calibrations elsewhere rely on the default output: the variation knobs must not move it.

    The digests were computed before the variation parameters existed (numpy on this project's pins).
    """
    generate_dataset(tmp_path / "small", seed=7, n_subjects=2, seconds_per_activity=8.0)
    assert _digest(tmp_path / "small") == "3f25fbd67d024b8e86dde744e41a76c468422f4c03d6b763cfd8ac6682575e36"
    generate_dataset(tmp_path / "watch", seed=11, n_subjects=1, activities=("walking", "sitting"),
                     sampling_rate_hz=10.0, gyro_rate_hz=12.5, seconds_per_activity=10.0, timestamp_format="iso8601")
    assert _digest(tmp_path / "watch") == "1ed90f27a3945e7cdd0bbf9a46b2eff59ca8153df895d4f4ce4e028cc90c1e3f"
    zeros = {name: 0.0 for name in REALISTIC}
    generate_dataset(tmp_path / "zeros", seed=7, n_subjects=2, seconds_per_activity=8.0, **zeros)
    assert _digest(tmp_path / "zeros") == _digest(tmp_path / "small")


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("varied")
    return root, generate_dataset(root, seed=42, n_subjects=12, seconds_per_activity=15.0, **REALISTIC)


def test_variation_is_deterministic_and_recorded(varied: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, ids = varied
    again = generate_dataset(tmp_path, seed=42, n_subjects=2, first_subject=5, seconds_per_activity=15.0, **REALISTIC)
    for rid in again:  # a subject is the same person whatever else is generated with it
        assert (tmp_path / rid / "accelerometer.csv").read_bytes() == (root / rid / "accelerometer.csv").read_bytes()
    metas = [_load(root / rid)["meta"]["generator"] for rid in ids]
    assert all(meta["variation"] == REALISTIC for meta in metas)
    params = [meta["subject_params"] for meta in metas]
    assert {p["placement_pocket"] for p in params} == {0.0, 1.0}  # 30 %: both placements among 12 subjects
    assert {p["other_wrist"] for p in params} == {0.0, 1.0}
    assert all(0.0 <= p["orientation_deg"] <= 30.0 for p in params)
    assert np.std([p["cadence_factor"] for p in params]) > 0.03
    assert np.std([p["intensity_factor"] for p in params]) > 0.08


def test_variation_keeps_physics(varied: tuple[Path, list[str]]) -> None:
    """Rotations keep |a| = 1 g at rest; cadence stays where the subject's parameters say it is."""
    root, ids = varied
    for rid in ids:
        rec = _load(root / rid)
        for activity in ("sitting", "standing"):
            magnitude = np.linalg.norm(_segment(rec, "accelerometer", activity), axis=1)
            assert magnitude.mean() == pytest.approx(1.0, abs=0.07)
        params = rec["meta"]["generator"]["subject_params"]
        magnitude = np.linalg.norm(_segment(rec, "accelerometer", "walking"), axis=1)
        assert _dominant_hz(magnitude, 50.0) == pytest.approx(params["walking_cadence_hz"], rel=0.15)


def test_variation_differs_the_way_people_do(varied: tuple[Path, list[str]]) -> None:
    root, ids = varied
    recs = [_load(root / rid) for rid in ids]
    params = [rec["meta"]["generator"]["subject_params"] for rec in recs]
    # orientation: where gravity lands while standing is spread over the sensor axes, including sign flips
    gravity = np.array([_segment(rec, "accelerometer", "standing").mean(axis=0) for rec in recs])
    assert (gravity[:, 0] < 0).any() and (gravity[:, 0] > 0).any()
    # cadence: walking step rates spread wider than the base model's 1.6-2.1 Hz
    cadences = [p["walking_cadence_hz"] for p in params]
    assert max(cadences) - min(cadences) > 0.5


def test_pocket_placement_swings_more_and_lies_flat_when_sitting(tmp_path: Path) -> None:
    """The same people (same draws) with the device on the wrist, then in a trouser pocket."""
    args = dict(seed=3, n_subjects=3, seconds_per_activity=12.0, activities=("walking", "sitting", "standing"))
    # a negligible cadence spread sends both through the variation code path: placement is the only difference
    generate_dataset(tmp_path / "wrist", placement_mix=0.0, cadence_spread=1e-9, **args)
    generate_dataset(tmp_path / "pocket", placement_mix=1.0, cadence_spread=1e-9, **args)
    for rid in ("s01_r1", "s02_r1", "s03_r1"):
        wrist, pocket = _load(tmp_path / "wrist" / rid), _load(tmp_path / "pocket" / rid)
        assert pocket["meta"]["generator"]["subject_params"]["placement_pocket"] == 1.0
        rms = [np.sqrt(np.mean(np.sum(_segment(rec, "gyroscope", "walking") ** 2, axis=1))) for rec in (wrist, pocket)]
        assert rms[1] > 1.4 * rms[0], rms
        dynamic = [np.linalg.norm(_segment(rec, "accelerometer", "walking"), axis=1).std() for rec in (wrist, pocket)]
        assert dynamic[1] > 1.1 * dynamic[0], dynamic
        stand, sit = (_segment(pocket, "accelerometer", a).mean(axis=0) for a in ("standing", "sitting"))
        angle = np.degrees(np.arccos(stand @ sit / np.linalg.norm(stand) / np.linalg.norm(sit)))
        assert 65.0 < angle < 105.0, angle  # the thigh is horizontal when seated


def test_variation_makes_new_subjects_harder(tmp_path: Path) -> None:
    """The base data lets a trivial classifier generalise across subjects better than the varied data."""

    def unseen_accuracy(**kwargs: float) -> float:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        ids = generate_dataset(root, seed=42, n_subjects=8, seconds_per_activity=12.0, **kwargs)
        features, labels, subjects = _window_features(root, ids)
        return float(np.mean([_nearest_centroid(features, labels, subjects != s, subjects == s) for s in ids]))

    base, realistic = unseen_accuracy(), unseen_accuracy(**REALISTIC)
    assert realistic < base - 0.05, (base, realistic)
    assert realistic > 1.0 / len(DEFAULT_ACTIVITIES) + 0.1, realistic  # still learnable


@pytest.mark.parametrize(
    "kwargs",
    [
        {"placement_mix": 1.5},
        {"other_wrist_fraction": -0.1},
        {"orientation_deg": 200.0},
        {"cadence_spread": float("nan")},
        {"intensity_spread": 0.9},
        {"within_subject_noise": "high"},
    ],
)
def test_invalid_variation_raises(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate_dataset(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())
