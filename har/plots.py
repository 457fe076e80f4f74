"""Cheap matplotlib figures for artifact visualizations, returned as PNG bytes.

matplotlib is imported lazily inside the functions, and figures are drawn on
an explicit Agg canvas (`matplotlib.figure.Figure` + `FigureCanvasAgg`), so
nothing here touches pyplot's global state, the process-wide backend, or a
display. Figures are small (dpi 80 by default) because the materializers draw
them for every artifact they save.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any, Dict, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_DPI = 80
_FONT = 7


def _new_figure(figsize: Tuple[float, float], dpi: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure, dpi: int, tight: bool = False) -> bytes:
    buffer = io.BytesIO()
    if tight:  # costs a second draw; only used where label sizes are unpredictable
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.06)
    else:
        figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def example_windows_png(
    X: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str],
    channel_names: Sequence[str],
    sample_rate_hz: float | None = None,
    dpi: int = DEFAULT_DPI,
) -> bytes:
    """One small panel per class showing its first window (all channels).

    Unlabelled windows (`y == -1`) get an extra "unlabelled" panel; a class
    without windows gets an empty panel saying so.
    """
    panels = [(name, np.flatnonzero(y == index)) for index, name in enumerate(class_names)]
    unlabelled = np.flatnonzero(y < 0)
    if unlabelled.size:
        panels.append(("unlabelled", unlabelled))
    if not panels:
        panels = [("windows", np.arange(len(y)))]

    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    figure = _new_figure((2.6 * ncols, 1.55 * nrows + 0.55), dpi)
    window_size = X.shape[1] if X.ndim == 3 else 0
    if sample_rate_hz:
        t = np.arange(window_size) / float(sample_rate_hz)
        x_label = "s"
    else:
        t = np.arange(window_size)
        x_label = "sample"

    lines = []
    for panel, (name, indices) in enumerate(panels):
        ax = figure.add_subplot(nrows, ncols, panel + 1)
        ax.tick_params(labelsize=_FONT - 1, length=2, pad=1)
        if indices.size:
            window = np.asarray(X[indices[0]], dtype=np.float32)
            lines = ax.plot(t, window, linewidth=0.8)
            ax.set_title(f"{name} (n={indices.size})", fontsize=_FONT, pad=2)
        else:
            ax.text(0.5, 0.5, "no windows", ha="center", va="center", fontsize=_FONT, transform=ax.transAxes)
            ax.set_title(f"{name} (n=0)", fontsize=_FONT, pad=2)
            ax.set_xticks([])
            ax.set_yticks([])
        if panel // ncols == nrows - 1:
            ax.set_xlabel(x_label, fontsize=_FONT - 1, labelpad=1)
    if lines:
        figure.legend(
            lines,
            list(channel_names),
            loc="upper center",
            ncol=min(len(channel_names), 6),
            fontsize=_FONT - 1,
            frameon=False,
            handlelength=1.2,
            columnspacing=0.8,
        )
    top = 1.0 - 0.45 / figure.get_figheight()
    figure.subplots_adjust(
        left=0.07, right=0.98, bottom=0.32 / nrows + 0.04, top=top, hspace=0.55, wspace=0.25
    )
    return _png(figure, dpi)


def class_balance_png(counts: Dict[str, int], unlabelled: int = 0, dpi: int = DEFAULT_DPI) -> bytes:
    """Horizontal bar chart of windows per class (plus unlabelled, if any)."""
    names = list(counts)
    values = [int(counts[name]) for name in names]
    if unlabelled:
        names.append("unlabelled")
        values.append(int(unlabelled))
    total = max(sum(values), 1)
    figure = _new_figure((4.6, 0.26 * max(len(names), 1) + 0.75), dpi)
    ax = figure.add_subplot(1, 1, 1)
    positions = np.arange(len(names))
    colors = ["#4c72b0"] * len(counts) + (["#999999"] if unlabelled else [])
    ax.barh(positions, values, color=colors, height=0.7)
    ax.set_yticks(positions, labels=names, fontsize=_FONT)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=_FONT - 1)
    peak = max(values) if values else 0
    for position, value in zip(positions, values, strict=True):
        ax.text(
            value + peak * 0.01,
            position,
            f"{value} ({100.0 * value / total:.1f}%)",
            va="center",
            fontsize=_FONT - 1,
        )
    ax.set_xlim(0, peak * 1.3 if peak else 1)
    ax.set_title(f"class balance ({sum(values)} windows)", fontsize=_FONT + 1, pad=3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    longest = max((len(name) for name in names), default=4)
    figure.subplots_adjust(left=min(0.5, 0.05 + 0.014 * longest), right=0.97, top=0.86, bottom=0.12)
    return _png(figure, dpi)


def confusion_matrix_png(
    matrix: Any,
    class_names: Sequence[str],
    title: str = "",
    dpi: int = DEFAULT_DPI,
) -> bytes:
    """Confusion matrix: cells coloured by row-normalised rate, labelled with counts.

    Rows are true classes, columns predicted classes. Rows without support are
    left white.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    n = len(class_names)
    if counts.shape != (n, n):
        raise ValueError(f"confusion matrix must be {n}x{n} for {n} classes, got shape {counts.shape}")
    support = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, support, out=np.zeros(counts.shape, dtype=np.float64), where=support > 0)

    side = min(max(2.0, 0.5 * n + 1.0), 12.0)
    figure = _new_figure((side + 0.8, side), dpi)
    ax = figure.add_subplot(1, 1, 1)
    image = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    font = max(5, _FONT - max(0, n - 8) // 3)
    for row in range(n):
        for col in range(n):
            ax.text(
                col,
                row,
                str(int(counts[row, col])),
                ha="center",
                va="center",
                fontsize=font,
                color="white" if rates[row, col] > 0.55 else "black",
            )
    ax.set_xticks(np.arange(n), labels=list(class_names), rotation=45, ha="right", fontsize=font)
    ax.set_yticks(np.arange(n), labels=list(class_names), fontsize=font)
    ax.set_xlabel("predicted", fontsize=_FONT)
    ax.set_ylabel("true", fontsize=_FONT)
    if title:
        ax.set_title(title, fontsize=_FONT + 1, pad=4)
    colorbar = figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    colorbar.ax.tick_params(labelsize=_FONT - 1)
    colorbar.set_label("row-normalised rate", fontsize=_FONT - 1)
    return _png(figure, dpi, tight=True)
