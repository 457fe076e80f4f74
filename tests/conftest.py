"""Test-wide isolation: every ZenML / MLflow / BentoML home is a fresh temp dir.

Set at import time, before any test module imports zenml, so no test can
touch the user's ~/.config/zenml, ~/bentoml or ./mlruns.
"""

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="har-tests-")
os.environ["ZENML_CONFIG_PATH"] = os.path.join(_HOME, "zenml")
os.environ["BENTOML_HOME"] = os.path.join(_HOME, "bentoml")
for key, value in {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_AUTO_OPEN_DASHBOARD": "false",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "MPLBACKEND": "Agg",
}.items():
    os.environ[key] = value
os.environ.pop("ZENML_STORE_URL", None)
os.environ.pop("ZENML_STORE_API_KEY", None)


LOUD_SKIPS = ("DOCKER ENGINE NOT AVAILABLE", "CHROMIUM NOT AVAILABLE", "NGINX NOT AVAILABLE")


def pytest_terminal_summary(terminalreporter):
    """Tests skipped for a missing Docker engine or browser are shouted, not buried in a count."""
    reasons = set()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if any(marker in reason for marker in LOUD_SKIPS):
            reasons.add(reason.removeprefix("Skipped: "))
    if reasons:
        terminalreporter.write_sep("!", "PARTS OF THE SYSTEM WERE NOT TESTED", red=True, bold=True)
        for reason in sorted(reasons):
            terminalreporter.write_line(f"!!! {reason}", red=True, bold=True)
        terminalreporter.write_sep("!", "", red=True, bold=True)
