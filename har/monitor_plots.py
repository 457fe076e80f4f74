"""PNG figures of the label-free monitors for the drift verdict's dashboard visualization.

Same conventions as `har.plots`: matplotlib imported lazily, an explicit Agg
canvas (no pyplot state), small figures.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, Sequence

import numpy as np

from har.monitors import MonitorResult
from har.plots import _FONT, DEFAULT_DPI, _new_figure, _png

CURRENT, REFERENCE, TRAINING, ALERT = "#1f77b4", "#9e9e9e", "#2ca02c", "#d62728"


def _style(ax: Any) -> None:
    ax.tick_params(labelsize=_FONT, length=2, pad=1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def monitors_png(results: Sequence[MonitorResult], dpi: int = DEFAULT_DPI) -> bytes:
    """Each monitor: current value (red when it alerts), the reference value, and the threshold (black tick)."""
    figure = _new_figure((6.0, 0.55 * max(len(results), 1) + 0.9), dpi)
    ax = figure.add_subplot(1, 1, 1)
    y = np.arange(len(results))[::-1]
    ax.barh(y + 0.18, [r.value for r in results], height=0.34, label="current",
            color=[ALERT if r.alert else CURRENT for r in results])
    ax.barh(y - 0.18, [r.reference_value for r in results], height=0.34, color=REFERENCE, label="reference")
    for row, result in zip(y, results, strict=True):
        ax.plot([result.threshold] * 2, [row - 0.42, row + 0.42], color="black", linewidth=1.6)
        ax.text(min(max(result.value, result.threshold) + 0.01, 0.9), row + 0.18, f"{result.value:.3f}",
                va="center", fontsize=_FONT)
    ax.plot([], [], color="black", linewidth=1.6, label="threshold")
    ax.set_yticks(y, [r.name for r in results])
    ax.set_xlim(0, 1)
    ax.legend(fontsize=_FONT, loc="lower right", frameon=False)
    _style(ax)
    figure.subplots_adjust(left=0.28, right=0.97, top=0.95, bottom=0.18)
    return _png(figure, dpi)


def activity_mix_png(evidence: Dict[str, Any], dpi: int = DEFAULT_DPI) -> bytes:
    """Predicted activity mix: current vs. reference (validation subjects) vs. the training mix."""
    names = list(evidence["current_mix"])
    figure = _new_figure((max(4.0, 0.8 * len(names) + 1.5), 2.4), dpi)
    ax = figure.add_subplot(1, 1, 1)
    x = np.arange(len(names))
    for offset, key, label, color in ((-0.27, "current_mix", "current (predicted)", CURRENT),
                                      (0.0, "reference_mix", "reference (predicted)", REFERENCE),
                                      (0.27, "training_mix", "training (labels)", TRAINING)):
        ax.bar(x + offset, [evidence[key].get(n, 0.0) for n in names], width=0.26, label=label, color=color)
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylabel("share of windows", fontsize=_FONT)
    ax.legend(fontsize=_FONT, frameon=False)
    _style(ax)
    figure.subplots_adjust(left=0.12, right=0.98, top=0.95, bottom=0.3)
    return _png(figure, dpi)


def confidence_histogram_png(evidence: Dict[str, Any], threshold: float | None, dpi: int = DEFAULT_DPI) -> bytes:
    """Share of windows per top-class probability, current vs. reference; the low-confidence threshold dashed."""
    edges = np.asarray(evidence["confidence_bins"])
    figure = _new_figure((5.0, 2.2), dpi)
    ax = figure.add_subplot(1, 1, 1)
    for key, label, color in (("current_confidence_counts", "current", CURRENT),
                              ("reference_confidence_counts", "reference", REFERENCE)):
        counts = np.asarray(evidence[key], dtype=float)
        ax.stairs(counts / max(counts.sum(), 1.0), edges, label=label, color=color, linewidth=1.4)
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"low confidence < {threshold:g}")
    ax.set_xlabel("top class probability", fontsize=_FONT)
    ax.set_ylabel("share of windows", fontsize=_FONT)
    ax.legend(fontsize=_FONT, frameon=False, loc="upper left")
    _style(ax)
    figure.subplots_adjust(left=0.13, right=0.98, top=0.95, bottom=0.22)
    return _png(figure, dpi)


def img_tag(png: bytes, alt: str) -> str:
    """An inline <img> (base64 data URI): the dashboard shows one HTML file, without separate image files."""
    from har.html_tables import escape

    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
