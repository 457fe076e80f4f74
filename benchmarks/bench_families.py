"""The search the product runs, on a dataset profile's data: every trial's subject-wise CV scores, size and latency
next to MiniRocket's (train.yaml's recipe) on the same folds, and which trial the search would choose.

    python benchmarks/bench_families.py [--profile default|realistic|NAME|FILE] [--search configs/search.yaml]
        [--folds K] [--all-subjects] [--champion] [--trials trial_1,trial_3] [--families minirocket,resnet1d]
        [--seeds N] [--iso] [--synthetic KEY=VALUE ...]

What it measures, and how:

- Data: the profile's (`--profile`, default `default` = configs/datasets/default.yaml) generator settings
  (`synthetic:`) through `har.synthetic.generate_dataset` into a temporary folder (data/ is not touched;
  `--synthetic KEY=VALUE` overrides one setting), or the profile's `data_dir` for real recordings; ingested and
  windowed by the pipeline's own code (`har.ingest`, `har.windowing`). `realistic` = people who differ as real
  people do (placement, orientation, wrist, cadence, intensity).
- Subjects: as the search pipeline, the training subjects only (train + val of `split_windows` with the run
  config's split settings; its test subjects are left out); `--all-subjects` cross-validates every subject.
- Trials: `parameters.search` of the run config (`--search`, default configs/search.yaml, `extends:`
  train.yaml), with the profile's `augmentation:` (if any) for every candidate and for train.yaml's recipe
  that set none of their own (`har.training.with_default_augmentation`, as the run configs), parsed with
  `har.search.SearchSpace`; `SearchSpace.trials()` gives the names and recipes (no champion: a fresh project
  has no production version; `--champion` passes train.yaml's recipe as the champion, as the pipeline does
  once a version trained with it is in production). Each trial is scored by
  `har.training.cross_validate_recipe` with one `CrossValidationSettings` for all (the run config's
  `steps.cross_validate_model.parameters.cross_validation`, k overridden by `--folds`): the same folds, same
  fold seed. The budget is the pipeline's (`pipelines/wiring.py search_trials`): at most `max_trials`, and no
  new trial starts once `max_minutes` have passed since the search started (the clock counts the trials' cross-
  validation only; the measurements below come after the search). Then `har.search.choose` (with
  `prefer_exportable_within`) names the trial the search would choose.
- Reference: MiniRocket with train.yaml's recipe (`steps.cross_validate_model.parameters.recipe`); when no
  trial has that recipe it is scored on the same folds as an extra row (`reference`), outside the budget and
  outside the choice. Every trial's CV macro-F1 is printed as a delta to it.
- Per trial: CV macro-F1 mean +- std over the folds, balanced / window / recording-level accuracy, the worst
  test subject; the mean fit seconds per fold (and the epochs early stopping kept). On the model of the LAST
  cross-validation fold (fitted on that fold's training subjects; the fits are recorded while
  `cross_validate_recipe` runs, nothing is refitted): `family.save` size (all files, MB), the ONNX export
  (`har.export.to_onnx` of `export_graph()` with the fold's normaliser folded in) size (KB), ONNX Runtime
  latency per window with 1 thread for one window alone (`har.export.benchmark`: a fresh process, median of
  200 calls, what the export report shows) and in batches of 64 (in this process, median of 20 batches / 64),
  the ONNX top-1 agreement with the native model on that fold's test windows, and the native `predict_proba`
  latency per window (one window alone, median of 30 calls; batch of 64, median of 10 / 64). "watch" = the
  family's `exportable`.
- `--seeds N`: the chosen trial and the reference with N training seeds on the same folds (the recipe's seed
  first, then the next ones); the std across seeds of the CV macro-F1 must be <= 0.02.
- `--iso`: the same recordings written with ISO-8601 timestamps; the chosen trial's and the reference's CV
  macro-F1 on the same folds and seed must be within 0.01 of the epoch-ms figure.
Asserts nothing else: the exit code is 1 only when a `--seeds`/`--iso` target is missed. Prints the total wall
time and the search budget used.

Measured 2026-12-01 on the 2-core machine (no GPU), default search (configs/search.yaml, no champion: 5 trials,
no budget cut), 5 folds of the 13 training subjects (fold_seed 0), seed 42. Columns: CV macro-F1 mean +- std
over folds, delta to MiniRocket 10k, recording accuracy, worst subject; on the last fold's model: family.save
MB, ONNX KB, ONNX Runtime ms/window (1 window | batch 64), native predict_proba ms/window (1 | 64), fit s/fold.

`python benchmarks/bench_families.py` (default data): 484 s wall (8.1 min; the search 7.8 of its 12 min)
  trial_1 minirocket 10k  .9775+-.0386 chosen  rec .978 worst .813 0.70 660 0.46|0.54 0.93|1.34  5.6
  trial_4 minirocket 5k   .9761+-.0436 -.0014  rec .978 worst .801 0.36 483 0.31|0.29 0.87|0.69  2.9
  trial_3 resnet1d+aug    .9662+-.0312 -.0113  rec .972 worst .774 1.74 522 0.22|0.19 15.1|0.53 63.5
  trial_2 cnn_bilstm 32   .8402+-.0572 -.1372  rec .850 worst .603 0.54 160 0.05|0.03 59.3|0.97 10.5
  trial_5 cnn_bilstm 64   .8248+-.0563 -.1526  rec .822 worst .623 1.06 330 0.09|0.04 61.9|1.08  9.1
`--profile realistic` (its `augmentation:` on every trial): 444 s wall (7.4 min; the search 7.1 min); sizes
and latencies as above
  trial_1 minirocket 10k  .9733+-.0197 chosen  rec .989 worst .782   fit s/fold 18.1
  trial_4 minirocket 5k   .9703+-.0186 -.0030  rec .989 worst .778               5.9
  trial_3 resnet1d+aug    .7880+-.0941 -.1853  rec .811 worst .480              36.1
  trial_5 cnn_bilstm 64   .7690+-.0768 -.2044  rec .794 worst .414              10.9
  trial_2 cnn_bilstm 32   .7446+-.1082 -.2288  rec .778 worst .303              12.9
`--seeds 3 --iso --trials trial_1` (default data; the chosen trial is the reference): 122 s wall;
  seeds 42/43/44: .9775/.9766/.9790, std 0.0010 (ok); ISO-8601 .9782 vs epoch-ms .9775, +0.0008 (ok).
ONNX top-1 agreement with the native model: 1.000 for every trial. Keras' native single-window call costs
~60 ms (cnn_bilstm) / ~15 ms (resnet1d) of per-call overhead; their ONNX graphs run one window in 0.05-0.2 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import har.training  # noqa: E402
from har.config import channel_names  # noqa: E402
from har.cross_validation import Fold, subject_folds  # noqa: E402
from har.families import get_family  # noqa: E402
from har.ingest import ingest_recordings  # noqa: E402
from har.profiles import Dataset, deep_merge, load_dataset, read_yaml  # noqa: E402
from har.search import SearchBudget, SearchSpace, choose  # noqa: E402
from har.splitting import split_by_subject  # noqa: E402
from har.synthetic import generate_dataset  # noqa: E402
from har.training import (  # noqa: E402
    CrossValidationSettings,
    Recipe,
    cross_validate_recipe,
    with_default_augmentation,
)
from har.types import ChannelNormalizer, CrossValidationReport, WindowedDataset  # noqa: E402
from har.windowing import make_windows  # noqa: E402

SEEDS_STD_TARGET = 0.02
ISO_DELTA_TARGET = 0.01
BATCH = 64
REFERENCE = "reference"
DEFAULT_SEARCH = ROOT / "configs" / "search.yaml"
TRAIN_CONFIG = ROOT / "configs" / "train.yaml"


# ----------------------------------------------------------------------------------------------- configs
def run_config(path: Path) -> Dict[str, Any]:
    """A run config with its `extends:` chain merged in (as `pipelines.run_config.validate_run_config`)."""
    config = read_yaml(path)
    if "extends" in config:
        base = path.parent / str(config.pop("extends"))
        config = deep_merge(run_config(base), config)
    return config


def step_parameters(config: Dict[str, Any], step: str) -> Dict[str, Any]:
    return dict(((config.get("steps") or {}).get(step) or {}).get("parameters") or {})


# -------------------------------------------------------------------------------------------------- data
def generator_settings(dataset: Dataset, overrides: Sequence[str]) -> Dict[str, Any]:
    """The profile's generate_dataset arguments (rate, activities, `synthetic:`), with overrides."""
    if dataset.profile.synthetic is None:
        if overrides:
            raise SystemExit(f"--synthetic: profile {dataset.name} has recordings (data_dir), no generator")
        return {}
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


def load_windows(dataset: Dataset, folder: Path, settings: Dict[str, Any],
                 timestamp_format: str = "epoch_ms") -> WindowedDataset:
    start = time.perf_counter()
    if settings:
        generate_dataset(folder, **{**settings, "timestamp_format": timestamp_format})
        source = f"generated ({timestamp_format})"
    else:
        folder = dataset.data_dir()
        if folder is None:
            raise SystemExit(f"profile {dataset.name} has neither data_dir nor synthetic")
        source = str(folder)
    frame, _ = ingest_recordings(folder, dataset.data, dataset.schema)
    windows = make_windows(frame, dataset.data, channel_names(dataset.data, dataset.schema))
    print(f"data {source}: {windows.n_windows} windows of {windows.window_size} x {len(windows.channel_names)} "
          f"from {len(np.unique(windows.subjects))} subjects, {len(windows.class_names)} classes "
          f"({time.perf_counter() - start:.1f} s to generate, ingest, window)", flush=True)
    return windows


def cv_windows(windows: WindowedDataset, split: Dict[str, Any], all_subjects: bool) -> WindowedDataset:
    """The search's cross-validation windows: the training subjects (train + val of `split_windows`)."""
    if all_subjects:
        return windows
    train, val, _, _ = split_by_subject(windows, **split)
    return WindowedDataset.concatenate([train, val])


# ------------------------------------------------------------------------------------------------ trials
@dataclass
class Trial:
    """One recipe scored on the shared folds, plus what was measured on its last fold's model."""

    name: str
    recipe: Recipe
    in_search: bool = True
    report: CrossValidationReport | None = None
    cv_s: float = 0.0
    fit_s: List[float] = field(default_factory=list)
    model: Any = None
    normalizer: ChannelNormalizer | None = None
    measured: Dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def family(self) -> str:
        return self.recipe.family

    @property
    def watch(self) -> bool:
        return bool(get_family(self.recipe.family).exportable)

    def epochs(self) -> str:
        values = [int(s["epochs"]) for s in self.report.fit_summaries if s.get("epochs")]
        return f"{np.median(values):.0f}" if values else "-"


@contextlib.contextmanager
def recording_fits(trial: Trial) -> Iterator[None]:
    """Record every fit `cross_validate_recipe` makes (seconds; the last normaliser and model).

    Wraps `har.training.fit_recipe`, which the cross-validation's fold function calls; the scoring is untouched.
    """
    original = har.training.fit_recipe

    def fit_recipe(*args: Any, **kwargs: Any) -> Tuple[ChannelNormalizer, Any]:
        start = time.perf_counter()
        normalizer, model = original(*args, **kwargs)
        trial.fit_s.append(time.perf_counter() - start)
        trial.normalizer, trial.model = normalizer, model
        epochs = len(model.history_.get("loss", []))
        print(f"    fit {len(trial.fit_s)}: {trial.fit_s[-1]:6.1f} s" + (f" ({epochs} epochs)" if epochs else ""),
              flush=True)
        return normalizer, model

    har.training.fit_recipe = fit_recipe
    try:
        yield
    finally:
        har.training.fit_recipe = original


def run_trial(trial: Trial, windows: WindowedDataset, settings: CrossValidationSettings) -> Trial:
    print(f"  {trial.name} ({trial.recipe.key()}): {describe(trial.recipe)}", flush=True)
    start = time.perf_counter()
    with recording_fits(trial):
        trial.report = cross_validate_recipe(trial.recipe, windows, settings)
    trial.cv_s = time.perf_counter() - start
    r = trial.report
    print(f"  {trial.name}: CV macro-F1 {r.mean('macro_f1'):.4f} +- {r.std('macro_f1'):.4f} "
          f"({r.n_folds} folds x {len(r.seeds)} seed(s), {trial.cv_s:.0f} s)", flush=True)
    return trial


def describe(recipe: Recipe) -> str:
    text = f"{recipe.family} {recipe.params}"
    if recipe.augmentation is not None:
        text += f" + augmentation {recipe.augmentation.model_dump()}"
    return text


def search(space: SearchSpace, champion: Recipe | None, windows: WindowedDataset,
           settings: CrossValidationSettings, keep: Sequence[str] | None,
           families: Sequence[str] | None) -> Tuple[List[Trial], float, List[str]]:
    """The pipeline's loop: trials in order, no new one once `max_minutes` passed. Returns the trials run, the
    minutes used, and what the budget left out (by max_trials or by time)."""
    unlimited = space.model_copy(update={"budget": SearchBudget(max_trials=10**6,
                                                                 max_minutes=space.budget.max_minutes)})
    planned = space.trials(champion)
    cut = [f"{name} ({recipe.family}): max_trials" for name, recipe in unlimited.trials(champion)[len(planned):]]
    selected = [(name, recipe) for name, recipe in planned
                if (keep is None or name in keep) and (families is None or recipe.family in families)]
    if len(selected) < len(planned):
        print(f"filtered by --trials/--families: {len(selected)} of the search's {len(planned)} trials")
    trials: List[Trial] = []
    started = time.monotonic()
    for name, recipe in selected:
        minutes = (time.monotonic() - started) / 60
        if trials and minutes >= space.budget.max_minutes:
            cut += [f"{n} ({r.family}): max_minutes" for n, r in selected[len(trials):]]
            print(f"  search budget of {space.budget.max_minutes} min spent ({minutes:.1f} min) after "
                  f"{len(trials)} trials; no new trial starts", flush=True)
            break
        trials.append(run_trial(Trial(name, recipe), windows, settings))
    return trials, (time.monotonic() - started) / 60, cut


# -------------------------------------------------------------------------------------------- measuring
def median_ms(call: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def measure(trial: Trial, test: WindowedDataset) -> None:
    """Size, ONNX export and latencies of the trial's last-fold model on raw test windows."""
    from har import export

    model, normalizer = trial.model, trial.normalizer
    raw = np.ascontiguousarray(test.X, dtype=np.float32)
    batch = raw[:BATCH] if len(raw) >= BATCH else np.resize(raw, (BATCH, *raw.shape[1:]))
    m = trial.measured
    with tempfile.TemporaryDirectory(prefix=f"har-bench-{trial.family}-") as tmp:
        m["size_mb"] = sum(p.stat().st_size for p in model.save(Path(tmp) / "model")) / 1e6
    normalised = normalizer.transform(raw)
    native = model.predict_proba(normalised)
    m["native_1_ms"] = median_ms(lambda: model.predict_proba(normalised[:1]), 30)
    m["native_64_ms"] = median_ms(lambda: model.predict_proba(normalizer.transform(batch)), 10) / BATCH
    try:
        start = time.perf_counter()
        content = export.to_onnx(model.export_graph(), normalizer)
        m["export_s"] = time.perf_counter() - start
        m["onnx_kb"] = len(content) / 1024.0
        m["onnx_top1"] = export.parity(native, export.predict(export.ONNX, content, raw))["top1_agreement"]
        m["onnx_1_ms"] = export.benchmark(export.ONNX, content, raw, runs=200, threads=1)["latency_ms_median"]
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(content, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        for _ in range(3):
            session.run(None, {name: batch})
        m["onnx_64_ms"] = median_ms(lambda: session.run(None, {name: batch}), 20) / BATCH
    except Exception as error:  # a failed export is a finding to print, not a reason to lose the run
        trial.error = f"ONNX export/benchmark failed: {type(error).__name__}: {str(error)[:300]}"
        print(f"  {trial.name}: {trial.error}", flush=True)


# --------------------------------------------------------------------------------------------- printing
def print_table(trials: List[Trial], reference: Trial, chosen: Trial | None) -> None:
    nan = float("nan")
    header = (f"{'trial':10s} | {'family':10s} | {'CV macro-F1':16s} | {'vs MR':>7s} | {'bal acc':>7s} | "
              f"{'win acc':>7s} | {'rec acc':>7s} | {'worst subject':>13s} | {'size MB':>7s} | {'ONNX KB':>8s} | "
              f"{'ORT 1 ms':>8s} | {'ORT b64 ms':>10s} | {'top1':>5s} | {'nat 1 ms':>8s} | {'nat b64 ms':>10s} | "
              f"{'fit s/fold':>10s} | {'ep':>3s} | watch")
    print(header)
    print("-" * len(header))
    base = reference.report.mean("macro_f1")
    for t in trials:
        r, m = t.report, t.measured
        mark = " *" if t is chosen else ""
        print(f"{t.name + mark:10s} | {t.family:10s} | {r.mean('macro_f1'):.4f} +- {r.std('macro_f1'):.4f} | "
              f"{r.mean('macro_f1') - base:+7.4f} | {r.mean('balanced_accuracy'):7.4f} | {r.mean('accuracy'):7.4f} | "
              f"{r.mean('recording_accuracy'):7.4f} | {r.worst_subject:>4s} {r.worst_subject_macro_f1:8.4f} | "
              f"{m.get('size_mb', nan):7.2f} | {m.get('onnx_kb', nan):8.1f} | {m.get('onnx_1_ms', nan):8.3f} | "
              f"{m.get('onnx_64_ms', nan):10.4f} | {m.get('onnx_top1', nan):5.3f} | {m.get('native_1_ms', nan):8.2f} | "
              f"{m.get('native_64_ms', nan):10.4f} | {np.mean(t.fit_s) if t.fit_s else nan:10.1f} | "
              f"{t.epochs():>3s} | {'yes' if t.watch else 'no'}")
    print("(* = the search's choice; vs MR = CV macro-F1 minus the MiniRocket reference's "
          f"({reference.name}, {base:.4f}); size, ONNX and latencies of the model fitted on the last CV fold's "
          "training subjects; latencies per window, 1 thread; ORT 1 ms = one window alone in a fresh process, "
          "b64 = batches of 64; top1 = ONNX vs native agreement on that fold's test windows; ep = median epochs "
          "early stopping kept)")
    for t in trials:
        if t.error:
            print(f"{t.name}: {t.error}")


def per_seed(report: CrossValidationReport) -> Dict[int, float]:
    return {seed: float(np.mean([s.macro_f1 for s in report.folds if s.seed == seed])) for seed in report.seeds}


# ------------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="default", help="dataset profile name or YAML path (default: default)")
    parser.add_argument("--search", type=Path, default=DEFAULT_SEARCH, help="run config with parameters.search")
    parser.add_argument("--folds", type=int, default=None, help="k of the subject-grouped k-fold "
                        "(default: the run config's, null = min(5, subjects))")
    parser.add_argument("--all-subjects", action="store_true",
                        help="cross-validate every subject (default: the pipeline's training subjects)")
    parser.add_argument("--champion", action="store_true",
                        help="pass train.yaml's recipe to the search as the production version's")
    parser.add_argument("--trials", default=None, help="only these trial names (comma-separated), e.g. trial_1")
    parser.add_argument("--families", default=None, help="only trials of these families (comma-separated)")
    parser.add_argument("--seeds", type=int, default=1, help="N>1: seed-to-seed std of the chosen trial and "
                        f"the reference (target <= {SEEDS_STD_TARGET})")
    parser.add_argument("--iso", action="store_true", help="also score the chosen trial and the reference on the "
                        f"same recordings with ISO-8601 timestamps (target |delta| <= {ISO_DELTA_TARGET})")
    parser.add_argument("--synthetic", action="append", default=[], metavar="KEY=VALUE",
                        help="override a generator setting of the profile (repeatable)")
    args = parser.parse_args()
    started = time.perf_counter()

    dataset = load_dataset(args.profile, ROOT)
    config = run_config(args.search.resolve())
    if "search" not in (config.get("parameters") or {}):
        raise SystemExit(f"{args.search}: no parameters.search")
    space = SearchSpace.model_validate(
        with_default_augmentation(config["parameters"]["search"], dataset.profile.augmentation))
    train_config = run_config(TRAIN_CONFIG)
    reference_recipe = Recipe.model_validate(
        with_default_augmentation(step_parameters(train_config, "cross_validate_model")["recipe"],
                                  dataset.profile.augmentation))
    cv_section = dict(step_parameters(config, "cross_validate_model").get("cross_validation") or {})
    if args.folds is not None:
        cv_section["k"] = args.folds
    settings = CrossValidationSettings.model_validate(cv_section)
    split = step_parameters(config, "split_windows")
    keep = [name.strip() for name in args.trials.split(",")] if args.trials else None
    families = [get_family(name.strip()).name for name in args.families.split(",")] if args.families else None

    generator = generator_settings(dataset, args.synthetic)
    if args.iso and not generator:
        raise SystemExit("--iso needs a synthetic profile (it rewrites the same recordings' timestamps)")
    with tempfile.TemporaryDirectory(prefix="har-bench-families-") as tmp:
        windows = cv_windows(load_windows(dataset, Path(tmp) / "epoch", generator), split, args.all_subjects)
        iso = (cv_windows(load_windows(dataset, Path(tmp) / "iso", generator, "iso8601"), split, args.all_subjects)
               if args.iso else None)
    folds: List[Fold] = subject_folds(windows.subjects, k=settings.k, scheme=settings.scheme,
                                      seed=settings.fold_seed, val_fraction=settings.val_fraction)
    varied = {k: v for k, v in generator.items() if k != "activities"} or "none (recordings)"
    print(f"profile {dataset.name} ({dataset.path}); generator: {varied}")
    augmentation = getattr(dataset.profile, "augmentation", None)
    if augmentation is not None:
        print(f"profile augmentation (for every recipe without its own, as the pipelines): "
              f"{augmentation.model_dump(mode='json')}")
    print(f"cross-validation: {'all' if args.all_subjects else 'the training'} subjects "
          f"({len(np.unique(windows.subjects))}, {windows.n_windows} windows"
          f"{'' if args.all_subjects else f'; split_windows {split}'}); {settings.model_dump()}")
    for fold in folds:
        print(f"  fold {fold.index}: test {', '.join(fold.test)} | val {', '.join(fold.val)} | "
              f"{len(fold.train)} train subjects")
    print(f"search {args.search}: budget {space.budget.model_dump()}, prefer_exportable_within "
          f"{space.prefer_exportable_within}, champion {'train.yaml recipe' if args.champion else 'none'}")

    print("\nsearch:", flush=True)
    trials, minutes, cut = search(space, reference_recipe if args.champion else None, windows, settings, keep,
                                  families)
    if not trials:
        raise SystemExit("no trial left after --trials/--families")
    print(f"search budget used: {len(trials)} of max_trials {space.budget.max_trials} trials, {minutes:.1f} of "
          f"max_minutes {space.budget.max_minutes} min")
    print(f"budget cut: {', '.join(cut)}" if cut else "budget cut: nothing")

    reference = next((t for t in trials if t.recipe.key() == reference_recipe.key()), None)
    if reference is None:
        print("\nreference (train.yaml's recipe, no trial has it; outside the search and its budget):", flush=True)
        reference = run_trial(Trial(REFERENCE, reference_recipe, in_search=False), windows, settings)
    rows = trials + ([reference] if not reference.in_search else [])

    index, board = choose([t.report for t in trials], [t.watch for t in trials], space.prefer_exportable_within)
    chosen = trials[index]

    test = windows.subset(np.isin(windows.subjects.astype(str), list(folds[-1].test)))
    print(f"\nmeasuring the last fold's models (test subjects {', '.join(folds[-1].test)}, {test.n_windows} "
          "windows):", flush=True)
    for t in rows:
        if t.model is None:  # no fit was recorded (cross_validate_recipe changed how it fits): fit the last fold
            print(f"  {t.name}: no recorded fit; fitting the last fold's training subjects", flush=True)
            subjects = windows.subjects.astype(str)
            t.normalizer, t.model = har.training.fit_recipe(
                t.recipe, windows.subset(np.isin(subjects, list(folds[-1].train))),
                windows.subset(np.isin(subjects, list(folds[-1].val))))
        measure(t, test)
        print(f"  {t.name}: {', '.join(f'{k} {v:.4g}' for k, v in t.measured.items())}", flush=True)

    print(f"\n{dataset.name}: {settings.scheme} {len(folds)}-fold subject-grouped CV (fold_seed "
          f"{settings.fold_seed}), {len(np.unique(windows.subjects))} subjects; "
          f"{time.perf_counter() - started:.0f} s so far")
    print_table(rows, reference, chosen)
    why = next(row["chosen"] for row in board if row["index"] == index)
    print(f"\nthe search would choose {chosen.name} ({describe(chosen.recipe)}): {why}")
    for row in board:
        print(f"  rank {row['rank']}: {trials[row['index']].name:8s} {row['family']:10s} {row['cv_macro_f1']:.4f} "
              f"+- {row['std']:.4f}  recording acc {row['recording_acc']:.4f}  worst subject "
              f"{row['worst_subject_f1']:.4f}  watch {'yes' if row['watch'] else 'no'}")
    print(f"{chosen.name} vs MiniRocket ({reference.name}): CV macro-F1 "
          f"{chosen.report.mean('macro_f1') - reference.report.mean('macro_f1'):+.4f}")

    failed = False
    checked = [chosen] + ([reference] if reference is not chosen else [])
    if args.seeds > 1:
        print(f"\nstability: std of CV macro-F1 across {args.seeds} training seeds, same folds (target <= "
              f"{SEEDS_STD_TARGET})", flush=True)
        for t in checked:
            means = per_seed(t.report)
            extra = [max(means) + 1 + i for i in range(args.seeds - len(means))]
            if extra:
                more = run_trial(Trial(f"{t.name}_seeds", t.recipe, in_search=False), windows,
                                 settings.model_copy(update={"seeds": extra}))
                means.update(per_seed(more.report))
            std = float(np.std(list(means.values())))
            failed |= std > SEEDS_STD_TARGET
            print(f"{t.name:10s} {t.family:10s} per seed {', '.join(f'{s}: {m:.4f}' for s, m in means.items())}  "
                  f"std {std:.4f}  {'ok' if std <= SEEDS_STD_TARGET else 'MISSED'}", flush=True)
    if iso is not None:
        same = (np.array_equal(iso.subjects, windows.subjects) and np.array_equal(iso.y, windows.y)
                and iso.X.shape == windows.X.shape)
        diff = float(np.max(np.abs(iso.X - windows.X))) if same else math.nan
        print(f"\nISO-8601 timestamps: same windows and labels: {same}; max |x_iso - x_epoch| {diff:.2e}; same "
              f"folds and seed (target |delta| <= {ISO_DELTA_TARGET})", flush=True)
        for t in checked:
            seed = t.report.seeds[0]
            original = per_seed(t.report)[seed]
            iso_trial = run_trial(Trial(f"{t.name}_iso", t.recipe, in_search=False), iso,
                                  settings.model_copy(update={"seeds": [seed]}))
            delta = iso_trial.report.mean("macro_f1") - original
            failed |= not abs(delta) <= ISO_DELTA_TARGET
            print(f"{t.name:10s} {t.family:10s} epoch-ms {original:.4f}  iso {iso_trial.report.mean('macro_f1'):.4f}"
                  f"  delta {delta:+.4f}  {'ok' if abs(delta) <= ISO_DELTA_TARGET else 'MISSED'}", flush=True)
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s ({(time.perf_counter() - started) / 60:.1f} "
          f"min); search budget used {minutes:.1f} of {space.budget.max_minutes} min, {len(trials)} of "
          f"{space.budget.max_trials} trials")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
