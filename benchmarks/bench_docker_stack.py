"""The docker stack's costs: image build cold and cached, image size, and pipeline wall time vs. local.

    python benchmarks/bench_docker_stack.py [--skip-cold-build]

1. Builds the project's image from the Dockerfile on the resolved base image
   (scripts/docker_stack.py) three ways: cold (no layer cache: every pinned
   package from PyPI), with the layer cache and unchanged sources, and with the
   layer cache after a source change (what a code edit costs).
2. Runs the training pipeline on the same tiny data (5 subjects, 3 epochs) on
   the local stack and on the docker stack, each with --no-cache, twice, in a
   throw-away ZenML home, and prints the wall times and the docker/local ratio.

Needs a running Docker engine (make docker-engine). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMAGE = "har-bench:latest"


def build(client, context: Path, base_image: str, nocache: bool) -> float:
    start = time.perf_counter()
    for chunk in client.api.build(path=str(context), tag=IMAGE, buildargs={"BASE_IMAGE": base_image},
                                  nocache=nocache, rm=True, forcerm=True, decode=True):
        if "error" in chunk:
            raise SystemExit(f"docker build failed: {chunk['error']}")
    return time.perf_counter() - start


def bench_build(skip_cold: bool) -> None:
    from scripts.docker_stack import docker_client, resolve_base_image

    client = docker_client()
    base = resolve_base_image()
    with tempfile.TemporaryDirectory(prefix="har-bench-ctx-") as tmp:
        context = Path(tmp) / "ctx"
        shutil.copytree(ROOT, context, ignore=shutil.ignore_patterns(".venv", ".git", "data", "outputs", "docs",
                                                                     "__pycache__", ".pytest_cache", ".ruff_cache"))
        print(f"Image builds of {ROOT / 'Dockerfile'} on {base}:")
        if not skip_cold:
            cold = build(client, context, base, nocache=True)
            print(f"  cold (no layer cache, packages from PyPI): {cold:7.1f} s")
        cached = build(client, context, base, nocache=False)
        print(f"  layer cache, sources unchanged:             {cached:7.1f} s")
        (context / "har" / "_bench_touch.py").write_text(f"# {time.time()}\n")
        edited = build(client, context, base, nocache=False)
        print(f"  layer cache, after a source edit:           {edited:7.1f} s")
    image = client.images.get(IMAGE)
    base_size = client.images.get(base).attrs["Size"]
    print(f"  image size: {image.attrs['Size'] / 1e9:.2f} GB (base {base_size / 1e6:.0f} MB)")
    client.images.remove(IMAGE, noprune=False)


def bench_pipeline() -> None:
    from har.synthetic import generate_dataset

    home = Path(tempfile.mkdtemp(prefix="har-bench-docker-"))
    data = home / "data"
    generate_dataset(data, seed=7, n_subjects=5, seconds_per_activity=12.0)
    config = yaml.safe_load((ROOT / "configs" / "train.yaml").read_text())
    config["steps"]["train_model"]["parameters"]["hyperparameters"].update(
        conv_filters=[16], lstm_units=8, dense_units=0, epochs=3, early_stopping_patience=3)
    config["steps"]["check_quality_gate"]["parameters"]["min_macro_f1"] = 0.0
    config_path = home / "train_tiny.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "ZENML_CONFIG_PATH": str(home / "zenml"), "BENTOML_HOME": str(home / "bentoml"),
           "ZENML_ANALYTICS_OPT_IN": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}

    def run(stack: str) -> float:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "run.py", "--pipeline", "train", "--stack", stack, "--no-cache",
                                 "--config", str(config_path), "--data-dir", str(data)],
                                cwd=ROOT, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
            raise SystemExit(f"training on the {stack} stack failed")
        return time.perf_counter() - start

    times = {stack: [run(stack) for _ in range(2)] for stack in ("local", "docker")}
    run("local")  # leave the local stack active in the throw-away home
    print("Training pipeline, tiny data (10 steps, --no-cache), wall time of `run.py` incl. start-up:")
    for stack, (first, second) in times.items():
        print(f"  {stack:6s}: first {first:6.1f} s, second {second:6.1f} s")
    ratio = times["docker"][1] / times["local"][1]
    print(f"  docker / local (second runs): {ratio:.1f}x")
    shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-cold-build", action="store_true", help="skip the no-cache build (~3 min)")
    args = parser.parse_args()
    bench_build(args.skip_cold_build)
    bench_pipeline()


if __name__ == "__main__":
    main()
