"""Drift detection power and false alarms on generated batches.

    python benchmarks/bench_drift.py [--batches 40] [--subjects-per-batch 2] [--seconds 20]

Reference: the training split of the default data, as the training pipeline
cuts it, and a model trained on it here (for the predicted-activity column).
Each batch holds new, unseen subjects; it is checked unshifted and with each
shift of `har/shifts.py` (gain x1.3, +0.5 g offset, swapped axes, 30 degree
rotation, noise x3, 40 Hz data declared as 50 Hz) with the same Evidently
tests and thresholds the drift pipeline uses (`configs/drift.yaml`). Prints
the detection rate per shift and the false-alarm rate; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from har.config import channel_names, load_yaml  # noqa: E402
from har.drift import (  # noqa: E402
    SUBJECT_COLUMN,
    DriftConfig,
    calibrate_thresholds,
    drift_frame,
    run_drift_report,
    verdict_from_report,
)
from har.ingest import ingest_recordings  # noqa: E402
from har.profiles import load_dataset  # noqa: E402
from har.shifts import SHIFTS  # noqa: E402
from har.splitting import split_by_subject  # noqa: E402
from har.synthetic import generate_dataset  # noqa: E402
from har.training import Recipe, fit_recipe  # noqa: E402
from har.windowing import make_windows  # noqa: E402


def frame_for(windows, model, normalizer):
    labels = np.asarray(windows.class_names)[model.predict_proba(normalizer.transform(windows.X)).argmax(1)]
    return drift_frame(windows, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--subjects-per-batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per activity in a batch recording")
    args = parser.parse_args()

    train_cfg = load_yaml(ROOT / "configs" / "train.yaml")
    dataset = load_dataset("default", ROOT)
    data, schema = dataset.data, dataset.schema
    drift_cfg = DriftConfig.model_validate(
        load_yaml(ROOT / "configs" / "drift.yaml")["steps"]["detect_drift"]["parameters"].get("drift", {}))
    channels = channel_names(data, schema)
    generator = dataset.profile.synthetic.generator()
    split = train_cfg["steps"]["split_windows"]["parameters"]

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate_dataset(Path(tmp) / "reference", sampling_rate_hz=data.sampling_rate_hz,
                         activities=data.activities, **generator)
        sensor, _ = ingest_recordings(Path(tmp) / "reference", data, schema)
        train, val, _, _ = split_by_subject(make_windows(sensor, data, channels), **split)
        recipe = Recipe.model_validate(train_cfg["steps"]["cross_validate_model"]["parameters"]["recipe"])
        normalizer, model = fit_recipe(recipe, train, val)  # the training config's family, fitted as a fold is
        reference = frame_for(train, model, normalizer)
        calibration = frame_for(val, model, normalizer)
        calibration[SUBJECT_COLUMN] = val.subjects
        thresholds = calibrate_thresholds(reference, calibration, drift_cfg)
        print(f"reference: {len(reference)} training windows of {generator['n_subjects']} subjects' training split "
              f"({time.perf_counter() - started:.0f} s incl. training); tests: features {drift_cfg.feature_stattest} "
              f"> {drift_cfg.feature_threshold}, dataset drift if share >= {drift_cfg.drift_share}; predictions "
              f"{drift_cfg.prediction_stattest} > {drift_cfg.prediction_threshold}")

        conditions = ["unshifted (new subjects)", *SHIFTS]
        detected = {c: [] for c in conditions}
        shares = {c: [] for c in conditions}
        report_times = []
        for k in range(args.batches):
            batch_dir = Path(tmp) / f"batch{k}"
            generate_dataset(batch_dir, seed=generator["seed"], n_subjects=args.subjects_per_batch,
                             first_subject=100 + k * args.subjects_per_batch, seconds_per_activity=args.seconds,
                             sampling_rate_hz=data.sampling_rate_hz, activities=data.activities)
            batch, _ = ingest_recordings(batch_dir, data, schema)
            for condition in conditions:
                shifted = batch if condition == conditions[0] else SHIFTS[condition](batch)
                windows = make_windows(shifted, data, channels, keep_unlabelled=True)
                current = frame_for(windows, model, normalizer)
                start = time.perf_counter()
                verdict = verdict_from_report(run_drift_report(reference, current, drift_cfg, thresholds).as_dict(),
                                              drift_cfg, reference, current, thresholds)
                report_times.append(time.perf_counter() - start)
                detected[condition].append(verdict.drift_detected)
                shares[condition].append(verdict.drift_share)
            print(f"  batch {k + 1}/{args.batches}: {len(current)} windows; "
                  + " ".join(f"{int(detected[c][-1])}" for c in conditions), flush=True)

    print(f"\n{args.batches} batches of {args.subjects_per_batch} unseen subjects "
          f"(~{len(current)} windows each); Evidently report {np.median(report_times):.2f} s median")
    print(f"  {'condition':32s} {'flagged':>8s}  {'drift share: median [min, max]'}")
    print(f"  (per-feature thresholds calibrated on {len(set(calibration[SUBJECT_COLUMN]))} validation subjects, "
          f"margin {drift_cfg.calibration_margin})")
    for condition in conditions:
        rate = np.mean(detected[condition])
        label = "false alarms" if condition == conditions[0] else "detected"
        s = np.array(shares[condition])
        print(f"  {condition:32s} {rate:7.1%}  {label:12s} share {np.median(s):.2f} [{s.min():.2f}, {s.max():.2f}]")


if __name__ == "__main__":
    main()
