"""The whole MLOps loop on this machine, as a user would run it: `make loop-demo` (scripts/loop_demo.py).

train -> deploy with the serving log on -> traffic from new people (as recorded, then with the watch worn
rotated) -> monitoring on the logged traffic of each phase -> the shifted phase is flagged -> the labelled
recordings of the shifted people are supplied -> the retraining pipeline retrains, promotes and redeploys
behind the same URL while a client keeps sending requests -> the served `model_version` before and after.

Every step is the project's own command (`run.py`), so the demo also checks what users type. Exit 0 when
the loop closed: drift flagged on shifted traffic, a new version served, no request failed during the swap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = "har-loop-demo"


@dataclass
class Traffic:
    """A client posting /predict_stream bodies in a loop until stopped; every answer counted."""

    url: str
    bodies: List[Dict[str, Any]]
    sent: int = 0
    failed: List[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def send_all(self) -> None:
        for body in self.bodies:
            self._post(body)

    def _post(self, body: Dict[str, Any]) -> None:
        import httpx

        self.sent += 1
        try:
            response = httpx.post(f"{self.url}/predict_stream", json=body, timeout=60)
            if response.status_code != 200:
                self.failed.append(f"HTTP {response.status_code}: {response.text[:200]}")
        except httpx.HTTPError as error:
            self.failed.append(f"{type(error).__name__}: {error}")

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                for body in self.bodies:
                    if self._stop.is_set():
                        return
                    self._post(body)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)


def served_version(url: str) -> str:
    import httpx

    return str(httpx.post(f"{url}/model_info", json={}, timeout=30).json()["model_version"])


def run(*args: str, expect: tuple = (0,)) -> subprocess.CompletedProcess:
    """`python run.py ARGS`, its output shown; an exit code outside `expect` ends the demo."""
    print(f"\n$ python run.py {' '.join(args)}", flush=True)
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print("\n".join(result.stdout.splitlines()[-8:]), flush=True)
    if result.returncode not in expect:
        raise SystemExit(f"loop demo: `run.py {' '.join(args)}` exited {result.returncode} (expected "
                         f"{' or '.join(map(str, expect))}); its output is above")
    return result


def latest_verdict_figures() -> str:
    """The latest drift run's verdict in one line: feature drift and each label-free monitor vs. its threshold."""
    from zenml.client import Client

    import materializers  # noqa: F401  (the verdict's materializer)

    run = Client().list_pipeline_runs(pipeline_name="drift_pipeline", sort_by="desc:created", size=1).items[0]
    verdict = run.steps["detect_drift"].outputs["drift_verdict"][0].load()
    monitors = "; ".join(f"{m.name} {m.value:.3f} (reference {m.reference_value:.3f}, alert above "
                         f"{m.threshold:.3f}{', ALERT' if m.alert else ''})" for m in verdict.monitors)
    return f"{verdict.summary()} | {monitors}"


def fresh_model(model_name: str) -> None:
    """No earlier demo's state: its deployments stopped, the model (versions, links) removed. The demo has a
    model of its own, so this never touches the production model users serve."""
    from zenml.client import Client

    try:
        Client().get_model(model_name)
    except KeyError:
        return
    run("--stop-deployments", "--model", model_name)
    Client().delete_model(model_name)
    print(f"Removed the previous demo's model '{model_name}'", flush=True)


def next_subject_number(model_name: str) -> int:
    """One above the highest subject number (`s<N>`) in the production version's training recordings."""
    import re

    from zenml.client import Client

    import materializers  # noqa: F401
    from mlops.lineage import training_inputs

    _, report = training_inputs(Client().get_model_version(model_name, "production"))
    numbers = [int(m.group(1)) for row in report.load().recordings
               if (m := re.fullmatch(r"s(\d+)", str(row.get("subject", ""))))]
    return max(numbers, default=0) + 1


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEMO_MODEL, help="the demo's own model, replaced at the start (your "
                        "production model is not touched)")
    parser.add_argument("--train-config", type=Path, default=ROOT / "configs" / "train.yaml")
    parser.add_argument("--data-dir", type=Path, default=None, help="training recordings (default: built-in data)")
    parser.add_argument("--port", type=int, default=3000, help="the deployment's public port")
    parser.add_argument("--new-subjects", type=int, default=4, help="new people whose traffic is sent")
    parser.add_argument("--rotation", type=float, default=30.0, help="degrees the shifted watch is rotated")
    parser.add_argument("--min-improvement", type=float, default=None,
                        help="override the retraining's promotion margin (tests on tiny data)")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--keep-serving", action="store_true", help="leave the demo's deployment running (it holds "
                        "--port; stop it with run.py --stop-deployments --model MODEL)")
    args = parser.parse_args(argv)

    from har.profiles import load_dataset
    from har.shifts import rotate_recordings
    from har.stream_request import stream_body
    from har.synthetic import generate_dataset

    started = time.perf_counter()
    dataset = load_dataset(None, ROOT)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="har-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{args.port}"

    # Configs of this demo: the deployment and the retraining serve on the same port with the log on.
    deploy = yaml.safe_load((ROOT / "configs" / "deploy.yaml").read_text())
    deploy["steps"]["deploy_model"]["parameters"]["port"] = args.port
    deploy["steps"]["package_model"]["parameters"] = {"serving_log": {"enabled": True, "sample_rate": 1.0}}
    (work / "deploy.yaml").write_text(yaml.safe_dump(deploy))
    retrain = yaml.safe_load((ROOT / "configs" / "retrain.yaml").read_text())
    retrain["extends"] = str(args.train_config.resolve())
    retrain["steps"]["deploy_model"]["parameters"]["port"] = args.port
    retrain["steps"]["package_model"]["parameters"] = deploy["steps"]["package_model"]["parameters"]
    if args.min_improvement is not None:
        retrain["steps"]["promote_model"]["parameters"]["min_improvement"] = args.min_improvement
    (work / "retrain.yaml").write_text(yaml.safe_dump(retrain))
    drift = yaml.safe_load((ROOT / "configs" / "drift.yaml").read_text())
    drift["steps"]["act_on_drift"]["parameters"]["on_drift"] = "alert"
    (work / "drift.yaml").write_text(yaml.safe_dump(drift))

    model = ["--model", args.model]
    fresh_model(args.model)
    train = ["--pipeline", "train", "--config", str(args.train_config), *model]
    run(*train, *(["--data-dir", str(args.data_dir)] if args.data_dir else []))
    run("--pipeline", "deploy", "--config", str(work / "deploy.yaml"), *model)

    # New people (numbered after everyone production was trained on, so a second demo in the same store adds
    # new recordings): recorded as the training people were, and the same recordings with the watch rotated.
    generate_dataset(work / "new", seed=1234, n_subjects=args.new_subjects,
                     first_subject=next_subject_number(args.model), seconds_per_activity=20.0,
                     sampling_rate_hz=dataset.data.sampling_rate_hz, activities=dataset.data.activities)
    rotate_recordings(work / "new", work / "shifted", dataset.schema, degrees=args.rotation)
    unshifted_bodies = [stream_body(p, dataset) for p in sorted((work / "new").iterdir()) if p.is_dir()]
    shifted_bodies = [stream_body(p, dataset) for p in sorted((work / "shifted").iterdir()) if p.is_dir()]
    before = served_version(url)
    print(f"\nServed model_version before: {before}", flush=True)

    phases = {}
    for name, bodies in (("unshifted", unshifted_bodies), ("shifted", shifted_bodies)):
        since = now()
        traffic = Traffic(url, bodies)
        traffic.send_all()
        time.sleep(3.0)  # the log's writer flushes every flush_seconds (2 s)
        until = now()
        if traffic.failed:
            raise SystemExit(f"loop demo: {len(traffic.failed)} {name} request(s) failed: {traffic.failed[:3]}")
        result = run("--pipeline", "drift", "--config", str(work / "drift.yaml"), *model, "--serving-log",
                     "--since", since, "--until", until, expect=(0, 5))
        phases[name] = result.returncode
        print(f"{name} traffic: {traffic.sent} streams -> drift exit code {result.returncode} "
              f"({'flagged' if result.returncode == 5 else 'no drift'}): {latest_verdict_figures()}", flush=True)
    if phases["shifted"] != 5:
        raise SystemExit("loop demo: monitoring did not flag the shifted traffic")

    client = Traffic(url, unshifted_bodies[:1])  # keeps requesting during retraining and the swap
    client.start()
    try:
        run("--pipeline", "retrain", "--config", str(work / "retrain.yaml"), *model,
            "--data-dir", str(work / "shifted"))
    finally:
        client.stop()
    after = served_version(url)
    print(f"\nServed model_version before: {before}, after: {after}")
    print(f"Requests during retraining and the swap: {client.sent} sent, {len(client.failed)} failed"
          + (f" ({client.failed[:3]})" if client.failed else ""))
    print(f"Loop wall time: {time.perf_counter() - started:.0f} s (work folder {work})")
    if not args.keep_serving:  # the port is the one `make deploy` of your own model uses
        run("--stop-deployments", *model)
    if after == before:
        raise SystemExit("loop demo: the served version did not change (see the promotion decision above)")
    if client.failed:
        raise SystemExit("loop demo: requests failed during the swap")
    return 0


if __name__ == "__main__":  # `python -m mlops.loop_demo`
    os.chdir(ROOT)
    sys.exit(main())
