import numpy as np
import pytest

from har.normalization import fit_normalizer
from har.splitting import assign_subjects, split_by_subject
from har.types import ChannelNormalizer, WindowedDataset


def _dataset(n_subjects=6, per_subject=5, channels=2):
    n = n_subjects * per_subject
    rng = np.random.default_rng(0)
    return WindowedDataset(
        X=rng.normal(3.0, 2.0, size=(n, 8, channels)).astype(np.float32),
        y=np.tile(np.arange(per_subject) % 2, n_subjects),
        recording_ids=np.repeat([f"r{i}" for i in range(n_subjects)], per_subject),
        subjects=np.repeat([f"s{i}" for i in range(n_subjects)], per_subject),
        start_times=np.arange(n, dtype=np.float64),
        class_names=["a", "b"], channel_names=[f"c{i}" for i in range(channels)], sample_rate_hz=10.0, step=4,
    )


def test_split_keeps_each_subject_in_one_split_and_is_deterministic():
    ds = _dataset()
    train, val, test, assignment = split_by_subject(ds, 0.2, 0.2, seed=1)
    sets = [set(part.subjects) for part in (train, val, test)]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sum(p.n_windows for p in (train, val, test)) == ds.n_windows
    assert all(p.n_windows > 0 for p in (train, val, test))
    assert assignment == split_by_subject(ds, 0.2, 0.2, seed=1)[3]
    assert sorted(sum(assignment.values(), [])) == sorted(set(ds.subjects))


def test_split_needs_three_subjects():
    with pytest.raises(ValueError, match="at least 3 subjects"):
        assign_subjects(["a", "b", "a"], 0.2, 0.2, 0)
    with pytest.raises(ValueError, match="val_fraction"):
        assign_subjects(["a", "b", "c"], 0.6, 0.5, 0)


def test_normalizer_fitted_values_and_constant_channel():
    ds = _dataset()
    ds.X[:, :, 1] = 5.0
    norm = fit_normalizer(ds)
    out = norm.transform(ds.X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, :, 0].mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(out[:, :, 0].std(), 1.0, atol=1e-4)
    assert np.all(out[:, :, 1] == 0.0)  # constant channel: std replaced by 1, no inf/NaN
    assert ChannelNormalizer.from_dict(norm.to_dict()) == norm
    with pytest.raises(ValueError, match="expected 2 channels"):
        norm.transform(np.zeros((1, 8, 3), np.float32))


def test_windowed_dataset_rejects_inconsistent_arrays():
    ds = _dataset()
    with pytest.raises(ValueError, match="channel names"):
        WindowedDataset(ds.X, ds.y, ds.recording_ids, ds.subjects, ds.start_times, ds.class_names, ["c0"], 10.0, 4)
    with pytest.raises(ValueError, match="y must have shape"):
        WindowedDataset(ds.X, ds.y[:-1], ds.recording_ids, ds.subjects, ds.start_times, ds.class_names,
                        ds.channel_names, 10.0, 4)
