"""The layout says what things are: product code never imports from scripts/, and scripts stay entry points."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCT = {"scripts", "tests", ".venv", ".git", "outputs", "data", "benchmarks"}
MAX_SCRIPT_LINES = 40  # argument parsing and a call into the package that does the work


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def product_modules() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] not in NOT_PRODUCT]


def test_no_product_module_imports_from_scripts():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imported_modules(p) if m.split(".")[0] == "scripts")
                 for p in product_modules()}
    assert len(product_modules()) > 50  # the walk found the project
    assert {k: v for k, v in offenders.items() if v} == {}


def test_scripts_are_thin_entry_points():
    scripts = sorted((ROOT / "scripts").glob("*.py"))
    assert scripts, "no scripts found"
    too_long = {p.name: n for p in scripts if (n := len(p.read_text().splitlines())) > MAX_SCRIPT_LINES}
    assert too_long == {}, f"move the logic into a package (har/ or mlops/): {too_long}"
    assert not (ROOT / "scripts" / "__init__.py").exists(), "scripts/ is not a package to import from"


def test_platform_and_monitoring_folders_say_what_they_hold():
    assert not (ROOT / "deployment").exists(), "deployment code lives in mlops/ (pipelines/ and steps/ hold the rest)"
    assert not (ROOT / "monitoring").exists(), "Prometheus/Grafana files live in prometheus_grafana/"
    assert (ROOT / "prometheus_grafana" / "prometheus.yml").is_file()
    assert (ROOT / "mlops" / "bentoml_flavor.py").is_file()


def test_the_har_command_knows_every_pipeline_of_run_py():
    import run
    from har.cli import PIPELINES

    assert set(PIPELINES) == set(run.DEFAULT_CONFIGS) == set(run.PIPELINES)
