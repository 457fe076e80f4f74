"""Subject-grouped cross-validation: fold guarantees, scores on hand-made cases, aggregation, round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from har.cross_validation import Fold, cross_validate, score_fold, subject_folds
from har.types import CV_METRICS, CrossValidationReport, WindowedDataset

REPO_ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["walking", "sitting", "standing"]
CHANNELS = ["acc_x", "acc_y", "acc_z"]


def make_windows(
    n_subjects: int = 6, recordings_per_subject: int = 2, windows_per_activity: int = 3, seed: int = 0
) -> WindowedDataset:
    """Tiny labelled windows: every recording visits every activity; class means differ, subjects shift them."""
    rng = np.random.default_rng(seed)
    X, y, recordings, subjects = [], [], [], []
    for s in range(n_subjects):
        offset = rng.normal(scale=0.3, size=len(CHANNELS))
        for r in range(recordings_per_subject):
            for label in range(len(CLASSES)):
                centre = np.eye(len(CHANNELS))[label] * 0.8 + offset
                X.append(centre + rng.normal(scale=0.8, size=(windows_per_activity, 8, len(CHANNELS))))
                y += [label] * windows_per_activity
                recordings += [f"s{s:02d}_r{r + 1}"] * windows_per_activity
                subjects += [f"s{s:02d}"] * windows_per_activity
    n = len(y)
    return WindowedDataset(
        X=np.concatenate(X).astype(np.float32),
        y=np.array(y, dtype=np.int64),
        recording_ids=np.array(recordings),
        subjects=np.array(subjects),
        start_times=1.7e9 + np.arange(n, dtype=np.float64),
        class_names=list(CLASSES),
        channel_names=list(CHANNELS),
        sample_rate_hz=50.0,
        step=4,
    )


def nearest_centroid(train: WindowedDataset, val: WindowedDataset, test: WindowedDataset, seed: int) -> np.ndarray:
    """A trivial model family: per-class centroid of channel means, softmax of negative distances."""
    assert val.n_windows > 0
    features = train.X.mean(axis=1)
    centroids = np.stack([features[train.y == c].mean(axis=0) for c in range(len(train.class_names))])
    centroids = centroids + np.random.default_rng(seed).normal(scale=0.05, size=centroids.shape)
    distances = np.linalg.norm(test.X.mean(axis=1)[:, None, :] - centroids[None], axis=2)
    logits = -distances
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------ folds
def assert_fold_guarantees(folds, subjects):
    every = sorted(set(subjects))
    tested = [s for fold in folds for s in fold.test]
    assert sorted(tested) == every  # every subject tested exactly once
    for fold in folds:
        parts = [set(fold.train), set(fold.val), set(fold.test)]
        assert all(parts)
        for a, b in combinations(parts, 2):
            assert not a & b
        assert set().union(*parts) == set(every)  # nobody is left out of a fold


@pytest.mark.parametrize("n_subjects", [3, 4, 5, 7, 12])
def test_kfold_guarantees_and_default_k(n_subjects):
    subjects = [f"p{i}" for i in range(n_subjects)]
    folds = subject_folds(np.repeat(subjects, 4), seed=1)  # per-window input, duplicates ignored
    assert len(folds) == min(5, n_subjects)
    assert [fold.index for fold in folds] == list(range(len(folds)))
    assert {fold.scheme for fold in folds} == {"kfold"}
    assert_fold_guarantees(folds, subjects)
    sizes = [len(fold.test) for fold in folds]
    assert max(sizes) - min(sizes) <= 1


def test_loso_tests_one_subject_per_fold():
    subjects = [f"p{i}" for i in range(6)]
    folds = subject_folds(subjects, scheme="loso", seed=3)
    assert len(folds) == 6 and all(len(fold.test) == 1 for fold in folds)
    assert {fold.scheme for fold in folds} == {"loso"}
    assert_fold_guarantees(folds, subjects)
    assert [len(fold.val) for fold in folds] == [1] * 6  # round(0.2 * 5) = 1
    with pytest.raises(ValueError, match="leave k unset"):
        subject_folds(subjects, k=3, scheme="loso")


def test_validation_share_follows_val_fraction_but_leaves_training_subjects():
    subjects = [f"p{i:02d}" for i in range(20)]
    folds = subject_folds(subjects, k=5, val_fraction=0.25)
    assert [(len(f.train), len(f.val), len(f.test)) for f in folds] == [(12, 4, 4)] * 5
    folds = subject_folds(subjects[:3], val_fraction=0.9)  # 2 non-test subjects: one must still train
    assert all(len(f.train) == 1 and len(f.val) == 1 for f in folds)


def test_folds_are_deterministic_per_seed():
    subjects = [f"p{i}" for i in range(10)]
    assert subject_folds(subjects, seed=7) == subject_folds(subjects, seed=7)
    assert subject_folds(subjects, seed=7) != subject_folds(subjects, seed=8)
    assert subject_folds(list(reversed(subjects)), seed=7) == subject_folds(subjects, seed=7)


@pytest.mark.parametrize("subjects", [[], ["a"], ["a", "b", "a", "b"]])
def test_too_few_subjects_is_a_clear_error(subjects):
    with pytest.raises(ValueError, match=r"at least 3 subjects .*found \d.*add recordings of more people"):
        subject_folds(subjects)


def test_bad_fold_arguments():
    subjects = ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="unknown scheme"):
        subject_folds(subjects, scheme="random")
    with pytest.raises(ValueError, match="between 2 and the number of subjects"):
        subject_folds(subjects, k=5)
    with pytest.raises(ValueError, match="between 2 and the number of subjects"):
        subject_folds(subjects, k=1)
    with pytest.raises(ValueError, match=r"leaving fewer than 2 .*use k=3"):
        subject_folds(subjects[:3], k=2)
    with pytest.raises(ValueError, match="val_fraction"):
        subject_folds(subjects, val_fraction=0.0)


def test_fold_refuses_overlapping_parts():
    with pytest.raises(ValueError, match=r"\['b'\] in more than one"):
        Fold(index=0, scheme="kfold", train=("a", "b"), val=("b",), test=("c",))


# ---------------------------------------------------------------- scoring
def hand_made_fold():
    """Classes walking/sitting/standing; three recordings, two subjects.

    r1 (s1, walking): windows predicted walking, walking, sitting, but the summed
    probabilities [1.2, 1.8, 0] favour sitting, so its vote is wrong although
    most of its windows are right.
    """
    P = np.array(
        [
            [0.6, 0.4, 0.0],  # r1 walking -> walking
            [0.6, 0.4, 0.0],  # r1 walking -> walking
            [0.0, 1.0, 0.0],  # r1 walking -> sitting   r1 sum: [1.2, 1.8, 0] -> sitting (wrong)
            [0.0, 1.0, 0.0],  # r2 sitting -> sitting
            [0.0, 1.0, 0.0],  # r2 sitting -> sitting
            [0.0, 0.0, 1.0],  # r2 sitting -> standing  r2 sum: [0, 2, 1] -> sitting (right)
            [0.0, 0.2, 0.8],  # r3 standing -> standing
            [0.1, 0.0, 0.9],  # r3 standing -> standing r3 sum -> standing (right)
        ]
    )
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    recordings = np.array(["r1"] * 3 + ["r2"] * 3 + ["r3"] * 2)
    subjects = np.array(["s1"] * 3 + ["s2"] * 5)
    return y, P, recordings, subjects


def test_score_fold_on_a_hand_made_case():
    y, P, recordings, subjects = hand_made_fold()
    score = score_fold(y, P, recordings, subjects, CLASSES)
    # confusion (rows true): walking [2, 1, 0], sitting [0, 2, 1], standing [0, 0, 2]
    assert score.confusion_matrix == [[2, 1, 0], [0, 2, 1], [0, 0, 2]]
    assert score.accuracy == pytest.approx(6 / 8)
    # walking P=1 R=2/3 -> 0.8; sitting P=2/3 R=2/3 -> 2/3; standing P=2/3 R=1 -> 0.8
    assert score.per_class_f1 == pytest.approx({"walking": 0.8, "sitting": 2 / 3, "standing": 0.8})
    assert score.macro_f1 == pytest.approx((0.8 + 2 / 3 + 0.8) / 3)
    assert score.balanced_accuracy == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert score.balanced_accuracy == pytest.approx(balanced_accuracy_score(y, P.argmax(1)))
    # soft vote: r1 wrong (a hard majority vote would call it right), r2 and r3 right
    assert score.n_recording_votes == 3
    assert score.recording_accuracy == pytest.approx(2 / 3)
    assert score.n_windows == 8
    # s1: only walking, 2/3 right, F1(walking) = 0.8; s2: sitting P=1 R=2/3 -> 0.8, standing P=2/3 R=1 -> 0.8
    assert score.per_subject == {
        "s1": {"macro_f1": pytest.approx(0.8), "accuracy": pytest.approx(2 / 3), "n_windows": 3},
        "s2": {"macro_f1": pytest.approx(0.8), "accuracy": pytest.approx(4 / 5), "n_windows": 5},
    }
    assert score.test_subjects == ["s1", "s2"]


def test_recording_votes_are_per_activity_within_a_recording():
    # one recording holding two activities: each activity is a vote of its own
    y = np.array([0, 0, 1, 1])
    P = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.3, 0.7, 0], [0.6, 0.4, 0]])  # sums [1.1, .9], [.9, 1.1]
    score = score_fold(y, P, np.array(["r"] * 4), np.array(["s"] * 4), CLASSES)
    assert score.n_recording_votes == 2 and score.recording_accuracy == 1.0
    assert score.accuracy == 0.5


def test_absent_class_is_left_out_of_macro_f1_but_false_alarms_count():
    y = np.array([0, 0, 0, 0])
    P = np.array([[1.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]])  # one window called 'standing'
    score = score_fold(y, P, np.array(["r"] * 4), np.array(["s"] * 4), CLASSES)
    assert set(score.per_class_f1) == {"walking"}
    assert score.macro_f1 == pytest.approx(2 * 0.75 / 1.75)  # P=1, R=3/4
    assert score.balanced_accuracy == pytest.approx(0.75)
    assert score.confusion_matrix[0] == [3, 0, 1]


def test_score_fold_refuses_bad_input():
    y, P, recordings, subjects = hand_made_fold()
    with pytest.raises(ValueError, match=r"shape \(8, 3\)"):
        score_fold(y, P[:, :2], recordings, subjects, CLASSES)
    with pytest.raises(ValueError, match="finite and non-negative"):
        score_fold(y, np.where(P == 1.0, np.nan, P), recordings, subjects, CLASSES)
    with pytest.raises(ValueError, match="no unlabelled windows"):
        score_fold(np.where(y == 2, -1, y), P, recordings, subjects, CLASSES)
    with pytest.raises(ValueError, match="without test windows"):
        score_fold(y[:0], P[:0], recordings[:0], subjects[:0], CLASSES)
    with pytest.raises(ValueError, match="subjects must have shape"):
        score_fold(y, P, recordings, subjects[:3], CLASSES)


# ------------------------------------------------------------ cross_validate
@pytest.fixture(scope="module")
def windows() -> WindowedDataset:
    return make_windows()


@pytest.fixture(scope="module")
def report(windows) -> CrossValidationReport:
    folds = subject_folds(windows.subjects, k=3, seed=0)
    return cross_validate(
        windows, nearest_centroid, folds, seeds=(0, 1), family="nearest_centroid", params={"features": "mean"}
    )


def test_cross_validate_calls_every_fold_and_seed_on_disjoint_subjects(windows):
    folds = subject_folds(windows.subjects, scheme="loso", seed=2)
    calls = []

    def fit_predict(train, val, test, seed):
        parts = [set(train.subjects), set(val.subjects), set(test.subjects)]
        assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        calls.append((tuple(sorted(parts[2])), seed))
        return nearest_centroid(train, val, test, seed)

    result = cross_validate(windows, fit_predict, folds, seeds=(5, 6))
    assert calls == [(fold.test, seed) for fold in folds for seed in (5, 6)]
    assert result.family == "fit_predict" and result.scheme == "loso" and result.n_folds == 6
    assert [(s.fold, s.seed) for s in result.folds] == [(f.index, seed) for f in folds for seed in (5, 6)]
    assert all(s.test_subjects == list(f.test) and s.val_subjects == list(f.val)
               for s, f in zip(result.folds[::2], folds, strict=True))


def test_aggregates_follow_the_fold_scores(report, windows):
    assert report.n_folds == 3 and report.seeds == [0, 1] and len(report.folds) == 6
    for metric in CV_METRICS:
        values = [getattr(score, metric) for score in report.folds]
        assert report.mean(metric) == pytest.approx(np.mean(values))
        assert report.std(metric) == pytest.approx(np.std(values))
    assert 0.7 < report.mean("macro_f1") < 1.0  # separable, but not trivially
    # every window counted once per seed
    assert np.sum(report.confusion_matrix) == 2 * windows.n_windows
    assert np.trace(report.confusion_matrix) == sum(round(s.accuracy * s.n_windows) for s in report.folds)
    per_subject = report.per_subject
    assert sorted(per_subject) == sorted(set(windows.subjects))
    for subject, values in per_subject.items():
        entries = [s.per_subject[subject] for s in report.folds if subject in s.per_subject]
        assert len(entries) == 2  # tested once per seed
        assert values["macro_f1"] == pytest.approx(np.mean([e["macro_f1"] for e in entries]))
        assert values["n_windows"] == int((windows.subjects == subject).sum())
    worst = min(per_subject.values(), key=lambda v: v["macro_f1"])["macro_f1"]
    assert report.worst_subject_macro_f1 == worst == per_subject[report.worst_subject]["macro_f1"]
    assert set(report.per_class_f1) == set(CLASSES)


def test_flat_metrics_are_mlflow_ready(report):
    metrics = report.flat_metrics()
    expected = {f"cv_{m}_{s}" for m in CV_METRICS for s in ("mean", "std")}
    expected |= {"cv_worst_subject_macro_f1"} | {f"cv_f1_{name}" for name in CLASSES}
    assert set(metrics) == expected
    assert all(type(value) is float and np.isfinite(value) for value in metrics.values())
    assert metrics["cv_macro_f1_mean"] == report.mean("macro_f1")
    assert metrics["cv_recording_accuracy_mean"] == report.mean("recording_accuracy")
    assert metrics["cv_f1_sitting"] == report.per_class_f1["sitting"]


def test_perfect_and_constant_families_give_known_numbers(windows):
    folds = subject_folds(windows.subjects, k=3)

    def oracle(train, val, test, seed):
        return np.eye(len(CLASSES))[test.y]

    def always_walking(train, val, test, seed):
        return np.tile([1.0, 0.0, 0.0], (test.n_windows, 1))

    perfect = cross_validate(windows, oracle, folds)
    assert perfect.flat_metrics()["cv_macro_f1_mean"] == 1.0 and perfect.std("accuracy") == 0.0
    assert perfect.worst_subject_macro_f1 == 1.0
    constant = cross_validate(windows, always_walking, folds)
    assert constant.mean("accuracy") == pytest.approx(1 / 3)
    assert constant.mean("balanced_accuracy") == pytest.approx(1 / 3)
    assert constant.mean("recording_accuracy") == pytest.approx(1 / 3)
    assert constant.per_class_f1["sitting"] == 0.0 and constant.per_class_f1["walking"] == pytest.approx(0.5)


def test_cross_validate_is_deterministic(windows):
    folds = subject_folds(windows.subjects, k=3, seed=4)
    first = cross_validate(windows, nearest_centroid, folds, seeds=(0, 1))
    second = cross_validate(windows, nearest_centroid, subject_folds(windows.subjects, k=3, seed=4), seeds=(0, 1))
    assert first.to_dict() == second.to_dict()


def test_cross_validate_refuses_mismatched_folds_and_bad_predictions(windows):
    folds = subject_folds(windows.subjects, k=3)
    with pytest.raises(ValueError, match=r"never tested: \['s05'\]"):
        cross_validate(windows, nearest_centroid, subject_folds([f"s{i:02d}" for i in range(5)], k=3))
    with pytest.raises(ValueError, match="tested more than once"):
        cross_validate(windows, nearest_centroid, [*folds, folds[0]])
    with pytest.raises(ValueError, match=r"fold 0, seed 3: probabilities must have shape"):
        cross_validate(windows, lambda tr, va, te, seed: np.ones((te.n_windows, 2)), folds, seeds=(3,))
    with pytest.raises(ValueError, match="distinct integers"):
        cross_validate(windows, nearest_centroid, folds, seeds=(1, 1))
    unlabelled = windows.subset(np.arange(windows.n_windows))
    unlabelled.y[:2] = -1
    with pytest.raises(ValueError, match="2 of .* windows are unlabelled"):
        cross_validate(unlabelled, nearest_centroid, folds)


# ------------------------------------------------------------ round trip
def test_report_round_trips_through_json(report):
    content = json.loads(json.dumps(report.to_dict()))
    loaded = CrossValidationReport.from_dict(content)
    assert loaded == report
    assert loaded.flat_metrics() == report.flat_metrics()
    assert content["summary"]["macro_f1_mean"] == report.mean("macro_f1")
    assert content["summary"]["worst_subject"] == report.worst_subject


def test_report_refuses_inconsistent_content(report):
    content = report.to_dict()
    with pytest.raises(ValueError, match=r"3 folds x 2 seeds = 6 fold scores, got 5"):
        CrossValidationReport.from_dict({**content, "folds": content["folds"][:5]})
    broken = json.loads(json.dumps(content))
    broken["folds"][0]["confusion_matrix"] = broken["folds"][0]["confusion_matrix"][:2]
    with pytest.raises(ValueError, match=r"fold 0 \(seed 0\): confusion matrix has shape"):
        CrossValidationReport.from_dict(broken)
    broken = json.loads(json.dumps(content))
    broken["folds"][1]["macro_f1"] = "high"
    with pytest.raises(ValueError, match="'macro_f1' must be a number"):
        CrossValidationReport.from_dict(broken)
    with pytest.raises(ValueError, match="unknown metric"):
        report.mean("f2")


def test_module_imports_no_zenml_or_tensorflow():
    code = (
        "import sys, har.cross_validation; "
        "bad = [m for m in ('zenml', 'tensorflow', 'keras') if m in sys.modules]; assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
