"""Small, dependency-free HTML helpers for artifact visualizations.

Everything that ends up in markup goes through `escape`, so values coming from
data files (recording ids, column names, error messages) cannot inject HTML.
The stdlib `html` module is deliberately not imported: this module shares its
name, and a self-contained escape keeps it independent of `sys.path` order.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       font-size: 13px; color: #222; margin: 12px; }
h1 { font-size: 18px; margin: 4px 0 10px 0; }
h2 { font-size: 15px; margin: 18px 0 6px 0; }
table { border-collapse: collapse; margin: 4px 0 12px 0; }
caption { text-align: left; font-weight: 600; padding: 2px 0; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.error td { background: #fde8e8; }
tr.warning td { background: #fff6dc; }
tr.total td { font-weight: 600; background: #f7f7f7; }
.banner { padding: 10px 14px; border-radius: 4px; font-size: 16px; font-weight: 700;
          margin: 6px 0 12px 0; }
.banner.ok { background: #e3f6e5; color: #17632a; border: 1px solid #9fd8a9; }
.banner.fail { background: #fde8e8; color: #8a1c1c; border: 1px solid #f0a8a8; }
.muted { color: #777; }
"""


def escape(value: Any) -> str:
    """HTML-escape `str(value)` (quotes included, so it is safe in attributes)."""
    text = str(value)
    if not any(ch in text for ch in _ESCAPES):
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def format_value(value: Any, float_digits: int = 4) -> str:
    """Plain-text rendering of a cell value (not yet escaped)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return str(number)
        if number != 0 and abs(number) < 1e-3:
            return f"{number:.{max(float_digits, 1)}g}"
        text = f"{number:.{float_digits}f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, (dict, list, tuple, set)):
        if isinstance(value, set):
            value = sorted(value, key=str)
        return json.dumps(value, default=str, separators=(", ", ": "))
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) or type(value).__name__.startswith(("int", "float", "uint"))


def _cell(value: Any, tag: str = "td", float_digits: int = 4) -> str:
    css = ' class="num"' if tag == "td" and _is_number(value) else ""
    return f"<{tag}{css}>{escape(format_value(value, float_digits))}</{tag}>"


def table_from_dict(
    mapping: Mapping[str, Any],
    headers: Sequence[str] = ("key", "value"),
    caption: str | None = None,
    float_digits: int = 4,
) -> str:
    """Two-column table of a mapping's items, in insertion order."""
    rows = "".join(
        f"<tr>{_cell(key, 'th')}{_cell(value, float_digits=float_digits)}</tr>"
        for key, value in mapping.items()
    )
    return _table(headers, rows, caption)


def table_from_records(
    records: Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    caption: str | None = None,
    row_class: Callable[[Mapping[str, Any]], str | None] | None = None,
    empty_text: str = "none",
    float_digits: int = 4,
    footer: Mapping[str, Any] | None = None,
) -> str:
    """Table with one row per record.

    `columns` defaults to the union of the records' keys in first-seen order.
    `row_class(record)` may return a CSS class for the row (e.g. the issue
    severity). `footer` is rendered as a last, emphasised row.
    """
    records = list(records)
    if columns is None:
        seen: Dict[str, None] = {}
        for record in records:
            for key in record:
                seen.setdefault(str(key), None)
        columns = list(seen)
    if not records:
        return f'<p class="muted">{escape(caption + ": " if caption else "")}{escape(empty_text)}</p>'
    body: List[str] = []
    for record in records:
        css = row_class(record) if row_class else None
        attr = f' class="{escape(css)}"' if css else ""
        cells = "".join(_cell(record.get(column), float_digits=float_digits) for column in columns)
        body.append(f"<tr{attr}>{cells}</tr>")
    if footer is not None:
        cells = "".join(_cell(footer.get(column), float_digits=float_digits) for column in columns)
        body.append(f'<tr class="total">{cells}</tr>')
    return _table(columns, "".join(body), caption)


def _table(headers: Sequence[str], rows: str, caption: str | None) -> str:
    head = "".join(_cell(header, "th") for header in headers)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def heading(text: str, level: int = 2) -> str:
    return f"<h{level}>{escape(text)}</h{level}>"


def paragraph(text: str, muted: bool = False) -> str:
    css = ' class="muted"' if muted else ""
    return f"<p{css}>{escape(text)}</p>"


def banner(text: str, ok: bool) -> str:
    """A coloured status line, green when `ok` else red."""
    return f'<div class="banner {"ok" if ok else "fail"}">{escape(text)}</div>'


def page(title: str, *sections: str) -> str:
    """A complete, self-contained HTML document (inline CSS, no scripts)."""
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{heading(title, 1)}\n{body}\n</body></html>\n"
    )
