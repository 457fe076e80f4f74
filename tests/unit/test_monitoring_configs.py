"""The Prometheus config, the alert rules and the Grafana dashboard: valid, and only about metrics that exist.

`prometheus_grafana/metrics.txt` lists what the service exports (checked against a real
deployment in tests/integration/test_deployment.py); here every PromQL
expression must balance its brackets and name only those metrics and their labels.
With `promtool` installed, Prometheus' own parser checks every expression too.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from prometheus_grafana.references import (
    ALERTS_FILE,
    DASHBOARD_FILE,
    METRICS_FILE,
    PROMETHEUS_FILE,
    SCRAPE_SERIES,
    alert_expressions,
    as_promql,
    dashboard_expressions,
    exported_series,
    iter_panels,
    load_catalog,
    load_dashboard,
    problems,
    referenced_series,
    references,
    unbalanced,
)

ROOT = Path(__file__).resolve().parents[2]
SERIES = {**exported_series(load_catalog()), **SCRAPE_SERIES}
DASHBOARD = load_dashboard()
DASHBOARD_EXPRESSIONS = dashboard_expressions(DASHBOARD)
ALERT_EXPRESSIONS = alert_expressions()
PROBES = {"/readyz", "/livez", "/healthz"}  # BentoML's own routes


def _routes() -> set:
    """The service's HTTP routes, read from service.py, plus BentoML's health probes."""
    return set(re.findall(r'@bentoml\.api\(route="([^"]+)"', (ROOT / "service.py").read_text())) | PROBES


# --- the metric list -------------------------------------------------------------------------------------------

def test_metric_list_describes_the_service():
    catalog = load_catalog()
    assert catalog["har_predictions_total"].labels == {"activity"}
    assert catalog["bentoml_service_request_duration_seconds"].type == "histogram"
    assert {"endpoint", "http_response_code"} <= catalog["bentoml_service_request_total"].labels
    assert "bentoml_service_request_duration_seconds_bucket" in SERIES and "le" in SERIES[
        "bentoml_service_request_duration_seconds_bucket"]
    # the counter's name in service.py is what the list says, plus the _total prometheus_client appends
    counter = re.search(r'Counter\(\s*name="(\w+)"', (ROOT / "service.py").read_text())
    assert counter and f"{counter[1]}_total" in catalog


@pytest.mark.parametrize("line, message", [
    ("har_predictions counter activity", "_total"),
    ("har_predictions_total summary activity", "expected"),
    ("har_predictions_total counter", "expected"),
])
def test_malformed_metric_lists_are_rejected(tmp_path, line, message):
    path = tmp_path / "metrics.txt"
    path.write_text(f"# comment\n{line}\n")
    with pytest.raises(ValueError, match=message):
        load_catalog(path)


# --- the expression checker itself must catch mistakes -----------------------------------------------------------

@pytest.mark.parametrize("expr, problem", [
    ('sum(rate(bentoml_service_request_total{endpoint="/predict"}[5m])', "unclosed '('"),
    ('sum(rate(bentoml_service_request_total{endpoint="/predict")[5m]))', "unexpected ')'"),
    ("rate(bentoml_service_request_duration_seconds[5m])", "unknown metric bentoml_service_request_duration_seconds"),
    ("sum(rate(bentoml_api_server_request_total[5m]))", "unknown metric bentoml_api_server_request_total"),
    ("sum(rate(har_predictions[5m]))", "unknown metric har_predictions"),
    ('sum(rate(bentoml_service_request_total{status=~"5.."}[5m]))', "label status"),
    ("sum by (activity) (rate(bentoml_service_request_total[5m]))", "label activity"),
    ("histogram_quantile(0.99, sum by (le) (rate(bentoml_service_request_duration_seconds_count[5m])))", "label le"),
    ("time()", "selects no metric"),
])
def test_checker_reports_bad_expressions(expr, problem):
    assert any(problem in found for found in problems(expr, SERIES)), problems(expr, SERIES)


def test_checker_reads_names_not_functions_keywords_or_strings():
    expr = ('sum by (activity) (rate(har_predictions_total{job=~"$job", instance=~"a(b"}[$__rate_interval]))\n'
            "/ ignoring (activity) group_left sum(rate(har_predictions_total[5m] offset 1h)) > bool 0.5")
    assert unbalanced(expr) is None
    assert references(expr) == ({"har_predictions_total"}, {"activity", "job", "instance"})
    assert as_promql('rate(x{job=~"$job"}[$__rate_interval]) / increase(x[$__range])') == \
        'rate(x{job=~".*"}[1m]) / increase(x[1h])'


# --- Grafana dashboard ---------------------------------------------------------------------------------------------

def test_dashboard_is_valid_grafana_json():
    json.loads(DASHBOARD_FILE.read_text())  # strict JSON, not just a Python literal
    assert DASHBOARD["title"] and DASHBOARD["uid"]
    assert isinstance(DASHBOARD["schemaVersion"], int) and DASHBOARD["schemaVersion"] >= 36
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource" and variables["DS_PROMETHEUS"]["query"] == "prometheus"

    panels = list(iter_panels(DASHBOARD["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert {"x", "y", "w", "h"} <= set(grid) and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, f"{panel['title']} is wider than the 24-column grid"
        x, y, w, h = grid["x"], grid["y"], grid["w"], grid["h"]
        cell = {(column, line) for column in range(x, x + w) for line in range(y, y + h)}
        assert not cell & cells, f"{panel['title']} overlaps another panel"
        cells |= cell
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]


def test_dashboard_covers_traffic_errors_latency_and_predictions():
    exprs = " ".join(expr for _, expr in DASHBOARD_EXPRESSIONS)
    assert "sum by (endpoint, http_response_code) (rate(bentoml_service_request_total" in exprs
    assert 'http_response_code=~"5.."' in exprs and 'http_response_code=~"4.."' in exprs
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}, sum by (le, endpoint) " in exprs
    assert "bentoml_service_request_in_progress" in exprs
    assert "sum by (activity) (rate(har_predictions_total" in exprs
    assert "group_left" in exprs  # share = per activity / total


@pytest.mark.parametrize("where, expr", DASHBOARD_EXPRESSIONS + ALERT_EXPRESSIONS,
                         ids=[where for where, _ in DASHBOARD_EXPRESSIONS + ALERT_EXPRESSIONS])
def test_expressions_use_only_exported_metrics_and_labels(where, expr):
    assert problems(expr, SERIES) == []


def test_expressions_name_real_endpoints_and_filter_by_the_dashboard_variables():
    routes = _routes()
    for where, expr in DASHBOARD_EXPRESSIONS + ALERT_EXPRESSIONS:
        for values in re.findall(r'endpoint\s*(?:=~|!~|=|!=)\s*"([^"]*)"', expr):
            assert set(values.split("|")) <= routes, f"{where}: {values} is not a route of service.py"
    for where, expr in DASHBOARD_EXPRESSIONS:
        if where.startswith("panel"):
            for selector in re.findall(r"\b(?:bentoml_service|har)_\w+\{[^}]*\}", expr):
                assert 'job=~"$job"' in selector and 'instance=~"$instance"' in selector, f"{where}: {selector}"


def test_every_exported_metric_family_is_on_the_dashboard():
    used = referenced_series(DASHBOARD_EXPRESSIONS)
    for metric in load_catalog().values():
        assert set(metric.series()) & used, f"{metric.name} is exported but not on the dashboard"


# --- Prometheus config and alert rules ---------------------------------------------------------------------------

def test_prometheus_config_scrapes_the_service():
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "har-service"]
    assert job["metrics_path"] == "/metrics" and job.get("scheme", "http") == "http"
    deploy = yaml.safe_load((ROOT / "configs" / "deploy.yaml").read_text())["steps"]["deploy_model"]["parameters"]
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets == [f"{deploy['host']}:{deploy['port']}"], "scrape the address the deploy pipeline serves on"
    assert "prometheus --config.file=prometheus_grafana/prometheus.yml" in PROMETHEUS_FILE.read_text()
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS_FILE.parent / rule_file).is_file(), rule_file
    assert ALERTS_FILE.name in config["rule_files"]


def test_alert_rules_are_complete():
    document = yaml.safe_load(ALERTS_FILE.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    assert {"HARServiceDown", "HARServerErrors", "HARSlowPredictions"} <= set(names)
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert 'job="har-service"' in rule["expr"], f"{rule['alert']} must select the scrape job of prometheus.yml"


def test_metric_list_file_is_the_one_the_configs_point_to():
    assert METRICS_FILE.name in DASHBOARD["description"]
    assert METRICS_FILE.parent == DASHBOARD_FILE.parent.parent == PROMETHEUS_FILE.parent


# --- Prometheus' own parser, where installed ---------------------------------------------------------------------

promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                              reason="promtool not installed (apt-get install prometheus)")


@promtool
def test_promtool_accepts_the_config_and_rules():
    result = subprocess.run(["promtool", "check", "config", str(PROMETHEUS_FILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@promtool
def test_promtool_parses_every_dashboard_query(tmp_path):
    # promtool parses PromQL offline only inside rule files: wrap each query in a recording rule
    rules = [{"record": f"dashboard:query_{number}", "expr": as_promql(expr)}
             for number, (_, expr) in enumerate(DASHBOARD_EXPRESSIONS)]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_shows_how_to_scrape_a_protected_metrics_endpoint():
    """With HAR_METRICS_AUTH=1 /metrics needs an API key: the commented block, uncommented, is valid config."""
    text = PROMETHEUS_FILE.read_text()
    assert "HAR_METRICS_AUTH=1" in text
    enabled = re.sub(r"^(\s*)# (authorization:|  type:|  credentials_file:)", r"\1\2", text, flags=re.M)
    (job,) = [job for job in yaml.safe_load(enabled)["scrape_configs"] if job["job_name"] == "har-service"]
    assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]
    assert "credentials:" not in text.replace("credentials_file:", "")  # never a key in the repository
