# Runtime image of the project: the pinned Python environment plus the code.
# ZenML's Docker orchestrator uses it as the parent image of every step, and it
# runs `python run.py ...` directly.
#
#   docker build -t har:latest .                                  # with registry access
#   docker build --build-arg BASE_IMAGE=har-base:py3.11-bookworm -t har:latest .
#                                   # offline: base from scripts/build_base_image.sh
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

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
    MPLBACKEND=Agg

# A venv works the same on python:3.11-slim and on Debian's python3.11 (PEP 668).
RUN python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
 && python3 -m venv /opt/venv

WORKDIR /app
# Dependencies first: this layer is reused until requirements change.
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt
# Matplotlib's font cache, built once here instead of in every step container
# ("generated new fontManager"), readable whatever user id ZenML runs steps as.
ENV MPLCONFIGDIR=/opt/mplconfig
RUN python -c "import matplotlib.pyplot" && chmod -R a+rwX /opt/mplconfig

COPY . .
CMD ["python", "run.py", "--help"]
