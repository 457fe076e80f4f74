"""Which metrics the HAR service exports, and which of them the dashboard and the alert rules use.

`metrics.txt` is the one list of what GET /metrics serves. The unit tests check
every PromQL expression of the Grafana dashboard and of the alert rules against
it, and the deployment test checks the list against a real server.

PromQL is not parsed in full here (there is no Python parser for it): brackets
must balance, and metric and label names are read from what is left once
strings, label matchers, range selectors and grouping clauses are taken apart.
`promtool`, where installed, parses the same expressions for real.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Mapping, Set, Tuple

import yaml

HERE = Path(__file__).resolve().parent
METRICS_FILE = HERE / "metrics.txt"
PROMETHEUS_FILE = HERE / "prometheus.yml"
ALERTS_FILE = HERE / "alerts.yml"
DASHBOARD_FILE = HERE / "grafana" / "har_service_dashboard.json"

TYPES = ("counter", "gauge", "histogram")
TARGET_LABELS = frozenset({"job", "instance"})  # Prometheus adds them to every scraped series
# Series Prometheus makes itself for each scrape target; the service does not serve them.
SCRAPE_SERIES: Dict[str, FrozenSet[str]] = {"up": TARGET_LABELS}

_AGGREGATIONS = {"sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
                 "count_values", "limitk", "limit_ratio"}
_KEYWORDS = _AGGREGATIONS | {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                             "bool", "offset", "atan2", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{([^{}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Metric:
    """One metric family of `metrics.txt`."""

    name: str  # as written in PromQL: counters end in _total, histograms have no _bucket/_count/_sum
    type: str
    labels: FrozenSet[str]

    def series(self) -> Dict[str, FrozenSet[str]]:
        """Series names a query can select, with their labels (a histogram has three)."""
        if self.type == "histogram":
            return {f"{self.name}_bucket": self.labels | {"le"}, f"{self.name}_count": self.labels,
                    f"{self.name}_sum": self.labels}
        return {self.name: self.labels}


def load_catalog(path: Path = METRICS_FILE) -> Dict[str, Metric]:
    """`metrics.txt`: one `name type label,label,...` line per family; `#` starts a comment."""
    catalog: Dict[str, Metric] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3 or fields[1] not in TYPES:
            raise ValueError(f"{path}:{number}: expected 'name {'|'.join(TYPES)} labels', got {line!r}")
        name, kind, labels = fields
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"{path}:{number}: counter {name} must be written with its _total suffix")
        if name in catalog:
            raise ValueError(f"{path}:{number}: {name} listed twice")
        catalog[name] = Metric(name, kind, frozenset() if labels == "-" else frozenset(labels.split(",")))
    return catalog


def exported_series(catalog: Mapping[str, Metric]) -> Dict[str, FrozenSet[str]]:
    """Every series name the service serves, with its labels (before Prometheus adds job and instance)."""
    return {name: labels for metric in catalog.values() for name, labels in metric.series().items()}


def unbalanced(expr: str) -> str | None:
    """Why the brackets of `expr` do not balance (strings aside), or None when they do."""
    stack: List[str] = []
    for char in _STRING.sub('""', expr):
        if char in "([{":
            stack.append(char)
        elif char in _PAIRS:
            if not stack or stack.pop() != _PAIRS[char]:
                return f"unexpected {char!r}"
    return f"unclosed {stack[-1]!r}" if stack else None


def references(expr: str) -> Tuple[Set[str], Set[str]]:
    """(metric names, label names) an expression uses."""
    text = _STRING.sub('""', expr)
    labels = {label for block in _MATCHERS.findall(text) for label in _MATCHER_LABEL.findall(block)}
    text = _RANGE.sub(" ", _MATCHERS.sub(" ", text))
    for group in _GROUPING.findall(text):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    text = _GROUPING.sub(" ", text)
    metrics = {name for name, call in _IDENTIFIER.findall(text) if not call and name not in _KEYWORDS}
    return metrics, labels


def problems(expr: str, series: Mapping[str, FrozenSet[str]]) -> List[str]:
    """What is wrong with `expr` given the series that exist: brackets, unknown metrics, unknown labels."""
    reason = unbalanced(expr)
    if reason:
        return [f"unbalanced brackets ({reason})"]
    metrics, labels = references(expr)
    if not metrics:
        return ["selects no metric"]
    found = [f"unknown metric {name}" for name in sorted(metrics - set(series))]
    known = set(TARGET_LABELS) | {"__name__"}
    for name in metrics & set(series):
        known |= series[name]
    found += [f"label {label} is on none of {', '.join(sorted(metrics))}" for label in sorted(labels - known)]
    return found


def load_dashboard(path: Path = DASHBOARD_FILE) -> Dict[str, Any]:
    return json.loads(Path(path).read_text())


def iter_panels(panels: List[Dict[str, Any]]) -> Iterator[Dict[str, Any]]:
    """All panels, including those inside collapsed rows."""
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def dashboard_expressions(dashboard: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """(where, PromQL) for every panel target and every `label_values(...)` variable query."""
    found = [(f"panel {panel.get('title')!r} target {target.get('refId')}", target["expr"])
             for panel in iter_panels(dashboard.get("panels", [])) for target in panel.get("targets", [])
             if "expr" in target]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else query or ""
        match = _LABEL_VALUES.match(query)
        if not match:
            raise ValueError(f"variable {variable.get('name')}: only label_values(series, label) is checked, "
                             f"got {query!r}")
        # the label must be one of the series' labels: check it as a grouping label
        found.append((f"variable {variable['name']}", f"count by ({match[2]}) ({match[1]})"))
    return found


def alert_expressions(path: Path = ALERTS_FILE) -> List[Tuple[str, str]]:
    """(rule name, PromQL) for every alerting and recording rule."""
    document = yaml.safe_load(Path(path).read_text())
    return [(rule.get("alert") or rule.get("record"), str(rule["expr"]))
            for group in document["groups"] for rule in group["rules"]]


def referenced_series(expressions: List[Tuple[str, str]]) -> Set[str]:
    """Metric names used by a list of (where, expr)."""
    return {name for _, expr in expressions for name in references(expr)[0]}


def as_promql(expr: str) -> str:
    """A Grafana query with its variables filled in, as Prometheus would receive it."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", lambda m: "1h" if m[1] == "range" else "1m", expr)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)
