"""Wall time of `python run.py --pipeline train` on the default data: cold, then cached.

    python benchmarks/bench_training.py

Runs in a throw-away ZenML home (your own store is not touched): the cold
run starts from an empty store with --no-cache, the second run reuses the
cache. Prints wall times, per-step durations and the test scores of the
trained model. Asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed_run(env: dict, *extra: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "run.py", "--pipeline", "train", *extra], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"run.py failed with exit code {result.returncode}")
    return elapsed


def main() -> None:
    home = tempfile.mkdtemp(prefix="har-bench-")
    env = {**os.environ, "ZENML_CONFIG_PATH": os.path.join(home, "zenml"), "ZENML_ANALYTICS_OPT_IN": "false"}
    cold = timed_run(env, "--no-cache")
    cached = timed_run(env)

    os.environ.update(env)
    from zenml.client import Client

    from har.evaluation import most_confused

    runs = Client().get_pipeline("training_pipeline").runs
    cold_run = min(runs, key=lambda r: r.created)
    print(f"cold run (empty store, --no-cache): {cold:6.1f} s   (target <= 90 s, issue minimum 120 s)")
    print(f"cached re-run:                      {cached:6.1f} s   (target <= 10 s, issue minimum 15 s)")
    print("step durations of the cold run:")
    for name, step in cold_run.steps.items():
        if step.start_time and step.end_time:
            print(f"  {name:22s} {(step.end_time - step.start_time).total_seconds():6.2f} s")
    cv = cold_run.steps["cross_validate_model"].outputs["cv_report"][0].load()
    print(f"{cv.family}, {cv.n_folds}-fold CV by subject: macro-F1 {cv.mean('macro_f1'):.4f} +- "
          f"{cv.std('macro_f1'):.4f}, recording accuracy {cv.mean('recording_accuracy'):.4f}, worst subject "
          f"{cv.worst_subject} {cv.worst_subject_macro_f1:.4f}")
    report = cold_run.steps["evaluate_model"].outputs["evaluation_report"][0].load()
    print(f"test split: accuracy {report.accuracy:.4f}, macro-F1 {report.macro_f1:.4f} on {report.n_windows} windows")
    print("per-class F1: " + ", ".join(f"{k} {v['f1']:.3f}" for k, v in report.per_class.items()))
    print("most confused (true -> predicted): " + (", ".join(most_confused(report, 5)) or "none"))


if __name__ == "__main__":
    main()
