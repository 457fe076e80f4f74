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

.PHONY: help install setup train loop-demo test test-unit lint bench freeze clean dashboard dashboard-stop mlflow-ui mlflow-ui-stop browser-deps proxy-deps screenshots docker-engine base-image docker-prune

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 required, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed ## create .venv with the pinned dependencies and the project (editable: the `har` command)

setup: install ## install and register/activate the ZenML stack (STACK=local or STACK=docker)
	$(PY) scripts/setup_stack.py --stack $(STACK)

train: setup ## set up, then run the training pipeline on the default data (STACK=docker: in containers)
	$(PY) run.py --pipeline train --stack $(STACK)

loop-demo: setup ## the whole loop: train, deploy (serving log on), traffic, monitoring, retrain, promote, redeploy
	$(PY) scripts/loop_demo.py

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
	$(PY) benchmarks/bench_families.py
	$(PY) run.py --pipeline deploy && $(PY) benchmarks/bench_serving.py && $(PY) benchmarks/bench_hostile.py; $(PY) run.py --stop-deployments
	$(PY) benchmarks/bench_drift_pipeline.py

# Ports: ZENML_DASHBOARD_PORT (default 8237) and MLFLOW_UI_PORT (default 5000), e.g. `make dashboard ZENML_DASHBOARD_PORT=8300`.
dashboard: setup ## start the local ZenML dashboard in the background (offline) and print its URL
	$(PY) scripts/zenml_dashboard.py start

dashboard-stop: install ## stop the local ZenML dashboard (and reconnect the client to the local database)
	$(PY) scripts/zenml_dashboard.py stop

mlflow-ui: setup ## start the MLflow UI on the stack's tracking store in the background and print its URL
	$(PY) scripts/mlflow_ui.py start

mlflow-ui-stop: install ## stop the MLflow UI started by `make mlflow-ui`
	$(PY) scripts/mlflow_ui.py stop

browser-deps: ## install Debian's chromium for the browser test and screenshots (needs root; no-op if present)
	scripts/browser_deps.sh

proxy-deps: ## install Debian's nginx-light for the deployments' proxy (lossless redeploy; needs root; no-op if present)
	scripts/proxy_deps.sh

screenshots: install browser-deps ## screenshots of the dashboard and MLflow UI for the latest runs -> docs/screenshots/
	$(PY) scripts/screenshots.py

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
