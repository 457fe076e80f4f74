"""WindowedDataset materializer save+load vs. bare np.save/np.load of the same arrays.

    .venv/bin/python benchmarks/bench_materializer.py [--windows 20000] [--repeats 7]

Both sides write into fresh directories on the same local disk; the
materializer goes through ZenML's real `LocalArtifactStore` (explicitly
constructed, so no ZenML client/database is initialised). Visualizations and
metadata are excluded from the ratio (ZenML runs them as separate calls) and
timed once for information. The target is ratio <= 1.5; it is reported, not
asserted: the exit code is non-zero only on errors (including a round trip
that does not reproduce the data).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Callable, Dict, List

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# Never touch the user's ZenML config; nothing here needs a ZenML store anyway.
os.environ.setdefault("ZENML_CONFIG_PATH", tempfile.mkdtemp(prefix="har-bench-zenml-"))
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"

import numpy as np  # noqa: E402

TARGET_RATIO = 1.5
ARRAY_NAMES = ("X", "y", "recording_ids", "subjects", "start_times")


def build_dataset(n_windows: int, window: int, n_channels: int, seed: int = 0):
    from har.types import WindowedDataset

    rng = np.random.default_rng(seed)
    n_recordings = max(1, n_windows // 250)
    recording_of = np.sort(rng.integers(0, n_recordings, size=n_windows))
    return WindowedDataset(
        X=rng.standard_normal((n_windows, window, n_channels), dtype=np.float32),
        y=rng.integers(-1, 6, size=n_windows).astype(np.int64),
        recording_ids=np.array([f"subject{r % 30:02d}/session{r:04d}" for r in recording_of]),
        subjects=np.array([f"subject{r % 30:02d}" for r in recording_of]),
        start_times=1.7e9 + np.arange(n_windows, dtype=np.float64) * 1.28,
        class_names=["walking", "running", "sitting", "standing", "walking_upstairs", "walking_downstairs"],
        channel_names=[f"{s}_{a}" for s in ("acc", "gyro") for a in "xyz"][:n_channels]
        + [f"ch{i}" for i in range(6, n_channels)],
        sample_rate_hz=50.0,
        step=window // 2,
    )


def make_store(root: str):
    from zenml.artifact_stores.local_artifact_store import LocalArtifactStore, LocalArtifactStoreConfig
    from zenml.enums import StackComponentType

    now = datetime.now()
    return LocalArtifactStore(
        name="bench",
        id=uuid.uuid4(),
        config=LocalArtifactStoreConfig(path=root),
        flavor="local",
        type=StackComponentType.ARTIFACT_STORE,
        user=None,
        created=now,
        updated=now,
    )


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--windows", type=int, default=20_000, help="number of windows (default 20000)")
    parser.add_argument("--window-size", type=int, default=128)
    parser.add_argument("--channels", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions per side (median reported)")
    parser.add_argument("--dir", default=None, help="where to write (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    if args.windows < 1 or args.repeats < 1:
        parser.error("--windows and --repeats must be >= 1")

    from har.types import WindowedDataset
    from materializers.windowed_dataset_materializer import WindowedDatasetMaterializer

    data = build_dataset(args.windows, args.window_size, args.channels)
    arrays: Dict[str, np.ndarray] = {name: getattr(data, name) for name in ARRAY_NAMES}
    size_mb = sum(a.nbytes for a in arrays.values()) / 1e6

    root = tempfile.mkdtemp(prefix="har-bench-", dir=args.dir)
    try:
        store = make_store(root)
        counter = iter(range(1_000_000))

        def fresh_dir(kind: str) -> str:
            path = os.path.join(root, f"{kind}-{next(counter)}")
            os.mkdir(path)
            return path

        def bare_round_trip() -> Dict[str, np.ndarray]:
            path = fresh_dir("bare")
            for name, array in arrays.items():
                np.save(os.path.join(path, f"{name}.npy"), array, allow_pickle=False)
            loaded = {name: np.load(os.path.join(path, f"{name}.npy"), allow_pickle=False) for name in arrays}
            shutil.rmtree(path)
            return loaded

        def materializer_round_trip() -> WindowedDataset:
            path = fresh_dir("zenml")
            WindowedDatasetMaterializer(uri=path, artifact_store=store).save(data)
            loaded = WindowedDatasetMaterializer(uri=path, artifact_store=store).load(WindowedDataset)
            shutil.rmtree(path)
            return loaded

        # Warm-up doubles as the correctness check.
        loaded = materializer_round_trip()
        for name in ARRAY_NAMES:
            original, restored = getattr(data, name), getattr(loaded, name)
            if restored.dtype != original.dtype or not np.array_equal(restored, original):
                raise RuntimeError(f"round trip changed '{name}' ({original.dtype} -> {restored.dtype})")
        bare_round_trip()

        bare_times: List[float] = []
        materializer_times: List[float] = []
        for _ in range(args.repeats):  # interleaved so drift affects both sides alike
            bare_times.append(timed(bare_round_trip))
            materializer_times.append(timed(materializer_round_trip))

        # Informational: the extra per-artifact work ZenML does after save().
        vis_dir = fresh_dir("vis")
        materializer = WindowedDatasetMaterializer(uri=vis_dir, artifact_store=store)
        materializer.save(data)
        metadata_s = timed(lambda: materializer.extract_metadata(data))
        vis_first_s = timed(lambda: materializer.save_visualizations(data))
        vis_warm_s = timed(lambda: materializer.save_visualizations(data))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    bare = statistics.median(bare_times)
    mat = statistics.median(materializer_times)
    ratio = mat / bare if bare > 0 else float("inf")
    print(
        f"WindowedDataset {args.windows} x {args.window_size} x {args.channels} float32 "
        f"+ labels/ids/times = {size_mb:.1f} MB, median of {args.repeats}"
    )
    print(f"  bare np.save+np.load      : {bare * 1000:8.1f} ms  ({2 * size_mb / bare:6.0f} MB/s)")
    print(f"  materializer save+load    : {mat * 1000:8.1f} ms  ({2 * size_mb / mat:6.0f} MB/s)")
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"  ratio                     : {ratio:8.2f}x  ({verdict} target {TARGET_RATIO}x)")
    print(
        f"  (not in ratio) extract_metadata {metadata_s * 1000:.1f} ms; save_visualizations (2 PNGs) "
        f"{vis_first_s * 1000:.0f} ms first call in process, {vis_warm_s * 1000:.0f} ms warm"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
