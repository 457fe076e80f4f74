"""Model families compared on the `realistic` profile's data (configs/datasets/realistic.yaml: the built-in data
with people who differ as real people do), on the same subject-wise folds.

    python benchmarks/bench_families.py [--families cnn_bilstm,resnet1d,minirocket] [--folds 4]
        [--epochs 12] [--n-kernels 10000] [--augment] [--seeds 3] [--iso] [--synthetic KEY=VALUE ...]

Data: `har.synthetic.generate_dataset` with configs/datasets/default.yaml's
generator settings (`synthetic:`, including its between-subject variation),
into a temporary folder, so nothing is downloaded and data/default is not
needed; ingested and windowed by the project's own code (`har.ingest`,
`har.windowing`). `--synthetic KEY=VALUE` overrides one generator setting
(e.g. `--synthetic orientation_deg=0`) to see how a family reacts to it.

Folds: `har.cross_validation.subject_folds` (grouped k-fold by subject, the
subjects shuffled by `--seed`; a share of each fold's training subjects held
out for early stopping and MiniRocket's temperature), the same folds for every
family. Each fold fits the channel normaliser on its training subjects only.

Prints, per family, next to MiniRocket: CV macro-F1 mean +- std over folds,
balanced, window and recording-level accuracy, the worst test subject, the
fitted model's size on disk (`family.save`, all files), and prediction latency
per window (in one batch of the test fold, and for one window alone).

`--seeds N` trains every fold with N seeds and prints the std across seeds of
the CV macro-F1 (target <= 0.02). `--iso` regenerates the same recordings
with ISO-8601 timestamps and checks the CV macro-F1 on the same folds and
seed is within 0.01 of the epoch-ms original. `--epochs` caps the Keras
families (early stopping as in training) to fit a 2-core budget: the default
run (3 families, 4 folds, 30 epochs max) took 229 s there. Asserts nothing; the
exit code is 1 when a `--seeds`/`--iso` target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "realistic"  # its `synthetic:` settings make subjects differ as real people do
sys.path.insert(0, str(ROOT))

from har.augmentation import AugmentationConfig, augment_dataset  # noqa: E402
from har.config import channel_names  # noqa: E402
from har.cross_validation import Fold, cross_validate, subject_folds  # noqa: E402
from har.families import available_families, get_family  # noqa: E402
from har.ingest import ingest_recordings  # noqa: E402
from har.normalization import fit_normalizer  # noqa: E402
from har.profiles import load_dataset  # noqa: E402
from har.synthetic import generate_dataset  # noqa: E402
from har.types import CrossValidationReport, WindowedDataset  # noqa: E402
from har.windowing import make_windows  # noqa: E402

SEEDS_STD_TARGET = 0.02
ISO_DELTA_TARGET = 0.01


def generator_settings(overrides: Sequence[str]) -> Dict[str, Any]:
    """The profile's generate_dataset arguments (rate, activities, `synthetic:`), with overrides."""
    dataset = load_dataset(PROFILE, ROOT)
    settings: Dict[str, Any] = {
        "activities": list(dataset.data.activities),
        "sampling_rate_hz": dataset.data.sampling_rate_hz,
        **dataset.profile.synthetic.generator(),
    }
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or key not in settings and key not in generate_dataset.__kwdefaults__:
            raise SystemExit(f"--synthetic {item!r}: expected KEY=VALUE with KEY a generate_dataset argument")
        settings[key] = yaml.safe_load(value)
    return settings


def load_windows(folder: Path, settings: Dict[str, Any], timestamp_format: str = "epoch_ms") -> WindowedDataset:
    dataset = load_dataset(PROFILE, ROOT)
    start = time.perf_counter()
    generate_dataset(folder, **{**settings, "timestamp_format": timestamp_format})
    frame, _ = ingest_recordings(folder, dataset.data, dataset.schema)
    windows = make_windows(frame, dataset.data, channel_names(dataset.data, dataset.schema))
    print(f"data ({timestamp_format}): {windows.n_windows} windows of {windows.window_size} x "
          f"{len(windows.channel_names)} from {len(np.unique(windows.subjects))} subjects, "
          f"{len(windows.class_names)} classes ({time.perf_counter() - start:.1f} s to generate, ingest, window)",
          flush=True)
    return windows


def params_for(name: str, epochs: int, n_kernels: int) -> Dict[str, Any]:
    return {"n_kernels": n_kernels} if name == "minirocket" else {"epochs": epochs}


def single_window_ms(model, X: np.ndarray, repeats: int = 30) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        model.predict_proba(X[i % len(X)][None])
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


@dataclass
class FamilyRun:
    """One family's cross-validation plus what was measured on its fitted models."""

    name: str
    report: CrossValidationReport | None = None
    fit_s: List[float] = field(default_factory=list)
    epochs: List[int] = field(default_factory=list)
    batch_ms: List[float] = field(default_factory=list)
    one_ms: float = float("nan")
    size_bytes: int = 0

    def seed_means(self) -> Dict[int, float]:
        """CV macro-F1 (mean over folds) per training seed."""
        scores = self.report.folds
        return {seed: float(np.mean([s.macro_f1 for s in scores if s.seed == seed])) for seed in self.report.seeds}


def run_family(name: str, windows: WindowedDataset, folds: List[Fold], seeds: Sequence[int],
               args: argparse.Namespace) -> FamilyRun:
    run = FamilyRun(name)
    params = params_for(name, args.epochs, args.n_kernels)
    last: Dict[str, Any] = {}

    def fit_predict(train: WindowedDataset, val: WindowedDataset, test: WindowedDataset, seed: int) -> np.ndarray:
        normalizer = fit_normalizer(train)
        if args.augment:
            train = augment_dataset(train, AugmentationConfig(), seed=seed + len(run.fit_s))
        for part in (train, val, test):
            part.X = normalizer.transform(part.X)
        start = time.perf_counter()
        model = get_family(name)().fit(train, val, params, seed=seed)
        run.fit_s.append(time.perf_counter() - start)
        run.epochs.append(len(model.history_.get("loss", [])))
        start = time.perf_counter()
        proba = model.predict_proba(test.X)
        run.batch_ms.append(1000.0 * (time.perf_counter() - start) / test.n_windows)
        last.update(model=model, X=test.X)
        f1 = _quick_f1(test.y, proba.argmax(axis=1))
        print(f"  {name:11s} fold {(len(run.fit_s) - 1) // len(seeds):2d} seed {seed}: macro-F1 {f1:.4f}  fit "
              f"{run.fit_s[-1]:6.1f} s (epochs {run.epochs[-1] or '-'})  {run.batch_ms[-1]:.3f} ms/window",
              flush=True)
        return proba

    run.report = cross_validate(windows, fit_predict, folds, seeds=seeds, family=name, params=params)
    run.one_ms = single_window_ms(last["model"], last["X"])
    with tempfile.TemporaryDirectory(prefix=f"har-bench-{name}-") as tmp:
        run.size_bytes = sum(p.stat().st_size for p in last["model"].save(Path(tmp) / "model"))
    return run


def _quick_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0))


def print_table(runs: List[FamilyRun]) -> None:
    header = (f"{'family':11s} | {'CV macro-F1':16s} | {'bal. acc':8s} | {'window acc':10s} | {'recording acc':13s} | "
              f"{'worst subject':13s} | {'size MB':>7s} | {'fit s':>6s} | {'ms/window':>9s} | {'1-window ms':>11s}")
    print(header)
    print("-" * len(header))
    for run in sorted(runs, key=lambda r: r.name != "minirocket"):
        r = run.report
        print(f"{run.name:11s} | {r.mean('macro_f1'):.4f} +- {r.std('macro_f1'):.4f} | "
              f"{r.mean('balanced_accuracy'):8.4f} | {r.mean('accuracy'):10.4f} | "
              f"{r.mean('recording_accuracy'):13.4f} | "
              f"{r.worst_subject:>4s} {r.worst_subject_macro_f1:8.4f} | {run.size_bytes / 1e6:7.2f} | "
              f"{np.mean(run.fit_s):6.1f} | {np.mean(run.batch_ms):9.3f} | {run.one_ms:11.2f}")
    reference = next((run for run in runs if run.name == "minirocket"), None)
    if reference is not None:
        for run in runs:
            if run is not reference:
                gap = run.report.mean("macro_f1") - reference.report.mean("macro_f1")
                print(f"{run.name} vs minirocket: CV macro-F1 {gap:+.4f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(available_families()))
    parser.add_argument("--folds", type=int, default=4, help="k of the subject-grouped k-fold")
    parser.add_argument("--epochs", type=int, default=30, help="max epochs of the Keras families")
    parser.add_argument("--n-kernels", type=int, default=10_000, help="MiniRocket features")
    parser.add_argument("--augment", action="store_true", help="add one augmented copy of each training window")
    parser.add_argument("--seed", type=int, default=42, help="fold shuffle and (first) training seed")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per fold; >1 prints the seed std")
    parser.add_argument("--iso", action="store_true", help="also score the same recordings with ISO-8601 timestamps")
    parser.add_argument("--synthetic", action="append", default=[], metavar="KEY=VALUE",
                        help="override a generator setting of the profile (repeatable)")
    args = parser.parse_args()
    families = [get_family(name.strip()).name for name in args.families.split(",")]
    seeds = [args.seed + i for i in range(args.seeds)]
    settings = generator_settings(args.synthetic)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="har-bench-families-") as tmp:
        windows = load_windows(Path(tmp) / "epoch", settings)
        iso = load_windows(Path(tmp) / "iso", settings, "iso8601") if args.iso else None
    folds = subject_folds(windows.subjects, k=args.folds, seed=args.seed)
    varied = {k: v for k, v in settings.items() if k not in ("activities",)}
    print(f"generator: {varied}")
    print(f"budget: {args.folds}-fold subject-grouped CV x {len(seeds)} seed(s) x {len(families)} families; "
          f"Keras families max {args.epochs} epochs (early stopping); MiniRocket {args.n_kernels} kernels; "
          f"augmentation {'on' if args.augment else 'off'}")
    for fold in folds:
        print(f"fold {fold.index}: test {', '.join(fold.test)} | val {', '.join(fold.val)} | "
              f"{len(fold.train)} train subjects")

    runs = [run_family(name, windows, folds, seeds, args) for name in families]
    print(f"\n{args.folds}-fold subject-grouped CV, seeds {seeds}; {time.perf_counter() - started:.0f} s so far")
    print_table(runs)

    failed = False
    if len(seeds) > 1:
        print(f"\nstability: std of CV macro-F1 across {len(seeds)} training seeds (same folds; target <= "
              f"{SEEDS_STD_TARGET})")
        for run in runs:
            means = run.seed_means()
            std = float(np.std(list(means.values())))
            failed |= std > SEEDS_STD_TARGET
            print(f"{run.name:11s} per seed {', '.join(f'{s}: {m:.4f}' for s, m in means.items())}  std {std:.4f}  "
                  f"{'ok' if std <= SEEDS_STD_TARGET else 'MISSED'}")
    if iso is not None:
        same = (np.array_equal(iso.subjects, windows.subjects) and np.array_equal(iso.y, windows.y)
                and iso.X.shape == windows.X.shape)
        diff = float(np.max(np.abs(iso.X - windows.X))) if same else float("nan")
        print(f"\nISO-8601 timestamps: same windows and labels: {same}; max |x_iso - x_epoch| {diff:.2e} "
              f"(ms-rounded timestamps); seed {seeds[0]}, same folds (target |delta| <= {ISO_DELTA_TARGET})")
        iso_folds = subject_folds(iso.subjects, k=args.folds, seed=args.seed)
        for run in runs:
            original = float(np.mean([s.macro_f1 for s in run.report.folds if s.seed == seeds[0]]))
            iso_run = run_family(run.name, iso, iso_folds, seeds[:1], args)
            delta = iso_run.report.mean("macro_f1") - original
            failed |= abs(delta) > ISO_DELTA_TARGET
            print(f"{run.name:11s} epoch-ms {original:.4f}  iso {iso_run.report.mean('macro_f1'):.4f}  delta "
                  f"{delta:+.4f}  {'ok' if abs(delta) <= ISO_DELTA_TARGET else 'MISSED'}", flush=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
