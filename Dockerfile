# The project's images. Two targets:
#
#   runtime (what the docker stack builds): the pinned Python environment without the
#       developer tools, and no project code. ZenML ships each run's code through its
#       artifact store (code download), so this image stays the same until
#       requirements.txt, constraints.txt or this file change - and an unchanged project
#       reuses its build instead of rebuilding it.
#   app: runtime + the code, for running `python run.py ...` by hand.
#
#   docker build --target app -t har:latest .                          # with registry access
#   docker build --build-arg BASE_IMAGE=har-base:py3.11-bookworm --target app -t har:latest .
#                                   # offline: base from scripts/build_base_image.sh
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS runtime
# sha256 of requirements.txt + constraints.txt (scripts/docker_stack.py): part of
# ZenML's build checksum, so a dependency change is rebuilt and an unchanged one reused.
ARG REQUIREMENTS_SHA=unset
LABEL har.requirements-sha=${REQUIREMENTS_SHA}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    ZENML_ANALYTICS_OPT_IN=false \
    BENTOML_DO_NOT_TRACK=true \
    MLFLOW_ENABLE_TELEMETRY=false \
    DO_NOT_TRACK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/opt/mplconfig \
    NUMBA_CACHE_DIR=/opt/numba-cache \
    BENTOML_HOME=/tmp/bentoml

WORKDIR /app
# requirements.txt without the developer tools (tests, lint, browser, fuzzing: never
# imported by a step), installed against constraints.txt: the project's exact pins.
# uv installs them several times faster than pip; --compile-bytecode writes the .pyc
# files once here, so no step container compiles its imports again.
# uv reads the image's CA bundle (it has the host's, see build_base_image.sh).
# The matplotlib font cache is built once here too, readable by any user id; /app is
# writable by any user id (ZenML downloads the run's code there).
ARG DEV_TOOLS="pytest playwright ruff schemathesis"
# MiniRocket (the default model family) runs aeon's numba functions; compiling them took ~17 s at the first
# fit of every step container. Compiled once here into NUMBA_CACHE_DIR (float32 multivariate, as the
# family calls them), every container loads them from the image instead. numba keys its cache on the
# source file's mtime, and image layers keep mtimes in whole seconds only (a build-time stamp with
# nanoseconds never matched again: every container recompiled): aeon's sources get a whole-second mtime
# first, and their bytecode is compiled again for it.
ARG NUMBA_WARMUP="import numpy as np; from aeon.transformations.collection.convolution_based import MiniRocket; X = np.random.default_rng(0).normal(size=(8, 6, 128)).astype(np.float32); MiniRocket(n_kernels=84, n_jobs=1, random_state=0).fit(X).transform(X)"
COPY requirements.txt constraints.txt /tmp/requirements/
RUN python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
 && python3 -m venv /opt/venv \
 && grep -viE "^($(echo $DEV_TOOLS | tr ' ' '|'))[=<>~ ]" /tmp/requirements/requirements.txt \
      > /tmp/requirements/runtime.txt \
 && /opt/venv/bin/pip install --no-cache-dir "$(grep -E '^uv==' /tmp/requirements/constraints.txt)" \
 && SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    /opt/venv/bin/uv pip install --no-cache --compile-bytecode --python /opt/venv/bin/python \
      -r /tmp/requirements/runtime.txt -c /tmp/requirements/constraints.txt \
 && rm -rf /opt/venv/lib/python3.11/site-packages/tensorflow/include \
 && python -c "import matplotlib.pyplot" && chmod -R a+rwX /opt/mplconfig \
 && AEON=/opt/venv/lib/python3.11/site-packages/aeon \
 && find $AEON -name "*.py" -exec touch -m -d @1700000000 {} + && python -m compileall -q $AEON \
 && python -c "$NUMBA_WARMUP" && chmod -R a+rwX /opt/numba-cache \
 && chmod 1777 /app

FROM runtime AS app
COPY . .
CMD ["python", "run.py", "--help"]
