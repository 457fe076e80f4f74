"""Prometheus and Grafana configuration for the HAR service, and the list of metrics it exports.

`prometheus.yml` scrapes the service, `alerts.yml` holds the alert rules,
`grafana/har_service_dashboard.json` is the dashboard, and `metrics.txt`
lists what the service's GET /metrics serves (`references` reads it).
"""

from monitoring.references import (
    ALERTS_FILE,
    DASHBOARD_FILE,
    METRICS_FILE,
    PROMETHEUS_FILE,
    SCRAPE_SERIES,
    Metric,
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

__all__ = [
    "ALERTS_FILE", "DASHBOARD_FILE", "METRICS_FILE", "PROMETHEUS_FILE", "SCRAPE_SERIES", "Metric",
    "alert_expressions", "as_promql", "dashboard_expressions", "exported_series", "iter_panels", "load_catalog",
    "load_dashboard", "problems", "referenced_series", "references", "unbalanced",
]
