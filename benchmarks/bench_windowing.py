"""Windowing throughput as a ratio to a plain memory copy of the same output bytes.

    python benchmarks/bench_windowing.py [--hours 4] [--repeats 7]

Baseline: `array.copy()` of an array with the output's size (allocation +
memcpy, as the windowing also allocates its output). Measured: `har.windowing.sliding_windows` (strided view + gather),
plus the full `make_windows` (labels, ids, times) and a naive Python loop for
reference. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from har.config import DataConfig  # noqa: E402
from har.windowing import make_windows, segment_bounds, sliding_windows, window_starts  # noqa: E402


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=4.0, help="hours of 50 Hz, 6-channel data")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    cfg = DataConfig()
    n = int(args.hours * 3600 * cfg.sampling_rate_hz)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, 6)).astype(np.float32)
    recording = np.repeat(np.arange(20), -(-n // 20))[:n].astype(str)
    seg_starts, seg_ends = segment_bounds(recording)
    starts = window_starts(seg_starts, seg_ends, cfg.window_size, cfg.step)
    out_shape = (len(starts), cfg.window_size, 6)
    out_bytes = np.prod(out_shape) * 4

    source = np.ones(out_shape, dtype=np.float32)
    target = np.empty_like(source)
    # The baseline allocates its output like the windowing does (page faults included);
    # a copy into an already-touched buffer is printed too, for reference.
    t_copy = best_of(lambda: source.copy(), args.repeats)
    t_copy_warm = best_of(lambda: np.copyto(target, source), args.repeats)
    t_window = best_of(lambda: sliding_windows(values, starts, cfg.window_size, cfg.step), args.repeats)

    def naive():
        return np.stack([values[s : s + cfg.window_size] for s in starts])

    t_naive = best_of(naive, max(1, args.repeats // 3))

    frame = pd.DataFrame(values, columns=["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"])
    frame.insert(0, "recording_id", recording)
    frame.insert(1, "subject", recording)
    frame.insert(2, "segment", 0)
    frame.insert(3, "timestamp", np.arange(n) / cfg.sampling_rate_hz)
    frame["activity"] = np.array(cfg.activities)[(np.arange(n) // 3000) % len(cfg.activities)]
    t_full = best_of(lambda: make_windows(frame, cfg, list(frame.columns[4:10])), max(1, args.repeats // 2))

    gb = out_bytes / 1e9
    print(f"windows: {out_shape[0]:,} x {cfg.window_size} x 6 float32 ({gb * 1000:.0f} MB out) "
          f"from {args.hours:g} h of 50 Hz data")
    print(f"memcpy baseline (array.copy)     {t_copy * 1000:8.1f} ms  {gb / t_copy:6.2f} GB/s")
    print(f"memcpy into a touched buffer     {t_copy_warm * 1000:8.1f} ms  {gb / t_copy_warm:6.2f} GB/s  "
          f"(ratio of windowing to this: {t_copy_warm / t_window:.2f}x)")
    print(f"sliding_windows (strided+gather) {t_window * 1000:8.1f} ms  {gb / t_window:6.2f} GB/s  "
          f"ratio to memcpy {t_copy / t_window:.2f}x")
    print(f"make_windows (labels, ids, ...)  {t_full * 1000:8.1f} ms  ratio to memcpy {t_copy / t_full:.2f}x")
    print(f"naive Python loop + np.stack     {t_naive * 1000:8.1f} ms  ratio to memcpy {t_copy / t_naive:.2f}x")


if __name__ == "__main__":
    main()
