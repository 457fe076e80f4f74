"""Serving latency and throughput: the deployed service vs. its runtime's in-process limit and a naive server.

    python run.py --pipeline deploy            # the service under test (port 3000, or its server port:
                                               # python run.py --list-deployments)
    python benchmarks/bench_serving.py [--url http://127.0.0.1:3000] [--seconds 15] [--soak 60] [--quick]
    python benchmarks/bench_serving.py --compare-runtimes [--litert model_float32.tflite]   # in-process only

In one run, on the same model and machine:
  1. the in-process limit of the runtime the service uses (`runtime`, `runtime_threads` of /model_info),
     through the service's own `har.serving.Predictor`, in a subprocess: one window, batches of 64; and the
     in-process cost of each stage of a 64-window binary request (parse, check, model, answers, JSON);
  2. the service: one window p50/p99 (1 client), 8 clients x 1 window, 8 clients x 64 windows as JSON and as
     a binary body (application/octet-stream + X-Shape);
  3. `naive_fastapi_app.py` (FastAPI + pydantic + Keras' own `model.predict`), started here on the same model;
  4. ratios against the targets, and the error count of a --soak seconds mixed load (JSON and binary);
  5. the serving log's cost: the same service (`bentoml serve`, same model) started here twice, log off and
     log on (raw windows, every request), under the same load; throughput on / off (target: >= 0.90).
     `--serving-log-only` runs just this part.
The load generator is a minimal keep-alive HTTP/1.1 client on asyncio so it takes little CPU from the server
on a 2-core machine; it shares the CPU with the server, so compare ratios within one run. Prints figures;
asserts nothing. With `HAR_API_KEY` set, every request sends `Authorization: Bearer $HAR_API_KEY`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Tuple
from urllib.parse import urlparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64
# Targets of issue #15 (quiet machine): service / naive, and service / in-process limit.
TARGETS = {"latency_ratio": 0.044, "single_x_naive": 40.0, "binary64_of_limit": 0.70, "binary64_x_naive": 15.0}
SERVING_LOG_TARGET = 0.90  # issue #12: the serving log costs at most 10 % of the throughput


def auth_headers() -> dict:
    """`Authorization: Bearer $HAR_API_KEY` when the variable is set."""
    key = os.environ.get("HAR_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def machine_load() -> str:
    try:
        averages = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
        return f"load average {averages} on {os.cpu_count()} CPUs"
    except OSError:
        return f"{os.cpu_count()} CPUs"


# --- payloads and the load generator --------------------------------------------------------------------------

def json_body(windows: np.ndarray) -> Tuple[bytes, Dict[str, str]]:
    return json.dumps({"windows": windows.tolist()}).encode(), {"Content-Type": "application/json"}


def binary_body(windows: np.ndarray) -> Tuple[bytes, Dict[str, str]]:
    return (np.ascontiguousarray(windows, dtype="<f4").tobytes(),
            {"Content-Type": "application/octet-stream", "X-Shape": ",".join(map(str, windows.shape))})


def _request(host: str, port: int, path: str, body: bytes, headers: Dict[str, str]) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in {**headers, **auth_headers()}.items())
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
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


def load(url: str, body: Tuple[bytes, Dict[str, str]], n_windows: int, clients: int, seconds: float,
         max_requests: int = 10**9, path: str = "/predict") -> dict:
    """`clients` keep-alive connections sending `body` for `seconds` (or `max_requests` each)."""
    parsed = urlparse(url)
    payload = _request(parsed.hostname, parsed.port, path, *body)
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
            "windows_per_s": n * n_windows / elapsed,
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
    print(f"  {name:36s} {result['windows_per_s']:9.1f} windows/s  p50 {result['p50_ms']:7.2f} ms  "
          f"p99 {result['p99_ms']:7.2f} ms  requests {result['requests']:6d}  errors {result['errors']}"
          + (f" {result['statuses']}" if result["statuses"] else ""))


def measure(name: str, url: str, window: np.ndarray, args: argparse.Namespace, binary: bool) -> dict:
    batch = np.repeat(window[None], BATCH, axis=0)
    one = json_body(window[None])
    load(url, one, 1, 1, 2)  # warm-up
    print(f"{name}:")
    results = {"latency": load(url, one, 1, 1, 120, max_requests=args.latency_requests),
               "single": load(url, one, 1, 8, args.seconds),
               "batch64": load(url, json_body(batch), BATCH, 8, args.seconds)}
    if binary:
        results["batch64_binary"] = load(url, binary_body(batch), BATCH, 8, args.seconds)
    report(f"1 window, 1 client ({args.latency_requests} req)", results["latency"])
    report("1 window, 8 clients", results["single"])
    report(f"{BATCH} windows JSON, 8 clients", results["batch64"])
    if binary:
        report(f"{BATCH} windows binary, 8 clients", results["batch64_binary"])
    return results


# --- in-process: the runtime alone (a subprocess, so its threads never share this process) ---------------------

def _percentile_ms(func, repeats: int) -> Tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def in_process(model_dir: str, runtime: str, threads: int, breakdown: bool) -> dict:
    """The runtime through `har.serving.Predictor` (what the service calls): one window, a batch of 64."""
    from har.serving import Predictor, check_windows, parse_binary_windows

    predictor = Predictor(model_dir, threads=threads, runtime=runtime, max_batch=512)
    config = predictor.config
    window = np.random.default_rng(0).normal(0, 0.5, (config.window_size, len(config.channel_names)))
    window[:, 2] += 1.0  # gravity on z: passes the 1 g check
    one, batch = window[None].astype(np.float32), np.repeat(window[None], BATCH, axis=0).astype(np.float32)
    for _ in range(20):
        predictor.predict_proba(one), predictor.predict_proba(batch)
    one_p50, one_p99 = _percentile_ms(lambda: predictor.predict_proba(one), 500)
    batch_p50, batch_p99 = _percentile_ms(lambda: predictor.predict_proba(batch), 100)
    result = {"runtime": predictor.runtime.name, "threads": predictor.threads, "one_p50_ms": one_p50,
              "one_p99_ms": one_p99, "batch64_p50_ms": batch_p50, "batch64_windows_per_s": BATCH * 1000 / batch_p50}
    if breakdown:  # the in-process cost of each stage of one 64-window request, without HTTP
        import orjson

        body, headers = binary_body(batch)
        headers = {key.lower(): value for key, value in headers.items()}
        text = json.dumps({"windows": batch.tolist()}).encode()
        probabilities = predictor.predict_proba(batch)
        answers = predictor.describe(probabilities)
        stages = {
            f"parse JSON body (orjson, {len(text) // 1024} KB)": lambda: orjson.loads(text),
            f"parse binary body ({len(body) // 1024} KB)": lambda: parse_binary_windows(body,
                                                                                            headers["content-type"],
                                                                                            headers),
            "check_windows (shape, finite, units)": lambda: check_windows(batch, config),
            "model (runtime)": lambda: predictor.predict_proba(batch),
            "describe (answers as dicts)": lambda: predictor.describe(probabilities),
            "encode answer JSON (orjson)": lambda: orjson.dumps({"predictions": answers}),
        }
        result["breakdown_ms"] = {name: _percentile_ms(func, 50)[0] for name, func in stages.items()}
    return result


def run_in_process(model_dir: str, runtime: str, threads: int, breakdown: bool = False) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--in-process", model_dir, "--runtime", runtime,
               "--threads", str(threads)] + (["--breakdown"] if breakdown else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"in-process measurement failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def litert_in_process(path: str, threads: int) -> dict:
    """LiteRT float32 (XNNPACK): the export has a fixed batch of 1, so a batch of 64 is 64 invocations."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]["index"]
    window = np.random.default_rng(0).normal(0, 0.5, source["shape"]).astype(np.float32)

    def run(n: int) -> None:
        for _ in range(n):
            interpreter.set_tensor(source["index"], window)
            interpreter.invoke()
            interpreter.get_tensor(target)

    run(20)
    one_p50, one_p99 = _percentile_ms(lambda: run(1), 500)
    batch_p50, _ = _percentile_ms(lambda: run(BATCH), 50)
    return {"runtime": "litert", "threads": threads, "one_p50_ms": one_p50, "one_p99_ms": one_p99,
            "batch64_p50_ms": batch_p50, "batch64_windows_per_s": BATCH * 1000 / batch_p50}


def print_limit(result: dict) -> None:
    print(f"  {result['runtime']:7s} threads {result['threads']}: one window p50 {result['one_p50_ms']:7.3f} ms "
          f"(p99 {result['one_p99_ms']:7.3f}); batch of {BATCH}: {result['batch64_p50_ms']:7.2f} ms = "
          f"{result['batch64_windows_per_s']:8.0f} windows/s")


def compare_runtimes(model_dir: str, litert: str | None) -> None:
    print(f"in-process runtimes on {model_dir} ({machine_load()}); each in its own subprocess:")
    for runtime in ("native", "onnx"):
        for threads in (1, 2):
            print_limit(run_in_process(model_dir, runtime, threads))
    if litert:
        for threads in (1, 2):
            command = [sys.executable, str(Path(__file__).resolve()), "--litert-in-process", litert, "--threads",
                       str(threads)]
            result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600,
                                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)})
            print_limit(json.loads(result.stdout.strip().splitlines()[-1]))


# --- the whole run ----------------------------------------------------------------------------------------------

def soak(url: str, window: np.ndarray, seconds: float) -> None:
    batch = np.repeat(window[None], BATCH, axis=0)
    mixes = [("1 window JSON x6", json_body(window[None]), 1, 6),
             (f"{BATCH} windows JSON x1", json_body(batch), BATCH, 1),
             (f"{BATCH} windows binary x1", binary_body(batch), BATCH, 1)]
    results: Dict[str, dict] = {}

    def run(name, body, n_windows, clients):
        results[name] = load(url, body, n_windows, clients, seconds)

    threads = [threading.Thread(target=run, args=mix) for mix in mixes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"sustained mixed load for {seconds:g} s (6 clients x 1 window JSON, 1 x {BATCH} JSON, 1 x {BATCH} "
          "binary):")
    for name, _, _, _ in mixes:
        report(name, results[name])
    total = sum(r["windows_per_s"] for r in results.values())
    print(f"  errors: {sum(r['errors'] for r in results.values())} of {sum(r['requests'] for r in results.values())} "
          f"requests ({total:.0f} windows/s in all)")


def start_service(model_tag: str, port: int, serving_log: dict | None, log_path: Path) -> subprocess.Popen:
    """`bentoml serve` of service.py on `model_tag`, with the serving log set by HAR_SERVING_LOG."""
    env = {**os.environ, "HAR_MODEL_TAG": model_tag, "TF_CPP_MIN_LOG_LEVEL": "3", "BENTOML_DO_NOT_TRACK": "true",
           "HAR_SERVING_LOG": json.dumps(serving_log or {"enabled": False})}
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, "-m", "bentoml", "serve", "service:HARClassifier", "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_service(server: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: the server and its worker, nothing else
        server.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def serving_log_cost(model_tag: str, window: np.ndarray, args: argparse.Namespace) -> None:
    """Throughput with the serving log off and on: two servers of the same model, one after the other, the
    same load on each (8 clients x 64 windows binary, 8 clients x 1 window JSON), twice in ABBA order."""
    import tempfile

    from har.serving_log import segment_files

    batch = np.repeat(window[None], BATCH, axis=0)
    # The light load first: a log-on server's heavy 64-window run leaves hundreds of MB to be written back,
    # which would be charged to whatever runs next; each server also starts after `sync` (same reason).
    loads = {"1 window JSON, 8 clients": (json_body(window[None]), 1),
             f"{BATCH} windows binary, 8 clients": (binary_body(batch), BATCH)}
    totals: Dict[str, Dict[str, list]] = {name: {"off": [], "on": []} for name in loads}
    with tempfile.TemporaryDirectory(prefix="har-serving-log-bench-") as folder:
        settings = {"enabled": True, "dir": folder, "sample_rate": 1.0, "include_windows": True}
        print(f"serving log cost (bentoml serve of service.py, model {model_tag}; log: raw windows, every request, "
              f"to {folder}):")
        for state in ("off", "on", "on", "off"):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log_path = Path(tempfile.gettempdir()) / f"har-bench-serving-log-{state}.log"
            os.sync()
            server = start_service(model_tag, port, settings if state == "on" else None, log_path)
            try:
                wait_ready(url, {"windows": window[None].tolist()}, timeout=180)
                load(url, json_body(window[None]), 1, 8, 2)  # warm-up
                for name, (body, n_windows) in loads.items():
                    result = load(url, body, n_windows, 8, args.seconds)
                    totals[name][state].append(result["windows_per_s"])
                    report(f"log {state:3s} {name}", result)
            finally:
                stop_service(server)
        files = segment_files(Path(folder))
        size = sum(f.stat().st_size for f in files)
        print(f"  the log holds {len(files)} segment files, {size / 2**20:.0f} MiB (max_bytes keeps the newest)")
    for name, states in totals.items():
        off, on = float(np.mean(states["off"])), float(np.mean(states["on"]))
        print(f"  {name}: log off {off:.0f} windows/s, on {on:.0f} windows/s (means of 2 runs each)")
        verdict(f"{name}: throughput log on / off", on / off, SERVING_LOG_TARGET, higher=True)


def verdict(name: str, value: float, target: float, higher: bool, unit: str = "") -> None:
    ok = value >= target if higher else value <= target
    print(f"  {name:52s} {value:8.3f}{unit}  target {'>=' if higher else '<='} {target:g}{unit}  "
          f"{'met' if ok else 'SHORT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the deployed service")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput run")
    parser.add_argument("--latency-requests", type=int, default=300)
    parser.add_argument("--soak", type=float, default=60.0, help="sustained-load duration on the service")
    parser.add_argument("--quick", action="store_true", help="short run: 4 s per figure, 100 latency requests, "
                                                             "10 s soak")
    parser.add_argument("--skip-baseline", action="store_true", help="no naive server")
    parser.add_argument("--compare-runtimes", action="store_true", help="only the in-process runtime table "
                                                                        "(native/onnx x 1/2 threads, LiteRT)")
    parser.add_argument("--litert", help="a LiteRT float32 .tflite to add to --compare-runtimes")
    parser.add_argument("--model-dir", help="BentoML model folder for --compare-runtimes (default: the service's)")
    parser.add_argument("--serving-log-only", action="store_true", help="only the serving log's cost (log off vs. "
                                                                         "on, two servers started here)")
    parser.add_argument("--skip-serving-log", action="store_true", help="no serving-log cost figures")
    parser.add_argument("--in-process", help=argparse.SUPPRESS)
    parser.add_argument("--litert-in-process", help=argparse.SUPPRESS)
    parser.add_argument("--runtime", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--breakdown", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(in_process(args.in_process, args.runtime, args.threads, args.breakdown)))
        return
    if args.litert_in_process:
        print(json.dumps(litert_in_process(args.litert_in_process, args.threads)))
        return
    if args.quick:
        args.seconds, args.latency_requests, args.soak = min(args.seconds, 4.0), 100, min(args.soak, 10.0)

    import httpx

    if args.compare_runtimes and args.model_dir:
        return compare_runtimes(args.model_dir, args.litert)
    info = httpx.post(args.url + "/model_info", json={}, headers=auth_headers(), timeout=10).json()
    import bentoml

    model_dir = bentoml.models.get(info["model_tag"]).path
    if args.compare_runtimes:
        return compare_runtimes(model_dir, args.litert)
    runtime, threads = info.get("runtime", "native"), int(info.get("runtime_threads", 1))
    window = np.random.default_rng(0).normal(0, 0.5, (info["window_size"], len(info["channel_names"])))
    window[:, 2] += 1.0  # gravity on z, as a real recording has (all-noise windows would get 422)
    window = np.round(window, 5)
    if args.serving_log_only:
        return serving_log_cost(info["model_tag"], window, args)
    print(f"model {info['model_tag']} (version {info['model_version']}), runtime {runtime} with {threads} thread(s), "
          f"window {window.shape}; {machine_load()} at the start")

    limit = run_in_process(model_dir, runtime, threads, breakdown=True)
    print("in-process limit of the service's runtime (har.serving.Predictor, no HTTP):")
    print_limit(limit)
    print(f"  one {BATCH}-window request, in-process cost per stage (p50):")
    for name, ms in limit["breakdown_ms"].items():
        print(f"    {name:40s} {ms:7.3f} ms")

    service = measure(f"service at {args.url}", args.url, window, args, binary=True)
    # The limit again right after: on a shared machine it moves with other load; the ratio uses the mean.
    after = run_in_process(model_dir, runtime, threads)
    print("in-process limit again, right after the service figures:")
    print_limit(after)
    limit_batch = (limit["batch64_windows_per_s"] + after["batch64_windows_per_s"]) / 2

    baseline: dict | None = None
    if not args.skip_baseline:
        port = free_port()
        baseline_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "HAR_MODEL_DIR": model_dir, "TF_CPP_MIN_LOG_LEVEL": "3"}
        log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "har-naive-baseline.log", "w")  # noqa: SIM115
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "benchmarks.naive_fastapi_app:app", "--host",
                                   "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(baseline_url, {"windows": window[None].tolist()})
            baseline = measure(f"naive FastAPI + the model's own predict call at {baseline_url}", baseline_url,
                               window, args, binary=False)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()

    print(f"against the targets ({machine_load()} at the end):")
    binary = service["batch64_binary"]["windows_per_s"]
    print(f"  in-process batch-{BATCH} limit: {limit_batch:.0f} windows/s (mean of before and after)")
    verdict(f"8 clients x {BATCH} binary / in-process batch-{BATCH} limit", binary / limit_batch,
            TARGETS["binary64_of_limit"], higher=True)
    verdict(f"8 clients x {BATCH} JSON / in-process batch-{BATCH} limit",
            service["batch64"]["windows_per_s"] / limit_batch, TARGETS["binary64_of_limit"], higher=True)
    print(f"  one window p50: service {service['latency']['p50_ms']:.2f} ms vs in-process "
          f"{limit['one_p50_ms']:.3f} ms (HTTP and framework: {service['latency']['p50_ms'] - limit['one_p50_ms']:.2f} "
          "ms)")
    if baseline:
        verdict("one window p50, service / naive", service["latency"]["p50_ms"] / baseline["latency"]["p50_ms"],
                TARGETS["latency_ratio"], higher=False)
        verdict("8 clients x 1 window throughput, service / naive",
                service["single"]["windows_per_s"] / baseline["single"]["windows_per_s"], TARGETS["single_x_naive"],
                higher=True, unit="x")
        verdict(f"8 clients x {BATCH} binary, service / naive JSON", binary / baseline["batch64"]["windows_per_s"],
                TARGETS["binary64_x_naive"], higher=True, unit="x")
        print(f"  8 clients x {BATCH} JSON, service / naive: "
              f"{service['batch64']['windows_per_s'] / baseline['batch64']['windows_per_s']:.1f}x")

    if args.soak > 0:
        soak(args.url, window, args.soak)
    if not args.skip_serving_log:
        serving_log_cost(info["model_tag"], window, args)


if __name__ == "__main__":
    main()
