"""Latency of a good single-window request while clients send the span attack to /predict_stream.

    python run.py --pipeline deploy                  # the service under test (port 3000)
    python benchmarks/bench_hostile.py [--url http://127.0.0.1:3000] [--seconds 10] [--attackers 4]

The attack: 129 samples (6.9 KB) whose timestamps span 1e6 s, and 129 samples spanning 1e15 ms. Before
the fix one such request took 10-27 s, grew the worker to 3.6 GB and blocked every other request; now it is
refused with a 4xx in about a millisecond. Prints the good requests' p50/p99 alone and under attack (target
p99 < 100 ms), the attack's answer codes and latency, and the worker's RSS if it is a local process
(--pid). With `HAR_API_KEY` set, requests carry `Authorization: Bearer $HAR_API_KEY`. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import auth_headers, load, report  # noqa: E402

SAMPLES = [[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * 129
ATTACKS = [{"timestamps": (1.7e12 + np.arange(129) * 1e9 / 128).tolist(), "samples": SAMPLES},
           {"timestamps": np.linspace(0, 1e15, 129).tolist(), "samples": SAMPLES}]


def rss_mb(pid: int | None) -> float:
    if not pid:
        return float("nan")
    with open(f"/proc/{pid}/status") as file:
        return next(int(line.split()[1]) for line in file if line.startswith("VmRSS")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--pid", type=int, default=None, help="the BentoML worker's PID, for its RSS")
    args = parser.parse_args()
    import httpx

    info = httpx.post(args.url + "/model_info", json={}, headers=auth_headers(), timeout=10).json()
    window = {"windows": [[[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * info["window_size"]]}
    load(args.url, window, 1, 1)  # warm-up
    alone = load(args.url, window, 1, args.seconds)
    rss_before = rss_mb(args.pid)
    stop = time.monotonic() + args.seconds + 1
    codes: Counter = Counter()
    attack_latencies: list = []

    def attack(i: int) -> None:
        with httpx.Client(headers=auth_headers(), timeout=120) as client:
            while time.monotonic() < stop:
                start = time.perf_counter()
                codes[client.post(args.url + "/predict_stream", json=ATTACKS[i % 2]).status_code] += 1
                attack_latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(args.attackers)]
    for thread in threads:
        thread.start()
    attacked = load(args.url, window, 1, args.seconds)
    for thread in threads:
        thread.join()
    print(f"model {info['model_tag']}, {os.cpu_count()} CPUs, {args.attackers} attacking clients")
    report("good 1-window request, alone", alone)
    report("good 1-window request, under attack", attacked)
    latencies = np.array(attack_latencies) * 1000
    print(f"  span attack: {len(latencies)} requests, answers {dict(codes)}, p50 {np.percentile(latencies, 50):.2f} ms"
          f", max {latencies.max():.2f} ms")
    print(f"  under-attack p99 {attacked['p99_ms']:.2f} ms (target < 100 ms); worker RSS {rss_before:.0f} MB -> "
          f"{rss_mb(args.pid):.0f} MB")


if __name__ == "__main__":
    main()
