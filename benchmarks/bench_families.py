"""Model families compared on the default synthetic data, by subject-grouped k-fold.

    python benchmarks/bench_families.py [--epochs 12] [--folds 4] [--families cnn_bilstm,resnet1d,minirocket]

Data: `har.synthetic.generate_dataset` with configs/datasets/default.yaml's
settings (into a temporary folder), windowed by `har.windowing`. Per fold
(sklearn GroupKFold over subjects): two training subjects are held out as the
validation split (early stopping, MiniRocket's temperature), the normalizer is
fitted on the rest, and each family is fitted and scored on the unseen
subjects. Prints mean +- std of macro-F1 and window accuracy, fit time, and
prediction latency (per window in one batch, and for a single window).
`--epochs` caps the Keras families' epochs (default 12 to fit a 2-core
budget; early stopping as in training). Asserts nothing.
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

from har.augmentation import AugmentationConfig, augment_dataset  # noqa: E402
from har.config import channel_names  # noqa: E402
from har.evaluation import evaluate_predictions  # noqa: E402
from har.families import available_families, get_family  # noqa: E402
from har.ingest import ingest_recordings  # noqa: E402
from har.normalization import fit_normalizer  # noqa: E402
from har.profiles import load_dataset  # noqa: E402
from har.synthetic import generate_dataset  # noqa: E402
from har.windowing import make_windows  # noqa: E402


def load_windows(folder: Path):
    dataset = load_dataset("default", ROOT)
    data, synthetic = dataset.data, dataset.profile.synthetic
    start = time.perf_counter()
    generate_dataset(folder, activities=data.activities, sampling_rate_hz=data.sampling_rate_hz,
                     **synthetic.generator())
    frame, _ = ingest_recordings(folder, data, dataset.schema)
    windows = make_windows(frame, data, channel_names(data, dataset.schema))
    print(f"data: {windows.n_windows} windows of {windows.window_size} x {len(windows.channel_names)} from "
          f"{len(np.unique(windows.subjects))} subjects, {len(windows.class_names)} classes "
          f"({time.perf_counter() - start:.1f} s to generate, ingest, window)")
    return windows


def params_for(name: str, epochs: int, n_kernels: int) -> dict:
    if name == "minirocket":
        return {"n_kernels": n_kernels}
    return {"epochs": epochs}


def single_window_ms(model, X: np.ndarray, repeats: int = 30) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        model.predict_proba(X[i % len(X)][None])
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(available_families()))
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=12, help="max epochs of the Keras families")
    parser.add_argument("--n-kernels", type=int, default=10_000, help="MiniRocket features")
    parser.add_argument("--augment", action="store_true", help="add one augmented copy of each training window")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    families = [get_family(name.strip()).name for name in args.families.split(",")]

    from sklearn.model_selection import GroupKFold

    with tempfile.TemporaryDirectory(prefix="har-bench-families-") as tmp:
        windows = load_windows(Path(tmp) / "data")
    rng = np.random.default_rng(args.seed)
    results = {name: {"f1": [], "acc": [], "fit_s": [], "batch_ms": [], "one_ms": []} for name in families}
    for fold, (train_idx, test_idx) in enumerate(GroupKFold(n_splits=args.folds).split(
            windows.X, windows.y, windows.subjects)):
        train_subjects = np.unique(windows.subjects[train_idx])
        val_subjects = rng.choice(train_subjects, size=2, replace=False)
        is_val = np.isin(windows.subjects, val_subjects)
        train = windows.subset(np.isin(np.arange(windows.n_windows), train_idx) & ~is_val)
        val, test = windows.subset(is_val), windows.subset(test_idx)
        normalizer = fit_normalizer(train)
        if args.augment:
            train = augment_dataset(train, AugmentationConfig(), seed=args.seed + fold)
        for ds in (train, val, test):
            ds.X = normalizer.transform(ds.X)
        print(f"fold {fold + 1}/{args.folds}: train {train.n_windows}, val {val.n_windows} "
              f"({', '.join(sorted(val_subjects))}), test {test.n_windows} windows "
              f"({', '.join(sorted(np.unique(test.subjects)))})", flush=True)
        for name in families:
            start = time.perf_counter()
            model = get_family(name)().fit(train, val, params_for(name, args.epochs, args.n_kernels),
                                           seed=args.seed)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            proba = model.predict_proba(test.X)
            batch_ms = 1000.0 * (time.perf_counter() - start) / test.n_windows
            report = evaluate_predictions(test.y, proba.argmax(axis=1), test.class_names)
            row = results[name]
            row["f1"].append(report.macro_f1)
            row["acc"].append(report.accuracy)
            row["fit_s"].append(fit_s)
            row["batch_ms"].append(batch_ms)
            row["one_ms"].append(single_window_ms(model, test.X))
            epochs = len(model.history_.get("loss", [])) or "-"
            print(f"  {name:11s} macro-F1 {report.macro_f1:.4f}  acc {report.accuracy:.4f}  fit {fit_s:6.1f} s "
                  f"(epochs {epochs})  {batch_ms:.3f} ms/window batched", flush=True)

    print(f"\n{args.folds}-fold GroupKFold by subject; Keras families max {args.epochs} epochs; "
          f"MiniRocket {args.n_kernels} kernels; augmentation {'on' if args.augment else 'off'}")
    header = (f"{'family':11s} | {'macro-F1':15s} | {'accuracy':15s} | {'fit s':>7s} | {'ms/window':>9s} | "
              f"{'1-window ms':>11s}")
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        f1, acc = np.array(row["f1"]), np.array(row["acc"])
        print(f"{name:11s} | {f1.mean():.4f} +- {f1.std():.4f} | {acc.mean():.4f} +- {acc.std():.4f} | "
              f"{np.mean(row['fit_s']):7.1f} | {np.mean(row['batch_ms']):9.3f} | {np.mean(row['one_ms']):11.2f}")


if __name__ == "__main__":
    main()
