"""Prometheus and Grafana configuration for the HAR service, and the list of metrics it exports.

`prometheus.yml` scrapes the service, `alerts.yml` holds the alert rules,
`grafana/har_service_dashboard.json` is the dashboard, and `metrics.txt`
lists what the service's GET /metrics serves; `references.py` reads them for the tests.
"""
