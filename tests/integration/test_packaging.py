"""`pip install -e .` into a fresh venv: only `har` becomes importable, the `har` command works,
and the README's Python snippet loads the trained model from outside the checkout.

The fresh venv reuses the project venv's packages instead of installing 3 GB again. `python -m
venv --system-site-packages` would not do that (it exposes the *base* interpreter's packages, not
the project venv's), so a `.pth` file in the new venv adds the project venv's site-packages as a
site dir, after the new venv's own: `har` and its console script come from this install only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = "har-activity-classifier"
GENERIC_NAMES = ("steps", "pipelines", "scripts", "deployment", "materializers", "monitoring", "run", "service")
README_SNIPPET = f"""
import har
har.use_project()  # ZenML loads the project's flavor and materializers from the checkout

from zenml.client import Client
version = Client().get_model_version("{MODEL}", "production")
model = version.get_artifact("trained_model").load()        # a har.families model, e.g. MiniRocketRidge
normalizer = version.get_artifact("normalizer").load()
"""


def make_venv(path: Path) -> Path:
    """A pip-less venv that sees the project venv's packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    own_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              check=True, capture_output=True, text=True).stdout.strip()
    project_site = sysconfig.get_path("purelib")  # this interpreter's: the project venv
    Path(own_site, "_project_venv.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
    return python


def pip_install(python: Path, *args: str) -> None:
    """Offline and fast: no dependencies, no isolated build env (setuptools comes from the project venv)."""
    result = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                             "--disable-pip-version-check", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def clean_env() -> dict:
    """The tests' isolated ZenML/BentoML homes, nothing that would put the checkout on the path."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "ZENML_CUSTOM_SOURCE_ROOT", "HAR_PROJECT_ROOT", "ZENML_REPOSITORY_PATH"):
        env.pop(key, None)
    return env


def run_in(python_or_exe: Path, *args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(python_or_exe), *args], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """An empty working directory outside the checkout (nothing there to import by accident)."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with `pip install -e <checkout>`; returns its bin folder."""
    python = make_venv(tmp_path_factory.mktemp("editable") / "venv")
    pip_install(python, "-e", str(ROOT))
    return python.parent


def test_pyproject_pins_equal_requirements_txt():
    """requirements.txt (+ constraints.txt) is what `make install` installs; the package metadata must agree."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"]) | {dep for deps in project["optional-dependencies"].values()
                                                for dep in deps}
    required = {line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    required.discard("")
    assert declared == required, f"only in pyproject.toml: {declared - required}; only in requirements.txt: " \
                                 f"{required - declared}"


def test_generic_top_level_names_stay_private(venv, elsewhere):
    for name in GENERIC_NAMES:
        result = run_in(venv / "python", "-c", f"import {name}; print({name}.__file__)", cwd=elsewhere)
        assert result.returncode != 0, f"`import {name}` works after installing the project: {result.stdout}"
        assert f"No module named '{name}'" in result.stderr, result.stderr[-2000:]


def test_har_is_importable_from_the_checkout(venv, elsewhere):
    result = run_in(venv / "python", "-c", "import har, sys; print(har.__file__); print(sorted(sys.modules))",
                    cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-2000:]
    file, modules = result.stdout.splitlines()[:2]
    assert Path(file) == ROOT / "har" / "__init__.py"
    assert "zenml" not in modules and "tensorflow" not in modules  # `import har` stays light


def test_har_command_runs_run_py(venv, elsewhere):
    result = run_in(venv / "har", "--help", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-2000:]
    for command in ("train", "deploy", "inference", "drift", "deployments"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), result.stdout

    result = run_in(venv / "har", "train", "--help", cwd=elsewhere)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage: har train" in result.stdout
    for option in ("--config", "--data-dir", "--no-cache", "--stack", "--list-deployments"):
        assert option in result.stdout, result.stdout

    result = run_in(venv / "har", "no-such-command", cwd=elsewhere)
    assert result.returncode == 2 and "unknown command 'no-such-command'" in result.stderr
    result = run_in(venv / "har", "train", "--no-such-option", cwd=elsewhere)
    assert result.returncode == 2, result.stderr[-2000:]  # run.py's (click's) exit code, passed through
    assert "Usage: har train" in result.stderr and "--no-such-option" in result.stderr


def test_readme_snippet_loads_the_production_model_from_elsewhere(venv, elsewhere, trained_run):
    from zenml.client import Client

    metadata = Client().get_model_version(MODEL, "production").get_artifact("trained_model").run_metadata
    expected = [metadata["family"], metadata["window_size"], metadata["n_channels"]]
    probe = ("\nimport json, numpy as np"
             "\nraw = np.zeros((2, model.window_size, len(model.channel_names)), np.float32)"
             "\nproba = model.predict_proba(normalizer.transform(raw))"
             "\nprint(json.dumps([model.name, model.window_size, len(model.channel_names), proba.shape[0]]))")
    result = run_in(venv / "python", "-c", README_SNIPPET + probe, cwd=elsewhere)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [*expected, 2]

    # What har.use_project() is for: without it ZenML cannot load the project's stack from here.
    without = README_SNIPPET.replace("har.use_project()", "pass")
    result = run_in(venv / "python", "-c", without, cwd=elsewhere)
    assert result.returncode != 0
    assert "source root" in result.stderr or "CustomFlavorImportError" in result.stderr, result.stderr[-3000:]

    # The `har` command reaches the same stack and store from here.
    result = run_in(venv / "har", "deployments", "list", cwd=elsewhere)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Active ZenML stack: har_local" in result.stdout


def test_non_editable_install_refuses_clearly(tmp_path, elsewhere):
    """A wheel carries `har` without the checkout: `har.use_project()` and `har` say how to install instead."""
    source = tmp_path / "src"  # a copy, so the wheel build leaves no build/ folder in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "har", source / "har", ignore=shutil.ignore_patterns("__pycache__"))
    python = make_venv(tmp_path / "venv")
    pip_install(python, str(source))

    result = run_in(python.parent / "har", "train", "--help", cwd=elsewhere)
    assert result.returncode == 2
    assert "not inside a checkout" in result.stderr and "pip install -e" in result.stderr, result.stderr
    result = run_in(python, "-c", "import har; har.use_project()", cwd=elsewhere)
    assert result.returncode != 0 and "ProjectNotFoundError" in result.stderr
