"""Screenshots of the ZenML dashboard and the MLflow UI for the README, from a real store.

    python scripts/screenshots.py [--out docs/screenshots] [--zenml-port 8237] [--mlflow-port 5000]

Run it after `make train` (and optionally a drift run): it starts the local
ZenML server and the MLflow UI (or uses them if they are already running),
opens the latest training run (and drift run) in headless Chromium, saves the
key pages as PNGs and stops the servers it started.

The browser is Debian's Chromium driven by Playwright (`make browser-deps`);
Playwright's own browser download (`playwright install`) is never needed.
The navigation helpers here are shared with tests/integration/test_browser.py,
so the test checks the same pages these screenshots show.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

CHROMIUM = os.environ.get("HAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 90_000  # pages of a busy 2-core machine
# A fresh browser profile is always a first visit: the MLflow 3 UI would open its "Assistant" side
# panel and start in its "GenAI" mode. These are the UI's own saved choices for "panel closed" and
# "Model training" (what clicking those controls stores).
MLFLOW_FIRST_VISIT_DONE = """
window.localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');
window.localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');
window.localStorage.setItem('mlflow.workflowType_v1', '"machine_learning"');
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_browser(playwright):
    """Debian's Chromium, headless, offline-friendly (no component updates, no background requests)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def new_context(browser, **kwargs):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, **kwargs)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(MLFLOW_FIRST_VISIT_DONE)
    return context


class Dashboard:
    """The pages of the ZenML 0.98 OSS dashboard that show a pipeline run."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url.rstrip("/")

    def goto(self, path: str = "/") -> None:
        self.page.goto(self.base_url + path, wait_until="load")
        self.page.locator("main, #root").first.wait_for()

    def dismiss_notice(self) -> None:
        """The "You are running a local version of ZenML" banner."""
        notice = self.page.get_by_role("button", name="Dismiss local-server notice")
        if notice.count():
            notice.click()

    def open_run(self, run_id: str) -> None:
        self.goto(f"/projects/default/runs/{run_id}")
        self.page.locator(".react-flow__node").first.wait_for()
        self.dismiss_notice()

    def step_node(self, step: str):
        return self.page.locator(f'.react-flow__node[data-id="step/{step}"]')

    def artifact_node(self, step: str, output: str):
        return self.page.locator(f'.react-flow__node[data-id="{step}/outputs/step_output/{output}"]')

    def fit_view(self) -> None:
        """Fit the DAG into the view (React Flow renders only the nodes in view)."""
        self.close_sheet()
        self.page.get_by_role("button", name="Fit view").click()
        time.sleep(0.5)  # the fit-view animation

    def collapse_insights(self) -> None:
        """Fold the run's side panel so the DAG gets the whole width."""
        self.page.get_by_text("Run Insights", exact=True).locator("xpath=..").get_by_role("button").first.click()
        self.fit_view()

    def sheet(self):
        return self.page.get_by_role("dialog")

    def close_sheet(self) -> None:
        if self.sheet().count():
            self.page.keyboard.press("Escape")
            self.sheet().wait_for(state="detached")

    def in_view(self, node):
        """`node`, fitting the DAG into the view first when it is not rendered (React Flow renders only the
        nodes in view, and a run with many steps and inputs is larger than the page)."""
        self.close_sheet()
        if not node.count():
            self.fit_view()
        return node

    def open_step(self, step: str, tab: str = "Overview"):
        self.in_view(self.step_node(step)).click()
        sheet = self.sheet()
        sheet.get_by_role("tab", name=tab).click()
        return sheet

    def open_visualization(self, step: str, output: str, name: str | None = None):
        """Open an artifact's Visualization tab, pass the "Load Preview" gate, pick `name` (e.g. a PNG)."""
        self.in_view(self.artifact_node(step, output)).click()
        sheet = self.sheet()
        sheet.get_by_role("tab", name="Visualization").click()
        self._load_preview(sheet)
        chooser = sheet.get_by_role("combobox")
        if name is not None and name not in chooser.inner_text():
            chooser.click()
            self.page.get_by_role("option", name=name).click()
            chooser.filter(has_text=name).wait_for()
            self._load_preview(sheet)
        return sheet

    @staticmethod
    def _load_preview(sheet) -> None:
        # Every visualization first shows "This preview may contain harmful code ... [Load Preview]
        # [Download]"; the loaded view keeps the Download button.
        sheet.get_by_role("button", name="Download").wait_for()
        gate = sheet.get_by_role("button", name="Load Preview")
        if gate.count():
            gate.click()
            gate.wait_for(state="detached")

    def image_loaded(self, sheet) -> tuple[int, int]:
        """Natural size of the visualization PNG (0, 0 if it did not decode)."""
        image = sheet.locator("img[alt='Visualization for artifact']")
        image.wait_for()
        image.evaluate("img => img.decode()")
        return tuple(image.evaluate("img => [img.naturalWidth, img.naturalHeight]"))

    def html_frame(self, sheet):
        """The rendered HTML visualization (a FrameLocator: assert on what a user sees)."""
        return sheet.frame_locator("iframe[title='Secure HTML Content']")

    def html_visualization(self, sheet) -> str:
        """The HTML the dashboard put into its sandboxed iframe (`srcdoc`)."""
        frame = sheet.locator("iframe[title='Secure HTML Content']")
        frame.wait_for()
        return frame.get_attribute("srcdoc") or ""


class MLflowUI:
    """The MLflow 3 UI pages of a training run."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url.rstrip("/")

    def api(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def find_run(self, experiment: str, run_name: str) -> tuple[str, str]:
        """(experiment id, run id) of the MLflow run ZenML's tracker named after the pipeline run."""
        query = urllib.parse.urlencode({"experiment_name": experiment})
        experiment_id = self.api(f"/api/2.0/mlflow/experiments/get-by-name?{query}")["experiment"]["experiment_id"]
        runs = self.api("/api/2.0/mlflow/runs/search", {
            "experiment_ids": [experiment_id], "filter": f"attributes.run_name = '{run_name}'"}).get("runs", [])
        if not runs:
            raise LookupError(f"no MLflow run named {run_name} in experiment {experiment}")
        return experiment_id, runs[0]["info"]["run_id"]

    def open_runs(self, experiment_id: str) -> None:
        self.page.goto(f"{self.base_url}/#/experiments/{experiment_id}/runs", wait_until="load")
        self.page.get_by_text(re.compile(r"^\d+ matching runs?$")).wait_for()

    def open_run(self, experiment_id: str, run_id: str) -> None:
        self.page.goto(f"{self.base_url}/#/experiments/{experiment_id}/runs/{run_id}", wait_until="load")
        self.page.get_by_text("About this run", exact=True).wait_for()

    def open_metrics(self, experiment_id: str, run_id: str, search: str | None = None):
        """The run's "Model metrics" tab (one chart card per metric), optionally filtered by `search`."""
        self.page.goto(f"{self.base_url}/#/experiments/{experiment_id}/runs/{run_id}/model-metrics",
                       wait_until="load")
        self.page.locator(self.CARD).first.wait_for()
        if search:
            self.page.get_by_placeholder("Search metric charts").fill(search)
        # plotly draws a metric's history as an SVG line in its scatter layer (attached, not "visible": a flat
        # line, e.g. every fold at 1.0, has no height)
        self.page.locator(".scatterlayer .trace path.js-line").first.wait_for(state="attached")

    CARD = '[data-testid="experiment-view-compare-runs-card"]'

    def metric_card(self, metric: str):
        return self.page.locator(self.CARD).filter(has=self.page.get_by_text(metric, exact=True))

    def metric_history(self, run_id: str, metric: str) -> list[dict]:
        query = urllib.parse.urlencode({"run_id": run_id, "metric_key": metric})
        return self.api(f"/api/2.0/mlflow/metrics/get-history?{query}").get("metrics", [])


def latest_run(pipeline: str, step: str):
    """The newest run of `pipeline` whose `step` completed (a drift run that alerted has failed as a run,
    but its `detect_drift` step and report are there)."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus

    try:
        runs = Client().get_pipeline(pipeline).runs
    except KeyError:
        return None
    return next((run for run in runs if step in run.steps and run.steps[step].status == ExecutionStatus.COMPLETED),
                None)


def shoot(page, path: Path) -> Path:
    page.screenshot(path=str(path))
    print(f"  {path} ({path.stat().st_size // 1024} KB)")
    return path


def _port_or_free(port: int) -> int:
    """`port`, or a free one if another program (e.g. a foreground `mlflow ui`) holds it."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        busy = sock.connect_ex(("127.0.0.1", port)) == 0
    return free_port() if busy else port


@contextmanager
def servers(zenml_port: int, mlflow_port: int) -> Iterator[tuple[str, str]]:
    """The ZenML server and the MLflow UI: the running ones, or ones started (and stopped) here."""
    from mlops import mlflow_ui, zenml_dashboard

    zenml_url = zenml_dashboard.running_url()
    started_zenml = zenml_url is None
    if started_zenml:
        zenml_url = zenml_dashboard.start(_port_or_free(zenml_port), connect=False)
    else:
        zenml_dashboard.skip_onboarding_form()
    mlflow = mlflow_ui.running()
    started_mlflow = mlflow is None
    try:
        if started_mlflow:
            mlflow = mlflow_ui.start("127.0.0.1", _port_or_free(mlflow_port))
        yield zenml_url, mlflow["url"]
    finally:
        if started_mlflow:
            mlflow_ui.stop()
        if started_zenml:
            zenml_dashboard.stop()


def take_screenshots(out: Path, zenml_url: str, mlflow_url: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    training = latest_run("training_pipeline", "promote_model")
    if training is None:
        raise SystemExit("no completed training_pipeline run in this ZenML store: run `make train` first")
    drift = latest_run("drift_pipeline", "detect_drift")
    retraining = latest_run("retraining_pipeline", "merge_recordings")
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        context = new_context(browser)
        page = context.new_page()
        dashboard = Dashboard(page, zenml_url)
        print(f"ZenML run {training.name}")
        dashboard.open_run(str(training.id))
        shots.append(shoot(page, out / "zenml_run_overview.png"))
        page.set_viewport_size({"width": 1280, "height": 1000})  # the whole DAG, readable
        dashboard.collapse_insights()
        shots.append(shoot(page, out / "zenml_run_dag.png"))
        page.set_viewport_size(VIEWPORT)
        dashboard.fit_view()
        sheet = dashboard.open_step("cross_validate_model", "Logs")
        sheet.get_by_text(re.compile(r"fold \d+/\d+ seed")).first.wait_for()
        shots.append(shoot(page, out / "zenml_step_logs.png"))
        sheet = dashboard.open_visualization("cross_validate_model", "cv_report", "cross_validation.html")
        dashboard.html_visualization(sheet)
        shots.append(shoot(page, out / "zenml_cross_validation.png"))
        for output, name, file in [
            ("train_windows", "example_windows.png", "zenml_dataset_examples.png"),
            ("train_windows", "class_balance.png", "zenml_dataset_class_balance.png"),
        ]:
            sheet = dashboard.open_visualization("split_windows", output, name)
            dashboard.image_loaded(sheet)
            shots.append(shoot(page, out / file))
        sheet = dashboard.open_visualization("validate_sensor_data", "data_quality_report")
        dashboard.html_visualization(sheet)
        shots.append(shoot(page, out / "zenml_data_quality_report.png"))
        sheet = dashboard.open_visualization("evaluate_model", "evaluation_report", "confusion_matrix.png")
        dashboard.image_loaded(sheet)
        shots.append(shoot(page, out / "zenml_confusion_matrix.png"))
        sheet = dashboard.open_visualization("promote_model", "promotion_decision")
        sheet.get_by_text('"stage"', exact=False).first.wait_for()
        shots.append(shoot(page, out / "zenml_promotion_decision.png"))
        sheet = dashboard.open_visualization("promote_model", "model_versions")
        dashboard.html_frame(sheet).get_by_role("cell", name="this run", exact=True).wait_for()
        shots.append(shoot(page, out / "zenml_model_versions.png"))
        dashboard.goto("/projects/default/models")
        page.get_by_text("zenml model list").wait_for()
        dashboard.dismiss_notice()
        shots.append(shoot(page, out / "zenml_models_page_oss.png"))

        if drift is not None:
            print(f"ZenML run {drift.name}")
            dashboard.open_run(str(drift.id))
            sheet = dashboard.open_visualization("detect_drift", "drift_verdict")
            dashboard.html_visualization(sheet)
            shots.append(shoot(page, out / "zenml_drift_verdict.png"))
            # The dashboard shows HTML in an iframe with `sandbox=""` (no scripts), so Evidently's
            # report (a JavaScript app) stays blank there; its Download button gives the file,
            # which renders in the browser itself.
            sheet = dashboard.open_visualization("detect_drift", "drift_report")
            with page.expect_download() as download:
                sheet.get_by_role("button", name="Download").click()
            with tempfile.TemporaryDirectory(prefix="har-shots-") as tmp:
                report = Path(tmp) / "evidently_report.html"
                download.value.save_as(report)
                page.goto(report.as_uri(), wait_until="load")
                page.get_by_text(re.compile("Drift", re.I)).first.wait_for()
                time.sleep(2)  # plotly charts of the report
                shots.append(shoot(page, out / "evidently_drift_report.png"))
            print("  (Evidently's report is blank inside the dashboard, whose HTML iframe runs no scripts: "
                  "this is the downloaded file)")
        else:
            print("No drift_pipeline run with a completed detect_drift step: the drift screenshots are skipped")

        if retraining is not None:  # lineage: the production version's recordings + the new ones -> a new version
            print(f"ZenML run {retraining.name}")
            dashboard.open_run(str(retraining.id))
            page.set_viewport_size({"width": 1280, "height": 1000})
            dashboard.collapse_insights()
            dashboard.step_node("merge_recordings").wait_for()
            shots.append(shoot(page, out / "zenml_retraining_run_dag.png"))
            page.set_viewport_size(VIEWPORT)
        else:
            print("No retraining_pipeline run that merged recordings: the retraining screenshot is skipped")

        mlflow = MLflowUI(page, mlflow_url)
        experiment_id, run_id = mlflow.find_run("training_pipeline", training.name)
        print(f"MLflow run {run_id} of experiment {experiment_id}")
        mlflow.open_runs(experiment_id)
        shots.append(shoot(page, out / "mlflow_training_runs.png"))
        mlflow.open_run(experiment_id, run_id)
        page.get_by_text(re.compile(r"Parameters \(\d+\)")).scroll_into_view_if_needed()
        shots.append(shoot(page, out / "mlflow_run_params.png"))
        mlflow.open_metrics(experiment_id, run_id, search="fold_")
        time.sleep(1)
        shots.append(shoot(page, out / "mlflow_run_curves.png"))
        browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--zenml-port", type=int, default=int(os.environ.get("ZENML_DASHBOARD_PORT", 8237)))
    parser.add_argument("--mlflow-port", type=int, default=int(os.environ.get("MLFLOW_UI_PORT", 5000)))
    args = parser.parse_args(argv)
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"no Chromium at {CHROMIUM}: run `make browser-deps` (or set HAR_CHROMIUM)")
    with servers(args.zenml_port, args.mlflow_port) as (zenml_url, mlflow_url):
        shots = take_screenshots(args.out, zenml_url, mlflow_url)
    print(f"{len(shots)} screenshots in {args.out}")
    return 0

