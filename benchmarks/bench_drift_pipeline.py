"""Wall time of the drift pipeline for ~10,000 current windows.

    make train   # (once) a production model in your ZenML store
    python benchmarks/bench_drift_pipeline.py [--windows 10000]

Generates unseen subjects until the data holds about --windows windows, runs
`python run.py --pipeline drift` on them (policy `none`, so nothing else
happens) and prints the wall time and the duration of each step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from har.synthetic import generate_dataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=10_000)
    args = parser.parse_args()
    # one subject: 6 activities x 200 s at 50 Hz, window 128 / step 64 -> ~930 windows
    n_subjects = max(1, round(args.windows / 930))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "current"
        generate_dataset(data, seed=11, n_subjects=n_subjects, first_subject=300, seconds_per_activity=200.0)
        config = yaml.safe_load((ROOT / "configs" / "drift.yaml").read_text())
        config["steps"]["act_on_drift"]["parameters"]["on_drift"] = "none"
        config_path = Path(tmp) / "drift.yaml"
        config_path.write_text(yaml.safe_dump(config))
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "run.py", "--pipeline", "drift", "--data-dir", str(data),
                                 "--config", str(config_path)], cwd=ROOT, capture_output=True, text=True,
                                env=dict(os.environ))
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit("the drift pipeline failed (is there a production model? run `make train` first)")
    from zenml.client import Client

    run = Client().get_pipeline("drift_pipeline").runs[0]
    windows = run.steps["window_recordings"].outputs["windows"][0].run_metadata["n_windows"]
    verdict = run.steps["detect_drift"].outputs["drift_verdict"][0].load()
    print(f"drift pipeline on {windows:,} current windows ({n_subjects} unseen subjects): {elapsed:.1f} s wall time "
          f"(python run.py, process start included)")
    for name, step in run.steps.items():
        if step.start_time and step.end_time:
            print(f"  {name:22s} {(step.end_time - step.start_time).total_seconds():6.2f} s")
    print(f"verdict: {verdict.summary()}")


if __name__ == "__main__":
    main()
