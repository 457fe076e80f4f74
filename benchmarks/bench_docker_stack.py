"""The docker stack's costs: training wall time against the local stack, build reuse, image size and build.

    python benchmarks/bench_docker_stack.py [--data tiny,default] [--runs 1] [--cold-build]

1. Training pipeline, `run.py --pipeline train --no-cache`, on the local stack and on
   the docker stack, in a throw-away ZenML home: first one untimed docker run (it
   builds the step image, or reuses an earlier build), then `--runs` timed runs per
   stack, alternating local/docker so that load from other processes hits both. Wall
   time of the whole `run.py` process, for the tiny data (5 subjects, MiniRocket with 840 kernels) and
   the default data (the default dataset profile and configs/train.yaml). Prints the
   docker/local ratio, the absolute overhead, and the test metrics of both stacks
   (the same data and seed: they must agree to 3 decimals).
2. Build reuse: whether the timed docker runs built anything (ZenML's log says
   "Reusing existing build" or "Building Docker image").
3. `--cold-build`: the step image built from the Dockerfile without any layer cache
   (every pinned package from PyPI), and its size.

Needs a running Docker engine (make docker-engine). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def docker_image_figures(cold: bool) -> None:
    from mlops.docker import REGISTRY_URI, docker_client, requirements_checksum, resolve_base_image

    client = docker_client()
    base = resolve_base_image()
    tag = "har-bench-runtime:latest"
    args = {"BASE_IMAGE": base, "REQUIREMENTS_SHA": requirements_checksum()}
    if cold:
        start = time.perf_counter()
        for chunk in client.api.build(path=str(ROOT), tag=tag, buildargs=args, target="runtime", nocache=True,
                                      rm=True, forcerm=True, decode=True):
            if "error" in chunk:
                raise SystemExit(f"docker build failed: {chunk['error']}")
        print(f"Step image (Dockerfile target `runtime` on {base}), cold build, no layer cache: "
              f"{time.perf_counter() - start:.0f} s")
    images = [image for image in client.images.list(name=f"{REGISTRY_URI}/zenml")]  # newest first
    image = client.images.get(tag) if cold else (images[0] if images else None)
    if image is not None:
        print(f"Step image size: {image.attrs['Size'] / 1e9:.2f} GB ({', '.join(image.tags[:1])}; base "
              f"{client.images.get(base).attrs['Size'] / 1e6:.0f} MB)")
    if cold:
        client.images.remove(tag, noprune=False)


def tiny_setup(home: Path, project: Path) -> List[str]:
    from har.synthetic import generate_dataset

    data = home / "data"
    generate_dataset(data, seed=7, n_subjects=5, seconds_per_activity=12.0)
    config = yaml.safe_load((project / "configs" / "train.yaml").read_text())
    config["steps"]["cross_validate_model"]["parameters"]["recipe"]["params"]["n_kernels"] = 840
    config["steps"]["check_quality_gate"]["parameters"]["min_macro_f1"] = 0.0
    # the tests' tiny config: a 3-epoch model's int8 export may disagree with it more
    config["steps"]["export_model"]["parameters"].update(min_agreement=0.8, min_int8_agreement=0.5,
                                                         representative_size=50, benchmark_runs=10)
    config_path = home / "train_tiny.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return ["--config", str(config_path), "--data-dir", str(data)]


def run_train(project: Path, stack: str, extra: List[str], env: Dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "run.py", "--pipeline", "train", "--stack", stack, "--no-cache",
                             *extra], cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        raise SystemExit(f"training on the {stack} stack failed (exit {result.returncode})")
    return elapsed, result.stdout + result.stderr


def test_metrics(project: Path, env: Dict[str, str]) -> tuple[float, float]:
    """accuracy, macro-F1 of the latest training run (read in a child: its own ZenML home)."""
    code = ("import sys; sys.path.insert(0, '.'); from zenml.client import Client; "
            "r = Client().get_pipeline('training_pipeline').runs[0]; "
            "e = r.steps['evaluate_model'].outputs['evaluation_report'][0].load(); print(e.accuracy, e.macro_f1)")
    out = subprocess.run([sys.executable, "-c", code], env={**env, "ZENML_CUSTOM_SOURCE_ROOT": str(project)},
                         cwd=project, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"reading the test metrics failed: {out.stderr[-2000:]}")
    accuracy, macro_f1 = map(float, out.stdout.split()[-2:])
    return accuracy, macro_f1


def built_anything(log: str) -> str:
    if re.search(r"Building Docker image", log):
        return "BUILT an image"
    if "Reusing existing build" in log or "Using a build" in log:
        return "built nothing (reused the existing build)"
    return "no build needed"


def bench_training(project: Path, datasets: List[str], runs: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="har-bench-docker-"))
    env = {**os.environ, "ZENML_CONFIG_PATH": str(home / "zenml"), "BENTOML_HOME": str(home / "bentoml"),
           "ZENML_ANALYTICS_OPT_IN": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        for name in datasets:
            extra = tiny_setup(home, project) if name == "tiny" else []
            warm, log = run_train(project, "docker", extra, env)  # builds the image, or reuses an earlier build
            print(f"[{name}] untimed first docker run {warm:.0f} s: {built_anything(log)}", flush=True)
            times: Dict[str, List[float]] = {"local": [], "docker": []}
            metrics: Dict[str, tuple[float, float]] = {}
            builds = []
            for _ in range(runs):
                for stack in ("local", "docker"):
                    elapsed, log = run_train(project, stack, extra, env)
                    times[stack].append(elapsed)
                    metrics[stack] = test_metrics(project, env)
                    if stack == "docker":
                        builds.append(built_anything(log))
            local, docker = min(times["local"]), min(times["docker"])
            print(f"[{name}] training pipeline, --no-cache, wall time of run.py (best of {runs}): "
                  f"local {local:.1f} s, docker {docker:.1f} s -> docker/local {docker / local:.2f}x, "
                  f"overhead {docker - local:+.1f} s", flush=True)
            if runs > 1:
                print(f"[{name}]   all runs: local {', '.join(f'{t:.1f}' for t in times['local'])}; "
                      f"docker {', '.join(f'{t:.1f}' for t in times['docker'])}")
            print(f"[{name}]   timed docker runs: {'; '.join(builds)}")
            same = all(round(a, 3) == round(b, 3) for a, b in zip(metrics["local"], metrics["docker"], strict=True))
            print(f"[{name}]   test accuracy / macro-F1: local {metrics['local'][0]:.4f} / {metrics['local'][1]:.4f}, "
                  f"docker {metrics['docker'][0]:.4f} / {metrics['docker'][1]:.4f} -> "
                  f"{'equal to 3 decimals' if same else 'DIFFERENT'}", flush=True)
        subprocess.run([sys.executable, "run.py", "--list-deployments", "--stack", "local"], cwd=project, env=env,
                       capture_output=True)  # leave the local stack active in the throw-away home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="tiny,default", help="comma-separated: tiny, default (default: both)")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per stack and data set (default 1)")
    parser.add_argument("--cold-build", action="store_true", help="also time a no-cache image build (~3 min)")
    parser.add_argument("--project", type=Path, default=ROOT, help=argparse.SUPPRESS)  # a copy of the checkout
    args = parser.parse_args()
    bench_training(args.project.resolve(), [d.strip() for d in args.data.split(",") if d.strip()], args.runs)
    docker_image_figures(args.cold_build)


if __name__ == "__main__":
    main()
