"""Shared fixtures: tiny generated data and a fast run config, used by real pipeline runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from har.synthetic import generate_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """5 subjects x 6 activities x 12 s at 50 Hz: enough for a 3-way subject split."""
    out = tmp_path_factory.mktemp("tiny-data")
    generate_dataset(out, seed=7, n_subjects=5, seconds_per_activity=12.0)
    return out


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory) -> Path:
    """configs/train.yaml (its default family) with 840 MiniRocket kernels; the gate is off (tiny data cannot
    reach it)."""
    config = yaml.safe_load((ROOT / "configs" / "train.yaml").read_text())
    config["steps"]["cross_validate_model"]["parameters"]["recipe"]["params"]["n_kernels"] = 840
    config["steps"]["check_quality_gate"]["parameters"]["min_macro_f1"] = 0.0
    # A small model on 50 representative windows: int8 disagrees with it more; fewer timed runs.
    config["steps"]["export_model"]["parameters"].update(min_agreement=0.8, min_int8_agreement=0.5,
                                                         representative_size=50, benchmark_runs=10)
    # Small limits, so that the deployment tests reach them with small requests.
    config["steps"]["build_serving_config"]["parameters"].update(max_windows_per_request=16, max_body_bytes=2_000_000)
    path = tmp_path_factory.mktemp("configs") / "train_tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def trained_run(tiny_data, tiny_config):
    """One real training run (also creates and promotes the first model version)."""
    from zenml.client import Client

    result = run_cli("--pipeline", "train", "--config", str(tiny_config), "--data-dir", str(tiny_data), "--no-cache")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Active ZenML stack: har_local" in result.stdout
    return Client().get_pipeline("training_pipeline").runs[0]


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python run.py ...` from the repository root, as a user would, in the tests' isolated homes."""
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
        timeout=timeout,
    )
