# The two commands a new user needs:
#   make train   set everything up and train on the built-in default data
#   make test    set everything up and run the test suite
# Everything installs into ./.venv from requirements.txt + constraints.txt.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STACK  ?= local

export ZENML_ANALYTICS_OPT_IN := false
export ZENML_AUTO_OPEN_DASHBOARD := false
export BENTOML_DO_NOT_TRACK := true
export MLFLOW_ENABLE_TELEMETRY := false
export DO_NOT_TRACK := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help install setup train test test-unit lint bench freeze clean dashboard dashboard-stop mlflow-ui docker-engine base-image docker-prune

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 required, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed ## create .venv with the pinned dependencies

setup: install ## install and register/activate the ZenML stack (STACK=local or STACK=docker)
	$(PY) scripts/setup_stack.py --stack $(STACK)

train: setup ## set up, then run the training pipeline on the default data (STACK=docker: in containers)
	$(PY) run.py --pipeline train --stack $(STACK)

test: install ## set up, then run all tests (isolated ZenML/MLflow homes)
	$(PY) -m pytest

test-unit: install ## fast unit tests only
	$(PY) -m pytest tests/unit

lint: install ## ruff
	$(VENV)/bin/ruff check .

bench: install ## print the benchmark figures (serving and drift-pipeline ones need `make train` + a deploy)
	$(PY) benchmarks/bench_windowing.py
	$(PY) benchmarks/bench_materializer.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_drift.py
	$(PY) run.py --pipeline deploy && $(PY) benchmarks/bench_serving.py; $(PY) run.py --stop-deployments
	$(PY) benchmarks/bench_drift_pipeline.py

dashboard: setup ## start the local ZenML dashboard (offline) and print its URL
	$(VENV)/bin/zenml login --local

dashboard-stop: ## stop the local ZenML dashboard
	$(VENV)/bin/zenml logout --local

mlflow-ui: setup ## MLflow UI on the stack's tracking store, http://127.0.0.1:5000 (Ctrl-C stops)
	$(PY) scripts/mlflow_ui.py

docker-engine: ## install (Debian: docker.io, debootstrap) and start the Docker engine; needs root
	scripts/docker_engine.sh

base-image: ## build the offline stand-in for python:3.11-slim from Debian packages (needs root)
	scripts/build_base_image.sh

docker-prune: ## remove this project's exited step containers (ZenML's Docker orchestrator keeps them)
	docker container prune --force --filter label=har.project=har

freeze: install ## regenerate constraints.txt from the current .venv
	( echo "# Full pinned environment (pip freeze of a working install). Regenerate with: make freeze"; \
	  $(PY) -m pip freeze --exclude-editable ) > constraints.txt

clean: ## remove generated data and caches (not the ZenML store)
	rm -rf data .pytest_cache .ruff_cache
