"""Serving latency and throughput: the deployed BentoML service vs. a naive FastAPI baseline.

    python run.py --pipeline deploy            # the service under test (port 3000)
    python benchmarks/bench_serving.py [--url http://127.0.0.1:3000] [--seconds 15] [--soak 60]

Measures, against the deployed service and against `naive_fastapi_app.py`
(started here on the same model, same machine, same run):
  - latency of one window, p50/p99 over --latency-requests sequential requests;
  - throughput (windows/s) with 8 concurrent clients, 1-window and 64-window requests;
  - the error count of a --soak seconds sustained mixed load on the service.
The load generator is a minimal keep-alive HTTP/1.1 client on asyncio so it
takes little CPU from the server on a 2-core machine. Prints figures; asserts nothing.
With `HAR_API_KEY` set, every request sends `Authorization: Bearer $HAR_API_KEY` (a service started with
HAR_API_KEYS needs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def auth_headers() -> dict:
    """`Authorization: Bearer $HAR_API_KEY` when the variable is set."""
    key = os.environ.get("HAR_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _request(host: str, port: int, path: str, body: bytes) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in auth_headers().items())
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode() + body


async def _client(host: str, port: int, payload: bytes, deadline: float, max_requests: int, stats: dict) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        done = 0
        while time.perf_counter() < deadline and done < max_requests:
            start = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            stats["latencies"].append(time.perf_counter() - start)
            if b" 200 " not in status_line:
                stats["errors"] += 1
                stats.setdefault("statuses", set()).add(status_line.decode().strip())
            done += 1
    except (ConnectionError, asyncio.IncompleteReadError) as error:
        stats["errors"] += 1
        stats.setdefault("statuses", set()).add(type(error).__name__)
    finally:
        writer.close()


def load(url: str, body: dict, clients: int, seconds: float, max_requests: int = 10**9,
         path: str = "/predict") -> dict:
    parsed = urlparse(url)
    payload = _request(parsed.hostname, parsed.port, path, json.dumps(body).encode())
    stats = {"latencies": [], "errors": 0}

    async def main() -> float:
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        await asyncio.gather(*(_client(parsed.hostname, parsed.port, payload, deadline, max_requests, stats)
                               for _ in range(clients)))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    latencies = np.array(stats["latencies"]) * 1000
    n = len(latencies)
    return {"requests": n, "errors": stats["errors"], "statuses": sorted(stats.get("statuses", [])),
            "windows_per_s": n * len(body.get("windows", [None])) / elapsed,
            "p50_ms": float(np.percentile(latencies, 50)) if n else float("nan"),
            "p99_ms": float(np.percentile(latencies, 99)) if n else float("nan")}


def wait_ready(url: str, body: dict, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.post(url + "/predict", json=body, headers=auth_headers(), timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up in {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(name: str, result: dict) -> None:
    print(f"  {name:34s} {result['windows_per_s']:9.1f} windows/s  p50 {result['p50_ms']:7.2f} ms  "
          f"p99 {result['p99_ms']:7.2f} ms  requests {result['requests']:6d}  errors {result['errors']}"
          + (f" {result['statuses']}" if result["statuses"] else ""))


def measure(name: str, url: str, window: np.ndarray, args: argparse.Namespace) -> dict:
    one = {"windows": window[None].tolist()}
    batch = {"windows": np.repeat(window[None], 64, axis=0).tolist()}
    load(url, one, 1, 2)  # warm-up
    print(f"{name}:")
    results = {
        "latency": load(url, one, 1, 120, max_requests=args.latency_requests),
        "single": load(url, one, 8, args.seconds),
        "batch64": load(url, batch, 8, args.seconds),
    }
    report(f"1 window, 1 client ({args.latency_requests} req)", results["latency"])
    report("1 window, 8 clients", results["single"])
    report("64 windows, 8 clients", results["batch64"])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the deployed service")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput run")
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--soak", type=float, default=60.0, help="sustained-load duration on the service")
    parser.add_argument("--skip-baseline", action="store_true", help="only measure the service")
    args = parser.parse_args()

    import httpx

    info = httpx.post(args.url + "/model_info", json={}, headers=auth_headers(), timeout=10).json()
    import bentoml

    model_dir = bentoml.models.get(info["model_tag"]).path
    window = np.random.default_rng(0).normal(0, 0.5, (info["window_size"], len(info["channel_names"])))
    window = np.round(window, 5)
    print(f"model {info['model_tag']} (version {info['model_version']}), window {window.shape}, "
          f"{os.cpu_count()} CPUs")

    service = measure(f"BentoML service at {args.url}", args.url, window, args)

    if not args.skip_baseline:
        port = free_port()
        baseline_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "HAR_MODEL_DIR": model_dir, "TF_CPP_MIN_LOG_LEVEL": "3"}
        log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "har-naive-baseline.log", "w")  # noqa: SIM115
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "benchmarks.naive_fastapi_app:app", "--port",
                                   str(port), "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            wait_ready(baseline_url, {"windows": window[None].tolist()})
            baseline = measure(f"naive FastAPI + model.predict at {baseline_url}", baseline_url, window, args)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()

        print("ratios (service / baseline):")
        for key, label in (("single", "1-window throughput"), ("batch64", "64-window throughput")):
            ratio = service[key]["windows_per_s"] / baseline[key]["windows_per_s"]
            p99 = service[key]["p99_ms"] / baseline[key]["p99_ms"]
            print(f"  {label:22s} {ratio:6.1f}x   p99 {p99:5.2f}x of the baseline's")
        print(f"  single-window latency p50 {service['latency']['p50_ms']:.2f} ms "
              f"vs {baseline['latency']['p50_ms']:.2f} ms")

    if args.soak > 0:
        single = {"windows": window[None].tolist()}
        batch = {"windows": np.repeat(window[None], 64, axis=0).tolist()}
        results = {}

        def run(name, body, clients):
            results[name] = load(args.url, body, clients, args.soak)

        import threading

        threads = [threading.Thread(target=run, args=("1-window x6", single, 6)),
                   threading.Thread(target=run, args=("64-window x2", batch, 2))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"sustained mixed load for {args.soak:g} s (6 clients x 1 window + 2 clients x 64 windows):")
        for name, result in results.items():
            report(name, result)
        print(f"  errors: {sum(r['errors'] for r in results.values())} of "
              f"{sum(r['requests'] for r in results.values())} requests")


if __name__ == "__main__":
    main()
